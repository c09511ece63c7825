"""The parser of the training recipe's options (`hqnn_lightning.experiment.recipe_options`):
the optimizer added as LightningCLI's ``add_optimizer_args`` adds it, and jsonargparse's
several-line message for a refused ``class_path`` made one line. Loads jsonargparse and
torch, not Lightning, so that the runner refuses its options before it imports the library;
the recipe is built by `hqnn_lightning.run.recipe`."""

from __future__ import annotations

import re
from typing import NoReturn

from torch.optim import Optimizer

from hqnn_lightning.experiment.command_line import OneLineParser
from hqnn_lightning.experiment.recipe_options import CLASS_OPTIONS
from hqnn_lightning.utils.optim_types import GROUP_OPTIONS


class RecipeParser(OneLineParser):
    """The one-line parser (`OneLineParser`) with an optimizer option as LightningCLI adds
    one, saying in one line why a recipe option is refused (`parse_error_line`)."""

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
