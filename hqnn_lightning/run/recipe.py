"""The runner's training recipe: ``--optimizer``, ``--lr-scheduler``, ``--callbacks``,
``--precision`` and ``--accumulate-grad-batches``.

The optimizer, the scheduler and the callbacks are given as LightningCLI gives them, in
jsonargparse's ``class_path``/``init_args`` form, on the command line
(``--optimizer torch.optim.SGD --optimizer.momentum 0.9``, ``--callbacks+
lightning.pytorch.callbacks.LearningRateMonitor``) or in YAML. They are parsed with the types
LightningCLI uses: the optimizer as `lightning.pytorch.cli.LightningArgumentParser`'s
``add_optimizer_args`` adds it (`RecipeParser.add_optimizer_argument`, here without its ``lr`` and
``weight_decay``, which are the model's), the scheduler as a callable like LightningCLI's
`LRSchedulerCallable`, the callbacks as a list of `lightning.Callback` (the options and
their types: `hqnn_lightning.experiment.recipe_options`). A bad class path or argument is
refused while parsing (`parse_error_line` makes jsonargparse's message one line). They are
built only when a run starts, with `lightning.pytorch.cli.instantiate_class`: the optimizer
and scheduler as the `TrainingRecipe` callback that `ImageClassifier.configure_optimizers` reads.
"""

from __future__ import annotations

import re
from functools import partial
from typing import Any, NoReturn

import lightning as L
import torch
from jsonargparse import ArgumentParser, Namespace
from lightning.pytorch.cli import instantiate_class
from torch.optim import Optimizer

from hqnn_lightning.models import MODELS
from hqnn_lightning.models.recipe import GROUP_OPTIONS, TrainingRecipe
from hqnn_lightning.run.signatures import argument_default
from hqnn_lightning.utils.errors import first_line

CLASS_OPTIONS = ("optimizer", "lr_scheduler", "callbacks")
"""The options given in ``class_path``/``init_args`` form."""


class RecipeParser(ArgumentParser):
    """jsonargparse's parser with an optimizer option as LightningCLI adds one, saying in one
    line why a recipe option is refused (`parse_error_line`)."""

    def add_optimizer_argument(self, name: str, help: str) -> None:
        """Adds ``--NAME``, an optimizer in ``class_path``/``init_args`` form, as
        LightningCLI's ``add_optimizer_args`` does, without the arguments each parameter
        group sets from the model (`GROUP_OPTIONS`)."""
        self.add_subclass_arguments(
            (Optimizer,),
            name,
            instantiate=False,
            fail_untyped=False,
            skip={"params", *GROUP_OPTIONS},
            required=False,
            help=help,
        )

    def error(self, message: str, ex: Exception | None = None) -> NoReturn:
        super().error(parse_error_line(message), ex)


def training_recipe(config: Namespace) -> TrainingRecipe:
    """The `TrainingRecipe` of ``config.optimizer`` and ``config.lr_scheduler``; ``None``
    leaves the model's default."""
    return TrainingRecipe(
        optimizer=_factory(config.get("optimizer")),
        lr_scheduler=_factory(config.get("lr_scheduler")),
    )


def extra_callbacks(config: Namespace) -> list[L.Callback]:
    """The callbacks of ``config.callbacks``, built."""
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
    recipe = training_recipe(config)
    parameter = torch.nn.Parameter(torch.zeros(1))
    groups = [{"params": [parameter], "lr": 1e-3, "weight_decay": weight_decay}]
    try:
        optimizer = (recipe.optimizer or torch.optim.AdamW)(groups)
    except Exception as error:  # as above, for any optimizer class
        return f"--optimizer {describe(config.optimizer)}: {first_line(error)}"
    if weight_decay and "weight_decay" not in optimizer.defaults:
        return (
            f"--optimizer {describe(config.optimizer)}: {type(optimizer).__name__} has no "
            f"weight decay and the model's is {weight_decay}; give --weight-decay 0"
        )
    if recipe.lr_scheduler is not None:
        try:
            recipe.lr_scheduler(optimizer)
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


RECIPE_REASONS = (
    re.compile(r"Problem with given class_path '[^']*':\s*\n\s*(?P<reason>.+)"),
    re.compile(r"expects a function or a callable class: (?P<reason>.+(\n\s+[^-\s].*)?)"),
    re.compile(r"(?P<reason>Import path does not correspond to a subclass of \w+)"),
)
"""Where jsonargparse's message says why a ``class_path``/``init_args`` value is refused."""


def parse_error_line(message: str) -> str:
    """jsonargparse's several-line message for a refused recipe option
    (`CLASS_OPTIONS`) as one line: ``--optimizer torch.optim.Bogus: module 'torch.optim'
    has no attribute 'Bogus'``; other messages unchanged."""
    key = re.match(r'Parser key "(\w+)"', message)
    if key is None or key.group(1) not in CLASS_OPTIONS:
        return message
    for pattern in RECIPE_REASONS:
        found = pattern.search(message)
        if found is not None:
            reason = " ".join(found.group("reason").split())
            break
    else:
        return message
    reason = re.sub(r'\.? Got value: Namespace\(.*|Parser key "\w+": ', "", reason)
    flag = "--" + key.group(1).replace("_", "-")
    given = re.search(r"Given value: (?:Namespace\(class_path=')?([^']+)", message)
    nested = re.search(r"Given value: NestedArg\(key='(.*)', val='(.*)'\)", message)
    shown = f"{flag}.{nested[1]} {nested[2]}" if nested else f"{flag} {given[1] if given else ''}"
    hint = {
        "optimizer": "give a torch.optim class and its arguments (--optimizer.momentum 0.9); "
        "the learning rate and weight decay are --lr, --q-lr and --weight-decay",
        "lr_scheduler": "give a torch.optim.lr_scheduler class and its arguments "
        "(--lr-scheduler.step_size 5)",
        "callbacks": "give a lightning.Callback class (--callbacks+ CLASS_PATH)",
    }[key.group(1)]
    return f"{shown.strip()}: {reason.rstrip('.')}; {hint}"


def _model_weight_decay(config: Namespace) -> float:
    """The weight decay ``config``'s model is built with: ``--weight-decay``, else its
    default; 0 for a model that is not registered (refused later) or takes none."""
    if config.get("weight_decay") is not None:
        return config.weight_decay
    if config.model not in MODELS.names():
        return 0.0
    if "weight_decay" not in MODELS.accepted_arguments(config.model):
        return 0.0
    return argument_default(MODELS, config.model, "weight_decay") or 0.0


def _factory(spec: Any) -> Any:
    """The callable that builds ``spec`` (``class_path``/``init_args``) from its first
    argument; ``None`` for ``None``."""
    return None if spec is None else partial(instantiate_class, init=_plain(spec))


def _plain(value: Any) -> Any:
    return value.as_dict() if isinstance(value, Namespace) else value
