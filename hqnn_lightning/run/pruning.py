"""Pruning a search's trials (``experiments/tune.py --pruner median`` or ``hyperband``): each
epoch's validation top-1 of a trial's run is reported to its Optuna trial, and a run the
pruner gives up on stops at the end of that epoch; its trial is recorded PRUNED, with the best
validation top-1 of the epochs it ran, and is never chosen.

Pruning spends less on the trials that start badly, so the models compared no longer get the
same number of epochs: a model that learns slowly at first loses more of its trials than one
that learns fast, which is the price of a cheaper search (the default, ``none``, keeps every
budget equal).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import lightning as L
import optuna
from lightning.pytorch.trainer.states import TrainerFn

from hqnn_lightning.run.training import MONITOR

PRUNING_CALLBACK = "hqnn_lightning.run.pruning.PruneTrial"
"""The class path of `PruneTrial`, added to a pruned search's trials (``--callbacks+``)."""


@dataclass
class EpochReports:
    """Where a trial's run reports its epochs.

    Args:
        trial: The Optuna trial.
        pruned_at: The epoch after which the pruner stopped the run (``None``: it did not).
    """

    trial: optuna.Trial
    pruned_at: int | None = None


_reporting: list[EpochReports] = []
"""The trial whose run this process trains, while `reporting_to` holds it."""


@contextmanager
def reporting_to(trial: optuna.Trial) -> Iterator[EpochReports]:
    """Makes the `PruneTrial` callbacks of the runs trained in the block report to ``trial``."""
    reports = EpochReports(trial)
    _reporting.append(reports)
    try:
        yield reports
    finally:
        _reporting.remove(reports)


class PruneTrial(L.Callback):
    """Reports each training epoch's `MONITOR` to the trial `reporting_to` holds, and stops
    training when its pruner prunes it. Outside a search (a trial's ``config.yaml`` run again
    by hand) it does nothing."""

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        value = trainer.callback_metrics.get(MONITOR)
        fitting = trainer.state.fn == TrainerFn.FITTING and not trainer.sanity_checking
        if not (_reporting and fitting and value is not None):
            return
        reports = _reporting[-1]
        reports.trial.report(float(value), step=trainer.current_epoch)
        if reports.trial.should_prune():
            reports.pruned_at = trainer.current_epoch
            trainer.should_stop = True
