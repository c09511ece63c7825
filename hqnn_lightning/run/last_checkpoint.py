"""The callbacks that write a run's ``last.ckpt``, from which ``--resume`` continues it: at
epoch ends (`EpochCheckpoint`, at most every ``--checkpoint-interval`` seconds and always at
the fit's last epoch), every N training steps (`StepCheckpoint`) and at the batch a SIGTERM
stopped (`SigtermCheckpoint`)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.utilities.exceptions import SIGTERMException


class StepCheckpoint(ModelCheckpoint):
    """Updates ``last.ckpt`` in ``dirpath`` every ``every_n_train_steps`` training steps, so
    that a run killed in the middle of an epoch loses at most that many steps.

    It skips an epoch's last batch: the end-of-epoch checkpoint follows right after the
    validation, and Lightning (2.6) resumes a checkpoint of an epoch's last batch at the next
    epoch, skipping that epoch's validation and end.
    """

    def __init__(self, dirpath: str | Path, every_n_train_steps: int) -> None:
        super().__init__(
            dirpath=dirpath,
            every_n_train_steps=every_n_train_steps,
            save_top_k=0,
            save_last=True,
            enable_version_counter=False,
        )

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        if not trainer.fit_loop.epoch_loop.batch_progress.is_last_batch:
            super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)


class EpochCheckpoint(ModelCheckpoint):
    """Writes ``last.ckpt`` in ``dirpath`` after an epoch's validation, whatever the metric:
    after every epoch with ``every_seconds=0``; otherwise after the first epoch that ends
    ``every_seconds`` or more after the fit started or after it last wrote ``last.ckpt``,
    and always after the epoch that ends the fit (`ends_fit`). A run killed without a signal
    (``kill -9``) then loses at most ``every_seconds`` plus an epoch, and a finished run's
    ``last.ckpt`` is its last epoch's, written at the same point as with ``every_seconds=0``.

    ``ModelCheckpoint(monitor=..., save_last=True)`` no longer does that: since Lightning 2.6
    it rewrites ``last.ckpt`` only at a step where it saved a top-k checkpoint, so a run whose
    best epoch came early would resume from that epoch. This is a second callback beside the
    best-model one, with no monitor and one file, named ``last``.

    Args:
        dirpath: The run's checkpoint directory.
        every_seconds: The least wall-clock seconds between two epoch-end writes; 0 writes
            after every epoch.

    Raises:
        ValueError: ``every_seconds`` is negative.
    """

    def __init__(self, dirpath: str | Path, every_seconds: float = 0.0) -> None:
        if every_seconds < 0:
            raise ValueError(
                f"every_seconds must be at least 0 (0: every epoch), got {every_seconds}"
            )
        super().__init__(
            dirpath=dirpath,
            filename=self.CHECKPOINT_NAME_LAST,
            monitor=None,
            save_top_k=1,
            enable_version_counter=False,
        )
        self.every_seconds = every_seconds
        self._written_at = time.monotonic()

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_train_start(trainer, pl_module)
        self._written_at = time.monotonic()

    def _save_topk_checkpoint(
        self, trainer: L.Trainer, monitor_candidates: dict[str, torch.Tensor]
    ) -> None:
        # Every save of this callback comes through here (Lightning 2.6), at an epoch's end.
        due = time.monotonic() - self._written_at >= self.every_seconds or ends_fit(trainer)
        if trainer.strategy.broadcast(due):  # every process saves, or none (a collective)
            super()._save_topk_checkpoint(trainer, monitor_candidates)
            self._written_at = time.monotonic()


def ends_fit(trainer: L.Trainer) -> bool:
    """Whether the fit stops after the epoch that is ending: its last epoch
    (``max_epochs``), ``max_steps`` reached, ``trainer.should_stop`` set (early stopping, a
    pruned trial, ``max_time``) or a SIGTERM received, which stops it after this epoch."""
    max_epochs, max_steps = trainer.max_epochs, trainer.max_steps
    return (
        (max_epochs is not None and max_epochs >= 0 and trainer.current_epoch + 1 >= max_epochs)
        or (max_steps >= 0 and trainer.global_step >= max_steps)
        or trainer.should_stop
        or trainer.received_sigterm
    )


class SigtermCheckpoint(L.Callback):
    """Writes ``last.ckpt`` in ``dirpath`` when SIGTERM (a scheduler's preemption or time
    limit) stops the fit in the middle of an epoch, so that the run resumes from the batch it
    stopped at rather than from its last epoch or step checkpoint.

    Lightning stops a fit on SIGTERM after the current batch, at the point where
    `StepCheckpoint` writes its checkpoints; at an epoch's last batch, or in a validation, it
    stops after the epoch's end, whose checkpoint `EpochCheckpoint` writes whatever its
    interval, having seen the signal (`ends_fit`).
    """

    def __init__(self, dirpath: str | Path) -> None:
        self.path = Path(dirpath) / f"{ModelCheckpoint.CHECKPOINT_NAME_LAST}.ckpt"

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        batches = trainer.fit_loop.epoch_loop.batch_progress
        if (
            isinstance(exception, SIGTERMException)
            and trainer.training
            and not trainer.sanity_checking
            and not batches.is_last_batch
        ):
            trainer.save_checkpoint(self.path)
