"""The runner's training recipe: ``--optimizer``, ``--lr-scheduler``, ``--callbacks``,
``--precision`` and ``--accumulate-grad-batches``.

The optimizer, the scheduler and the callbacks are given as LightningCLI gives them, in
jsonargparse's ``class_path``/``init_args`` form, on the command line
(``--optimizer torch.optim.SGD --optimizer.momentum 0.9``, ``--callbacks+
lightning.pytorch.callbacks.LearningRateMonitor``) or in YAML. They are parsed with the types
LightningCLI uses (`hqnn_lightning.run.recipe_parser`; the options and their types:
`hqnn_lightning.experiment.recipe_options`), where a bad class path or argument is refused.
They are built only when a run starts, with `lightning.pytorch.cli.instantiate_class`: the
optimizer and scheduler as the `TrainingRecipe` callback that
`ImageClassifier.configure_optimizers` reads.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

import torch
from jsonargparse import Namespace

from hqnn_lightning.run.option_table import option_table
from hqnn_lightning.utils.errors import first_line

if TYPE_CHECKING:
    import lightning as L

    from hqnn_lightning.models.recipe import TrainingRecipe


def training_recipe(config: Namespace) -> TrainingRecipe:
    """The `TrainingRecipe` of ``config.optimizer`` and ``config.lr_scheduler``; ``None``
    leaves the model's default."""
    from hqnn_lightning.models.recipe import TrainingRecipe

    return TrainingRecipe(
        optimizer=_factory(config.get("optimizer")),
        lr_scheduler=_factory(config.get("lr_scheduler")),
    )


def extra_callbacks(config: Namespace) -> list[L.Callback]:
    """The callbacks of ``config.callbacks``, built."""
    from lightning.pytorch.cli import instantiate_class

    return [instantiate_class((), _plain(spec)) for spec in config.get("callbacks") or ()]


def trainer_arguments(config: Namespace) -> dict[str, Any]:
    """The `lightning.Trainer` arguments of the recipe: ``precision`` and
    ``accumulate_grad_batches``."""
    return {
        "precision": config.precision,
        "accumulate_grad_batches": config.accumulate_grad_batches,
    }


def unusable_recipe(config: Namespace) -> str | None:
    """The first of ``--callbacks``, ``--optimizer`` and ``--lr-scheduler`` that cannot be
    built as given, as a sentence naming the option; ``None`` when all can. The optimizer is
    tried on one parameter with the model's weight decay, which it must take unless it is
    0."""
    weight_decay = _model_weight_decay(config)
    try:
        extra_callbacks(config)
    except Exception as error:  # any callback class may raise anything
        return f"--callbacks {describe(config.callbacks)}: {first_line(error)}"
    optimizer_factory = _factory(config.get("optimizer"))
    scheduler_factory = _factory(config.get("lr_scheduler"))
    parameter = torch.nn.Parameter(torch.zeros(1))
    groups = [{"params": [parameter], "lr": 1e-3, "weight_decay": weight_decay}]
    try:
        optimizer = (optimizer_factory or torch.optim.AdamW)(groups)
    except Exception as error:  # as above, for any optimizer class
        return f"--optimizer {describe(config.optimizer)}: {first_line(error)}"
    if weight_decay and "weight_decay" not in optimizer.defaults:
        return (
            f"--optimizer {describe(config.optimizer)}: {type(optimizer).__name__} has no "
            f"weight decay and the model's is {weight_decay}; give --weight-decay 0"
        )
    if scheduler_factory is not None:
        try:
            scheduler_factory(optimizer)
        except Exception as error:  # as above, for any scheduler class
            return f"--lr-scheduler {describe(config.lr_scheduler)}: {first_line(error)}"
    return None


def describe(value: Any) -> str:
    """A recipe option's value in a message or label: ``torch.optim.SGD(momentum=0.9)`` for
    ``class_path``/``init_args`` (each argument shown), a list of those, or the value."""
    value = _plain(value)
    if isinstance(value, list):
        return "[" + ", ".join(describe(item) for item in value) + "]"
    if not isinstance(value, dict) or "class_path" not in value:
        return str(value)
    arguments = ", ".join(f"{k}={v}" for k, v in (value.get("init_args") or {}).items())
    return f"{value['class_path']}({arguments})"


def _model_weight_decay(config: Namespace) -> float:
    """The weight decay ``config``'s model is built with: ``--weight-decay``, else its
    default; 0 for a model that is not registered (refused later) or takes none."""
    if config.get("weight_decay") is not None:
        return config.weight_decay
    models = option_table().models
    if config.model not in models or "weight_decay" not in models.arguments[config.model]:
        return 0.0
    return models.default(config.model, "weight_decay") or 0.0


def _factory(spec: Any) -> Any:
    """The callable that builds ``spec`` (``class_path``/``init_args``) from its first
    argument; ``None`` for ``None``."""
    if spec is None:
        return None
    from lightning.pytorch.cli import instantiate_class

    return partial(instantiate_class, init=_plain(spec))


def _plain(value: Any) -> Any:
    return value.as_dict() if isinstance(value, Namespace) else value
