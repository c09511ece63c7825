"""Lightning callbacks of the library."""

from __future__ import annotations

import time

import lightning as L
import torch


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


class NonFiniteLossError(RuntimeError):
    """The training loss became NaN or infinite; the message names the epoch and step."""


class StopOnNonFiniteLoss(L.Callback):
    """Stops training at the first training batch whose loss is NaN or infinite.

    Raises :class:`NonFiniteLossError` before that loss is backpropagated, so no optimizer step
    spreads the fault: the weights in memory, and the checkpoints saved until then
    (``last.ckpt`` at the end of the previous epoch, the best one), are the last good ones.
    """

    def on_before_backward(
        self, trainer: L.Trainer, pl_module: L.LightningModule, loss: torch.Tensor
    ) -> None:
        if not torch.isfinite(loss).all():
            raise NonFiniteLossError(
                f"the training loss is {loss.item()} at epoch {trainer.current_epoch}, global "
                f"step {trainer.global_step}; training stopped. Lower --lr or set "
                "--gradient-clip-val; the checkpoints saved before this step hold the last "
                "good weights."
            )
