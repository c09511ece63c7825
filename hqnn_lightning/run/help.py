"""``experiments/run.py --help``: the common options by group, each with its default, in
about 80 lines; ``--help-all``: every option, with the models or datasets that take it;
``--help NAME``: the options of one model or dataset, with its defaults.

Written from the runner's option list (`hqnn_lightning.experiment.options`) and the table of
what is registered (`hqnn_lightning.run.option_table`), so it costs no more than reading
them: no parser is built and no model imported. The registered test variants (``*_tiny``)
are left out. An option a plugin adds goes to the model or data group, by what takes it.
"""

from __future__ import annotations

import re
import textwrap
import types
import typing
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from hqnn_lightning.experiment.options import RENAMED_OPTIONS, RUNNER_OPTIONS, option_flag
from hqnn_lightning.run.option_table import OptionTable, RegistryTable, listed_names, option_table
from hqnn_lightning.run.options import data_defaults_text

HELP_FLAGS = ("-h", "--help")
ALL_FLAG = "--help-all"

GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("What to run", ("model", "data", "seeds", "config", "print_config", "evaluate", "resume",
                     "import")),
    ("Data", ("data_dir", "batch_size", "image_size", "augment", "normalize", "num_classes",
              "classes", "class_selection", "split_seed", "val_fraction", "test_fraction",
              "download", "cache_images", "check_images", "recheck_images", "cache_dir",
              "num_workers", "crop_to_bbox", "hflip", "rotation", "color_jitter",
              "normalize_mean", "normalize_std", "channels", "noise", "samples_per_class",
              "keep", "min_images_per_class", "stanford_dir", "vmmrdb_dir")),
    ("Model", ("arch", "backbone_weights", "freeze_backbone", "train_last_stages",
               "precompute_features", "lr", "weight_decay", "projection_hidden", "residual",
               "bottleneck_parameters", "fourier_order", "head_width", "kernel_size", "stride",
               "n_layers", "filter_seed", "trainable_filter")),
    ("Quantum", ("n_qubits", "q_depth", "entangler", "encoding", "readout", "n_heads",
                 "reupload", "identity_blocks", "q_init", "q_init_scale", "angle_scale", "q_lr",
                 "q_device", "shots", "q_diff_method", "q_device_options")),
    ("Training", ("max_epochs", "seed", "optimizer", "lr_scheduler", "callbacks", "precision",
                  "accumulate_grad_batches", "gradient_clip_val", "deterministic", "test",
                  "monitor_trainability", "fast_dev_run")),
    ("Output and logging", ("output_dir", "logger", "wandb_project", "wandb_entity",
                            "wandb_group", "wandb_tags", "wandb_log_model", "checkpoint_interval",
                            "checkpoint_every_n_steps", "progress_bar")),
    ("Hardware", ("accelerator", "devices", "num_nodes", "strategy", "eval_dir", "yes",
                  "max_retries")),
)  # fmt: skip
"""The help's groups, in order, and the options in each, in order."""

COMMON = frozenset({
    "model", "data", "seeds", "config", "evaluate", "resume", "data_dir", "batch_size",
    "image_size", "augment", "normalize", "num_classes", "arch", "backbone_weights",
    "freeze_backbone", "precompute_features", "lr", "n_qubits", "q_depth", "entangler",
    "encoding", "readout", "q_device", "shots", "max_epochs", "output_dir", "logger",
    "accelerator", "devices",
})  # fmt: skip
"""The options ``--help`` shows; ``--help-all`` shows every one."""

CONFIG_OPTIONS = {
    "config": (
        "FILE",
        None,
        "a YAML file of any options, each key an option without its dashes (n-qubits: 4)",
    ),
    "print_config": ("", None, "print the options as YAML (a --config file) and exit"),
}
"""The two options jsonargparse adds: metavar, default, help."""

SENTENCE_END = re.compile(r"(?<=[a-z0-9)\]])\.\s+(?=[A-Z])")
"""Where a description's first sentence ends (``e.g. [0,1]`` does not end one)."""

WIDTH = 100
FLAG_WIDTH = 30


@dataclass(frozen=True)
class HelpRequest:
    """What the command line asked help for: ``"common"``, ``"all"`` or one registered
    name (a model or a dataset)."""

    about: str


def help_request(argv: Sequence[str]) -> HelpRequest | None:
    """The help ``argv`` asks for (``--help``, ``-h``, ``--help-all``, ``--help NAME``), or
    ``None``."""
    for position, arg in enumerate(argv):
        if arg == ALL_FLAG:
            return HelpRequest("all")
        if arg in HELP_FLAGS:
            following = argv[position + 1] if position + 1 < len(argv) else None
            named = following is not None and not following.startswith("-")
            return HelpRequest(following if named else "common")
    return None


def print_help(request: HelpRequest) -> None:
    """Prints the help ``request`` asks for.

    Raises:
        KeyError: ``request`` names neither a model nor a dataset.
    """
    print(help_text(request, option_table()))


def help_text(request: HelpRequest, table: OptionTable) -> str:
    """The help ``request`` asks for, from ``table``."""
    options = _options(table)
    if request.about == "common":
        shown = {name: option for name, option in options.items() if name in COMMON}
        lines = _usage(table, "the common options")
        lines += _grouped(shown, lambda option: option.short_text())
        lines += [
            "",
            f"{ALL_FLAG}: every option. --help NAME: the options of one model or "
            "dataset (--help hybrid). docs/getting_started.md has examples.",
        ]
        return "\n".join(lines)
    if request.about == "all":
        lines = _usage(table, "every option, and the models or datasets that take it")
        lines += _grouped(options, lambda option: option.full_text())
        older = ", ".join(
            f"{option_flag(old)} ({option_flag(new)})" for old, new in RENAMED_OPTIONS.items()
        )
        return "\n".join([*lines, "", f"Older names, still read: {older}."])
    registry = _registry_of(table, request.about)
    name = request.about
    shown = {
        key: option.for_one(registry, name)
        for key, option in options.items()
        if option.takers is None or name in option.takers.get(registry.kind, ())
    }
    lines = _usage(table, f"the options {registry.kind} {name} takes, with its defaults")
    return "\n".join(lines + _grouped(shown, lambda option: option.full_text()))


@dataclass(frozen=True)
class _Option:
    """One option as the help shows it. ``takers`` is ``None`` for the runner's own."""

    name: str
    metavar: str
    default: str
    description: str
    takers: dict[str, tuple[str, ...]] | None = None

    def short_text(self) -> list[str]:
        first = SENTENCE_END.split(self.description)[0].rstrip(".")
        return _entry(self.name, self.metavar, f"{first}.{self._default_text()}")

    def full_text(self) -> list[str]:
        text = f"{self.description.rstrip('.')}.{self._default_text()}"
        if self.takers:
            text += (
                " "
                + "; ".join(
                    f"{kind}s: {', '.join(listed_names(names))}"
                    for kind, names in self.takers.items()
                )
                + "."
            )
        return _entry(self.name, self.metavar, text)

    def _default_text(self) -> str:
        """`` Default VALUE.``, unless the description gives it or the option is a flag."""
        return (
            ""
            if "Default:" in self.description or not self.metavar
            else f" Default {self.default}."
        )

    def for_one(self, registry: RegistryTable, name: str) -> _Option:
        if self.takers is None:
            return self
        value = registry.default(name, self.name)
        return _Option(self.name, self.metavar, _shown(value), self.description)


def _options(table: OptionTable) -> dict[str, _Option]:
    options = _described(table)
    names = re.compile(r"\b(" + "|".join(name for name in options if "_" in name) + r")\b")
    return {
        name: option
        if name in CONFIG_OPTIONS  # they name YAML keys, not options
        else replace(option, description=names.sub(_flag, option.description))
        for name, option in options.items()
    }


def _flag(found: re.Match[str]) -> str:
    return option_flag(found[1])


def _described(table: OptionTable) -> dict[str, _Option]:
    """Every option, its description as written (Python's spelling of option names)."""
    options = {
        name: _Option(name, metavar, _shown(default), text)
        for name, (metavar, default, text) in CONFIG_OPTIONS.items()
    }
    registered = {"model": table.models, "data": table.datasets}
    for option in RUNNER_OPTIONS:
        text = option.help
        if option.name in registered:
            text += ": " + ", ".join(listed_names(registered[option.name].names()))
        metavar = "NAME" if option.name in registered else _metavar(option.type)
        options[option.name] = _Option(option.name, metavar, _shown(option.default), text)
    for option in table.options:
        registries = {"model": table.models, "dataset": table.datasets}
        defaults = {
            (kind, name): registries[kind].default(name, option.name)
            for kind, names in option.takers.items()
            for name in listed_names(names)
        }
        options[option.name] = _Option(
            option.name,
            _metavar(option.type, option.choices),
            _common_default(defaults),
            option.description.replace("`", ""),
            {kind: tuple(names) for kind, names in option.takers.items()},
        )
    return options


def _grouped(options: dict[str, _Option], text: Callable[[_Option], list[str]]) -> list[str]:
    """The options' entries under their groups' titles, in `GROUPS`' order; an option no
    group names goes to the model group when a model takes it, else to the data group."""
    placed = {name for _, names in GROUPS for name in names}
    lines = []
    for title, names in GROUPS:
        extra = [
            name
            for name, option in sorted(options.items())
            if name not in placed and _extra_group(option) == title
        ]
        entries = [text(options[name]) for name in (*names, *extra) if name in options]
        if entries:
            lines += ["", f"{title}:"] + [line for entry in entries for line in entry]
    return lines


def _extra_group(option: _Option) -> str:
    return "Model" if option.takers and "model" in option.takers else "Data"


def _usage(table: OptionTable, shown: str) -> list[str]:
    return [
        "usage: python experiments/run.py [--model MODEL] [--data DATA] [OPTIONS]",
        "",
        *textwrap.wrap(
            "Train a classical, hybrid quantum or quanvolutional model on a dataset, once per "
            "seed, then validate and test its best checkpoint. Options left unset keep the "
            "model's and the dataset's defaults; a dataset's defaults for the model come first "
            f"({data_defaults_text(table)}). The study's setting: --data stanford_cars "
            f"--data-dir DIR --backbone-weights imagenet. Shown: {shown}.",
            WIDTH,
        ),
    ]


def _registry_of(table: OptionTable, name: str) -> RegistryTable:
    for registry in (table.models, table.datasets):
        if name in registry:
            return registry
    known = ", ".join(listed_names([*table.models.names(), *table.datasets.names()]))
    raise KeyError(f"--help {name}: no model or dataset of that name; give one of {known}")


def _entry(name: str, metavar: str, text: str) -> list[str]:
    """``  --n-qubits INT   text``, wrapped at `WIDTH`, the text indented past the flags."""
    flag = f"  {option_flag(name)}" + (f" {metavar}" if metavar else "")
    indent = " " * FLAG_WIDTH
    wrapped = textwrap.wrap(text, WIDTH - FLAG_WIDTH)
    if len(flag) < FLAG_WIDTH - 1:
        return [flag.ljust(FLAG_WIDTH) + wrapped[0], *(indent + line for line in wrapped[1:])]
    return [flag, *(indent + line for line in wrapped)]


def _metavar(kind: Any, choices: Iterable[str] | None = None) -> str:
    """``INT``, ``FLOAT``, ``TEXT``, ``true|false``, ``[INT,...]``, ``{a,b}`` for ``kind``."""
    if choices is not None:
        return "{" + ",".join(choices) + "}"
    args = [arg for arg in typing.get_args(kind) if arg is not type(None)]
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        return "|".join(dict.fromkeys(_metavar(arg) for arg in args))
    if typing.get_origin(kind) is typing.Literal:
        return "{" + ",".join(str(arg) for arg in typing.get_args(kind)) + "}"
    if typing.get_origin(kind) is list:
        return f"[{_metavar(args[0])},...]" if args else "[...]"
    names = {bool: "true|false", int: "INT", float: "FLOAT", str: "TEXT", dict: "{KEY: VALUE}"}
    return names.get(kind, "CLASS")


def _common_default(defaults: dict[tuple[str, str], Any]) -> str:
    """The value most of the listed takers give an option, and how many differ."""
    if not defaults:
        return "none"
    values = [_shown(value) for value in defaults.values()]
    common = max(set(values), key=values.count)
    others = len(values) - values.count(common)
    return common + (f" ({others} differ: --help NAME)" if others else "")


def _shown(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return value or '""'
    if isinstance(value, float):
        return f"{value:g}"
    return str(value).replace("'", "")
