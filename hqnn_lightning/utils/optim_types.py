"""The training recipe's types that both the models and the runner's options name, spelled
with torch alone so that the command line reads them without importing Lightning."""

from __future__ import annotations

from collections.abc import Callable

from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler, ReduceLROnPlateau

SchedulerFactory = Callable[[Optimizer], LRScheduler | ReduceLROnPlateau]
"""Optimizer -> learning-rate scheduler (``lightning.pytorch.cli.LRSchedulerCallable``)."""

GROUP_OPTIONS = ("lr", "weight_decay")
"""What each parameter group sets from the model (`models.recipe.parameter_groups`), so an
optimizer's own value of them would be overridden; it is refused instead."""
