"""The training recipe: the optimizer and learning-rate scheduler a model trains with.

By default every `ImageClassifier` trains with AdamW and a cosine decay of the learning rate
over ``max_epochs``. A `TrainingRecipe` among the Trainer's callbacks chooses others, from a
script or from ``experiments/run.py``'s ``--optimizer`` and ``--lr-scheduler``:

```python
recipe = TrainingRecipe(
    optimizer=partial(torch.optim.SGD, momentum=0.9),
    lr_scheduler=partial(torch.optim.lr_scheduler.StepLR, step_size=5),
)
L.Trainer(max_epochs=10, callbacks=[recipe]).fit(model, datamodule)
```

The recipe lives with the Trainer, not the model, so checkpoints hold only tensors and plain
values (they are loaded with ``weights_only=True``) and a model loaded from one trains with
whatever recipe its next Trainer has. The learning rates and the weight decay stay the
model's: every parameter group carries the model's ``lr`` (``q_lr`` for the circuits'
weights, `parameter_groups`) and ``weight_decay``, whatever the optimizer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import partial
from typing import TYPE_CHECKING, Any

import lightning as L
import torch
from lightning.pytorch.utilities.types import OptimizerLRScheduler
from torch.optim import Optimizer
from torch.optim.lr_scheduler import ReduceLROnPlateau

from hqnn_lightning.quantum.module import quantum_parameters
from hqnn_lightning.utils.optim_types import GROUP_OPTIONS, SchedulerFactory

if TYPE_CHECKING:
    from hqnn_lightning.models.base import ImageClassifier

OptimizerFactory = Callable[[Iterable[dict[str, Any]]], Optimizer]
"""Parameter groups -> optimizer: a class, or a ``functools.partial`` of one with its
arguments but the learning rate and weight decay (``lightning.pytorch.cli.OptimizerCallable``
is the same type)."""

PLATEAU_MONITOR = "val/loss"
"""The metric a ``ReduceLROnPlateau`` follows unless it names its own (``monitor``, as
``lightning.pytorch.cli.ReduceLROnPlateau`` does)."""


class TrainingRecipe(L.Callback):
    """The optimizer and learning-rate scheduler of a fit, given to the Trainer as a callback;
    `ImageClassifier.configure_optimizers` finds it there.

    Args:
        optimizer: Builds the optimizer from the model's parameter groups
            (`parameter_groups`); ``None``: AdamW.
        lr_scheduler: Builds the scheduler from the optimizer, stepped once per epoch;
            ``None``: a cosine decay over the Trainer's ``max_epochs`` (none without a Trainer
            or a ``max_epochs``). A ``ReduceLROnPlateau`` follows `PLATEAU_MONITOR`.
    """

    def __init__(
        self,
        optimizer: OptimizerFactory | None = None,
        lr_scheduler: SchedulerFactory | None = None,
    ) -> None:
        if isinstance(optimizer, partial) and set(GROUP_OPTIONS) & optimizer.keywords.keys():
            given = sorted(set(GROUP_OPTIONS) & optimizer.keywords.keys())
            raise ValueError(
                f"the optimizer is given {', '.join(given)}, which every parameter group sets "
                "from the model; give the model's lr, q_lr and weight_decay instead"
            )
        self.optimizer = optimizer
        self.lr_scheduler = lr_scheduler

    def configure_optimizers(
        self, model: ImageClassifier, max_epochs: int | None
    ) -> OptimizerLRScheduler:
        """What ``model.configure_optimizers`` returns under this recipe, for a fit of
        ``max_epochs`` epochs (``None``: unknown, so no default scheduler).

        Raises:
            ValueError: the model has a weight decay that the chosen optimizer does not take.
        """
        groups = parameter_groups(model)
        if self.optimizer is None:
            hparams = model.hparams
            optimizer = torch.optim.AdamW(groups, lr=hparams.lr, weight_decay=hparams.weight_decay)
        else:
            optimizer = self.optimizer(groups)
        if model.hparams.weight_decay and "weight_decay" not in optimizer.defaults:
            raise ValueError(
                f"{type(optimizer).__name__} has no weight decay, and the model has "
                f"weight_decay={model.hparams.weight_decay}; give weight_decay=0"
            )
        if self.lr_scheduler is not None:
            scheduler = self.lr_scheduler(optimizer)
        elif not max_epochs or max_epochs < 1:
            return optimizer
        else:
            scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max_epochs)
        settings: dict[str, Any] = {"scheduler": scheduler}
        if isinstance(scheduler, ReduceLROnPlateau):
            settings["monitor"] = getattr(scheduler, "monitor", PLATEAU_MONITOR)
        return {"optimizer": optimizer, "lr_scheduler": settings}


def trainer_recipe(trainer: L.Trainer | None) -> TrainingRecipe:
    """The `TrainingRecipe` among ``trainer``'s callbacks; the default one when it has none
    (or there is no Trainer).

    Raises:
        ValueError: it has several.
    """
    found = [c for c in trainer.callbacks if isinstance(c, TrainingRecipe)] if trainer else []
    if len(found) > 1:
        raise ValueError(f"the Trainer has {len(found)} TrainingRecipe callbacks; give one")
    return found[0] if found else TrainingRecipe()


def parameter_groups(model: ImageClassifier) -> list[dict[str, Any]]:
    """The trainable parameters of ``model`` as optimizer parameter groups, each with its
    ``lr`` and ``weight_decay``: the circuits' weights (`quantum_parameters`) in a group of
    their own at ``q_lr`` when the model takes one and it is set, the rest at ``lr``."""
    hparams = model.hparams
    parameters = [p for p in model.parameters() if p.requires_grad]
    q_lr = hparams.get("q_lr")
    quantum = {id(p) for p in quantum_parameters(model)} if q_lr is not None else set()
    rates = [(hparams.lr, [p for p in parameters if id(p) not in quantum])]
    if quantum:
        rates.append((q_lr, [p for p in parameters if id(p) in quantum]))
    return [
        {"params": params, "lr": lr, "weight_decay": hparams.weight_decay} for lr, params in rates
    ]
