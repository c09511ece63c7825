"""The training recipe's options, listed once for the runner's option list: their names,
types, defaults and help. No jsonargparse here (nor ``lightning.pytorch.cli``, which imports
it), so that what reads the options without parsing them need not load it, and no Lightning:
``--callbacks``'s type names `lightning.Callback`, so it is `CALLBACKS_TYPE`, resolved by
`callbacks_type` when a command gives callbacks. Parsed and built by
`hqnn_lightning.run.recipe`."""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

from torch.optim import Optimizer

from hqnn_lightning.utils.optim_types import SchedulerFactory

PRECISIONS = ("32-true", "64-true", "16-mixed", "bf16-mixed")
"""Lightning's ``precision`` values the runner offers. Not ``16-true`` and ``bf16-true``: the
circuits' layers compute in full precision and return it, which a half-precision head after
them does not take."""

Precision = Literal[PRECISIONS]

OPTIMIZER_TYPE = Optimizer | None
"""The type of ``--optimizer``: any `torch.optim.Optimizer` subclass in ``class_path``/
``init_args`` form, or ``None`` for the model's default (AdamW)."""

SCHEDULER_TYPE = SchedulerFactory | None
"""The type of ``--lr-scheduler``, LightningCLI's `LRSchedulerCallable` spelled without
importing it; ``None`` for the default cosine decay over ``max_epochs``."""

CALLBACKS_TYPE = "list[lightning.Callback] | None"
"""The type of ``--callbacks`` (callbacks added to the runner's own), as `callbacks_type`
resolves it: the name stands in for the type so that reading the options loads no
Lightning (3-4 s on 2 cores)."""


def callbacks_type() -> Any:
    """``list[lightning.Callback] | None``, the type ``--callbacks`` is parsed with."""
    import lightning as L

    return list[L.Callback] | None


CLASS_OPTIONS = ("optimizer", "lr_scheduler", "callbacks")
"""The options given in ``class_path``/``init_args`` form."""


class RecipeOption(NamedTuple):
    """One recipe option, for the runner's options (`hqnn_lightning.run.options`): each
    defines the experiment (the report groups runs by it, ``--resume`` keeps it)."""

    name: str
    type: Any
    default: Any
    help: str


RECIPE_OPTIONS = (
    RecipeOption(
        "optimizer",
        OPTIMIZER_TYPE,
        None,
        "a torch.optim class and its arguments (--optimizer torch.optim.SGD "
        "--optimizer.momentum 0.9, or class_path/init_args in YAML); its learning rate and "
        "weight decay are --lr, --q-lr and --weight-decay; --optimizer.help CLASS lists a "
        "class's arguments. Default: AdamW",
    ),
    RecipeOption(
        "lr_scheduler",
        SCHEDULER_TYPE,
        None,
        "a torch.optim.lr_scheduler class and its arguments, stepped once per epoch "
        "(--lr-scheduler torch.optim.lr_scheduler.StepLR --lr-scheduler.step_size 5). "
        "--lr-scheduler.help CLASS lists a class's arguments. Default: cosine decay over "
        "--max-epochs",
    ),
    RecipeOption(
        "callbacks",
        CALLBACKS_TYPE,
        None,
        "Lightning callbacks added to the runner's own (--callbacks+ "
        "lightning.pytorch.callbacks.LearningRateMonitor); --callbacks.help CLASS lists a "
        "class's arguments",
    ),
    RecipeOption(
        "precision", Precision, "32-true", f"Lightning's precision: {', '.join(PRECISIONS)}"
    ),
    RecipeOption(
        "accumulate_grad_batches",
        int,
        1,
        "sum the gradients of this many batches before each optimizer step (at least 1)",
    ),
)
"""The training recipe's options, in the order ``--help`` lists them."""
