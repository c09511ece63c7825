"""`EpochCheckpoint`'s cadence: ``last.ckpt`` at most every ``every_seconds``, always after
the epoch that ends the fit, and a fit resumed from a checkpoint written between skipped
epochs ends where the uninterrupted one does."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from types import SimpleNamespace

import lightning as L
import pytest
import torch
from lightning.pytorch.utilities.exceptions import SIGTERMException
from torch.utils.data import DataLoader, TensorDataset

from hqnn_lightning.run import last_checkpoint
from hqnn_lightning.run.checkpoint_io import AtomicCheckpointIO
from hqnn_lightning.run.last_checkpoint import EpochCheckpoint

SECONDS_PER_EPOCH = 4.0
INTERVAL = 10.0  # with 4 s epochs: written after epochs 2 (12 s) and 5 (24 s)
EPOCHS = 5


class Regression(L.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(4, 1)

    def loss(self, batch: list[torch.Tensor]) -> torch.Tensor:
        inputs, targets = batch
        return torch.nn.functional.mse_loss(self.layer(inputs), targets)

    def training_step(self, batch: list[torch.Tensor], batch_idx: int) -> torch.Tensor:
        return self.loss(batch)

    def validation_step(self, batch: list[torch.Tensor], batch_idx: int) -> None:
        self.log("val/loss", self.loss(batch))

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=0.1)


class Clock(L.Callback):
    """A wall clock that advances `SECONDS_PER_EPOCH` at each epoch's start, and records the
    epochs after which a checkpoint is saved; optionally stops the fit after ``stop_after``
    (``should_stop``, as early stopping does), sends this process SIGTERM at the end of
    ``sigterm_at`` (as a scheduler does during an epoch's validation) or fails at the start of
    ``fail_at``, as a process killed there would leave its files."""

    def __init__(
        self,
        stop_after: int | None = None,
        sigterm_at: int | None = None,
        fail_at: int | None = None,
    ) -> None:
        self.now = 0.0
        self.saved_after: list[int] = []
        self.stop_after = stop_after
        self.sigterm_at = sigterm_at
        self.fail_at = fail_at

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.current_epoch == self.fail_at:
            raise RuntimeError("killed")
        self.now += SECONDS_PER_EPOCH

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.current_epoch == self.stop_after:
            trainer.should_stop = True
        if trainer.current_epoch == self.sigterm_at:
            os.kill(os.getpid(), signal.SIGTERM)  # Lightning's handler records it

    def on_save_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint):
        self.saved_after.append(trainer.current_epoch)


def fit(
    directory: Path,
    clock: Clock,
    every_seconds: float,
    monkeypatch: pytest.MonkeyPatch,
    checkpoint: Path | None = None,
) -> Regression:
    """Fits `Regression` for `EPOCHS` epochs with ``last.ckpt`` in ``directory`` written by
    `EpochCheckpoint` on ``clock``'s time (from ``checkpoint``); returns the model."""
    monkeypatch.setattr(last_checkpoint, "time", SimpleNamespace(monotonic=lambda: clock.now))
    L.seed_everything(7)
    model = Regression()
    data = DataLoader(TensorDataset(torch.randn(24, 4), torch.randn(24, 1)), batch_size=8)
    trainer = L.Trainer(
        max_epochs=EPOCHS,
        callbacks=[clock, EpochCheckpoint(directory, every_seconds)],
        plugins=[AtomicCheckpointIO()],
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(model, data, data, ckpt_path=checkpoint, weights_only=True)
    return model


@pytest.mark.parametrize(
    ("every_seconds", "stop_after", "saved_after"),
    [
        (0.0, None, [0, 1, 2, 3, 4]),
        (INTERVAL, None, [2, 4]),  # epoch 4 at 20 s, 8 s after the last write: the fit's end
        (INTERVAL, 1, [1]),  # stopped early, after 8 s
        (100.0, None, [4]),
    ],
)
def test_last_ckpt_is_written_once_the_interval_passed_and_after_the_last_epoch(
    every_seconds, stop_after, saved_after, tmp_path, monkeypatch
):
    clock = Clock(stop_after=stop_after)
    fit(tmp_path, clock, every_seconds, monkeypatch)
    assert clock.saved_after == saved_after
    last = torch.load(tmp_path / "last.ckpt", weights_only=True)
    assert last["epoch"] == saved_after[-1]
    assert last["global_step"] == 3 * (saved_after[-1] + 1)  # 3 batches an epoch


def test_a_sigterm_at_an_epoch_end_writes_that_epoch_whatever_the_interval(tmp_path, monkeypatch):
    clock = Clock(sigterm_at=1)
    with pytest.raises(SIGTERMException):
        fit(tmp_path, clock, 100.0, monkeypatch)
    assert clock.saved_after == [1]
    assert torch.load(tmp_path / "last.ckpt", weights_only=True)["epoch"] == 1


def test_a_fit_killed_after_skipped_epochs_resumes_to_the_uninterrupted_weights(
    tmp_path, monkeypatch
):
    whole = fit(tmp_path / "whole", Clock(), INTERVAL, monkeypatch)
    with pytest.raises(RuntimeError, match="killed"):
        fit(tmp_path / "killed", Clock(fail_at=4), INTERVAL, monkeypatch)
    last = tmp_path / "killed" / "last.ckpt"
    assert torch.load(last, weights_only=True)["epoch"] == 2  # epoch 3's end was skipped
    resumed = fit(tmp_path / "killed", Clock(), INTERVAL, monkeypatch, checkpoint=last)
    for name, value in whole.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[name]), name


def test_a_negative_interval_is_refused(tmp_path):
    with pytest.raises(ValueError, match="every_seconds must be at least 0"):
        EpochCheckpoint(tmp_path, -1.0)
