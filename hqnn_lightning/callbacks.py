"""Lightning callbacks of the library."""

from __future__ import annotations

import time

import lightning as L


class EpochTimer(L.Callback):
    """Logs the wall-clock seconds of each training epoch as ``time/epoch_seconds``.

    The time runs from the start of the epoch's first training batch to the end of the epoch,
    so it includes the validation that Lightning runs at the epoch's end.
    """

    def __init__(self) -> None:
        self.epoch_seconds: list[float] = []
        self._start: float | None = None

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._start = time.perf_counter()

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        seconds = time.perf_counter() - self._start
        self.epoch_seconds.append(seconds)
        pl_module.log("time/epoch_seconds", seconds, on_step=False, on_epoch=True)

    def state_dict(self) -> dict[str, list[float]]:
        return {"epoch_seconds": list(self.epoch_seconds)}

    def load_state_dict(self, state_dict: dict[str, list[float]]) -> None:
        self.epoch_seconds = list(state_dict["epoch_seconds"])
