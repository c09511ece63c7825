"""The options of ``experiments/run.py``: the runner's own, listed once, and the rest derived.

Two kinds of options, one flat namespace (``--n-qubits``, or ``n_qubits:`` in YAML):

- `RUNNER_OPTIONS` (listed in `hqnn_lightning.experiment.options`, which the report reads
  too) belong to the runner itself: what to build (``model``, ``data``), seeds,
  epochs, outputs, resumption, hardware evaluation, loggers and the machine. They are the only
  options written by hand. Each says whether it is part of an experiment's definition
  (``experiment``: the report groups runs by it, a resumed run may not change it) and whether
  it describes this machine (``machine``: a resumed run may change it).
- Every other option is an argument of a registered model's or DataModule's constructor,
  derived from its signature (type, default) and the ``Args:`` section of its docstring
  (help), with the registered variants' defaults (`hqnn_lightning.run.signatures`). Such an
  option is ``None`` unless set, so each constructor keeps its own default;
  `constructor_arguments` sends each set option to the chosen model or DataModule, and
  refuses one that neither takes.

Options that name a registered circuit part (`part_registries`) take the registry's names,
read when the parser is built (plugins' included: `hqnn_lightning.run.plugins`), as choices.

The parser reads what is registered from `hqnn_lightning.run.option_table`, so that it is
built, and a command refused, without importing the models (Lightning, PennyLane); only
``--callbacks``, whose type is Lightning's, loads Lightning, when a command can give it.

`RENAMED_OPTIONS` keeps older spellings working on the command line, in YAML files and in
old run directories' ``config.yaml`` (`hqnn_lightning.run.saved_options`).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Collection, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any, NoReturn

from jsonargparse import ActionConfigFile, Namespace

from hqnn_lightning.experiment.options import (
    RENAMED_OPTIONS,
    RUNNER,
    RUNNER_OPTIONS,
    RunnerOption,
    logistics_options,
    option_flag,
    renamed,
    runner_defaults,
)
from hqnn_lightning.experiment.recipe_options import (
    CALLBACKS_TYPE,
    OPTIMIZER_TYPE,
    callbacks_type,
)
from hqnn_lightning.run.option_table import OptionTable, listed_names, option_table
from hqnn_lightning.run.plugins import appended_imports, load_entry_points
from hqnn_lightning.run.recipe_parser import RecipeParser, parse_error_line
from hqnn_lightning.run.saved_options import config_file_problem, may_set_callbacks
from hqnn_lightning.run.signatures import (
    ConstructorOption,
    add_option,
    registered_arguments,
)

FROM_DATA = {
    "num_classes": "num_classes",
    "in_channels": "num_channels",
    "image_size": "image_size",
}
"""Model arguments that the runner takes from the DataModule (argument -> DataModule
attribute), not from an option."""


def part_registries() -> dict[str, Any]:
    """Constructor arguments that name a registered circuit part, whatever model takes them ->
    the registry (`hqnn_lightning.quantum.PartRegistry`) whose names are their choices."""
    from hqnn_lightning.quantum import ENCODINGS, ENTANGLERS, INITIALISATIONS, READOUTS

    return {
        "encoding": ENCODINGS,
        "entangler": ENTANGLERS,
        "readout": READOUTS,
        "q_init": INITIALISATIONS,
    }


__all__ = [
    "FROM_DATA",
    "RENAMED_OPTIONS",
    "RUNNER",
    "RUNNER_OPTIONS",
    "RunnerOption",
    "RunnerParser",
    "build_parser",
    "constructor_arguments",
    "constructor_options",
    "data_defaults_text",
    "logistics_options",
    "part_registries",
    "registered_names",
    "renamed",
    "resolved_options",
    "resumable_options",
    "runner_defaults",
    "type_error_line",
    "with_data_defaults",
]


def constructor_options() -> tuple[ConstructorOption, ...]:
    """Every argument of every registered model and DataModule constructor, as options;
    runner options and the model arguments in `FROM_DATA` aside, derived from the registries
    (imported here). Those in `part_registries` take the registry's names as choices. Derived
    once for each set of registered names, so what a plugin registers later (``--import``) is
    included."""
    return _constructor_options(*registered_names())


def registered_names() -> tuple[tuple[str, ...], tuple[str, ...], tuple[tuple[str, Any], ...]]:
    """The names registered now (imported here): the models', the datasets', and each circuit
    part's (``(argument, names)``); the key of what is derived from them."""
    from hqnn_lightning.data import DATAMODULES
    from hqnn_lightning.models import MODELS

    return (
        tuple(MODELS.names()),
        tuple(DATAMODULES.names()),
        tuple(
            (argument, tuple(registry.names())) for argument, registry in part_registries().items()
        ),
    )


@cache
def _constructor_options(
    models: tuple[str, ...],
    datamodules: tuple[str, ...],
    choices: tuple[tuple[str, tuple[str, ...]], ...],
) -> tuple[ConstructorOption, ...]:
    """`constructor_options` for these registered names (the cache's key)."""
    from hqnn_lightning.data import DATAMODULES
    from hqnn_lightning.models import MODELS

    return registered_arguments(
        ((MODELS, frozenset(FROM_DATA)), (DATAMODULES, frozenset())),
        frozenset(RUNNER),
        dict(choices),
    )


def resumable_options() -> frozenset[str]:
    """Options a resumed run may change: those that describe the machine."""
    return frozenset(option.name for option in RUNNER_OPTIONS if option.machine) | {"config"}


def resolved_options(config: Namespace) -> dict[str, Any]:
    """Every option of ``config`` but those a resumed run may change (`resumable_options`),
    with each model or DataModule argument left unset resolved to the value the chosen
    constructor gives it (`signatures.argument_default`): two configurations that build the
    same run resolve to the same options, whether a default was written out or left out."""
    changeable = resumable_options()
    values = {
        key: config[key]
        for key in config.keys()  # noqa: SIM118 (a Namespace's keys() flattens nested ones)
        if key.split(".")[0] not in changeable
    }
    table = option_table()
    if config.model not in table.models or config.data not in table.datasets:
        return values  # an unknown model or dataset: its options stay as given
    for option in table.options:
        if values.get(option.name) is not None:
            continue
        for registry, name in ((table.models, config.model), (table.datasets, config.data)):
            if option.name in registry.arguments[name]:
                values[option.name] = registry.default(name, option.name)
                break
    return values


class RunnerParser(RecipeParser):
    """jsonargparse's parser (`RecipeParser`), reading older option names (`RENAMED_OPTIONS`)
    as their names now, from the command line as from YAML, and ``--import`` repeated."""

    def parse_args(
        self,
        args: Sequence[str] | None = None,
        *more: Any,
        data_defaults: bool = True,
        **kwargs: Any,
    ) -> Namespace:
        """Parses ``args`` (default ``sys.argv[1:]``); a ``--config`` file that is not one
        (binary, a directory, invalid YAML, a list) stops it with one line naming the file
        (`config_file_problem`). With ``data_defaults``, the dataset's model defaults fill
        the options left unset (`with_data_defaults`); a run's saved ``config.yaml`` is read
        without them, since an unset option there meant the model's own default."""
        args = sys.argv[1:] if args is None else list(args)
        for flag, value in zip(args, [*args[1:], None], strict=False):
            flag, equals, attached = flag.partition("=")
            path = attached if equals else value
            problem = config_file_problem(Path(path)) if flag == "--config" and path else None
            if problem:
                self.error(f"--config {problem}")
        config = renamed(super().parse_args(appended_imports(args), *more, **kwargs))
        return with_data_defaults(config) if data_defaults else config

    def error(self, message: str, ex: Exception | None = None) -> NoReturn:
        """Prints ``error: MESSAGE`` and exits with 2; jsonargparse's several-line messages
        for a value of the wrong type on one line (`type_error_line`). A parser jsonargparse
        nests for a class's arguments raises its message to the outer one unchanged."""
        if self.exit_on_error:
            message = type_error_line(parse_error_line(message))
        super().error(message, ex)

    def dump(self, cfg: Namespace, *args: Any, **kwargs: Any) -> str:
        """The options as YAML (``config.yaml``), with ``identity_blocks`` resolved where
        ``q_init`` is set: a ``q_init`` without it is read as written before it existed
        (`saved_options`)."""
        models, model = option_table().models, cfg.get("model")
        takes = model in models and "identity_blocks" in models.arguments[model]
        if takes and cfg.get("q_init") is not None and cfg.get("identity_blocks") is None:
            cfg = cfg.clone()
            cfg.identity_blocks = models.default(model, "identity_blocks")
        return super().dump(cfg, *args, **kwargs)


def with_data_defaults(config: Namespace) -> Namespace:
    """``config`` with the chosen dataset's ``model_defaults`` (digits: ``arch: small_cnn``)
    set where the command leaves them unset, the chosen model takes them and its registered
    variant does not set them (``classical_tiny`` keeps its ``resnet18``): an option given
    always wins, and ``config.yaml`` records the value used. They describe a model trained
    from scratch, so pretrained ``backbone_weights`` keep the model's own backbone. Changed in
    place."""
    table = option_table()
    model, data = config.get("model"), config.get("data")
    if model not in table.models or data not in table.datasets:
        return config  # named by the runner's checks
    if config.get("backbone_weights") not in (None, "none"):
        return config
    takes = table.models.accepted_arguments(model) - table.models.variant_arguments[model]
    for name, value in table.datasets.model_defaults[data].items():
        if name in takes and config.get(name) is None:
            config[name] = value
    return config


def data_model_defaults(data: str) -> dict[str, Any]:
    """The model options that the dataset registered as ``data`` suggests for its images
    (``ImageClassificationDataModule.model_defaults``); none for a DataModule that has none.
    Reads the registry (imported here)."""
    from hqnn_lightning.data import DATAMODULES

    return dict(getattr(DATAMODULES.get(data), "model_defaults", {}))


def data_defaults_text(table: OptionTable) -> str:
    """``digits: --arch small_cnn``, for each dataset with model defaults."""
    return "; ".join(
        f"{data}: " + " ".join(f"{option_flag(name)} {value}" for name, value in defaults.items())
        for data, defaults in table.datasets.model_defaults.items()
        if defaults
    )


def type_error_line(message: str) -> str:
    """jsonargparse's message for a value of the wrong type, on one line that names the
    option, the value and what it takes: ``--n-qubits four: expected int or null``,
    ``--logger mlflow: expected one of 'wandb', 'csv', 'tensorboard'``; other messages
    unchanged."""
    key = re.match(r'Parser key "(\w+)":\s*', message)
    if key is None:
        return message
    body = message[key.end() :]
    union = re.search(r"Subtypes: \[(.*)\]\n(?:.*\n)*\s*Given value: (.*)", body)
    single = re.search(r"Expected an? (.+?)\. Got value: (.*)", body)
    found = union or single
    if found is None:
        return " ".join(message.split())
    types = re.sub(r"<class '(\w+)'>", r"\1", found[1]).replace("typing.", "")
    types = re.sub(r", NoneType$", " or null", types)
    types = re.sub(r"^Literal\[(.*)\]$", r"one of \1", types)
    return f"{option_flag(key[1])} {found[2]}: expected {types}"


def build_parser(argv: Sequence[str] | None = None) -> RunnerParser:
    """The parser of ``experiments/run.py``, every option with its type and default. Reads
    what is registered (`option_table`) after loading the plugins' entry points
    (`load_entry_points`).

    Args:
        argv: The command line it will parse, when it is known: where it cannot set
            ``--callbacks`` (`saved_options.may_set_callbacks`), the option stays unset whatever its
            type, so it is added without Lightning's (loading Lightning takes 3-4 s).
            ``None``: any.

    Raises:
        PluginError: an entry point failed to import.
    """
    load_entry_points()
    table = option_table()
    parser = RunnerParser(
        prog="experiments/run.py",
        description=(
            "Train a classical, hybrid quantum or quanvolutional model, then validate and test "
            "its best checkpoint. Options left unset keep the model's and dataset's defaults; "
            f"a dataset's defaults for the model come first ({data_defaults_text(table)})."
        ),
    )
    parser.add_argument("--config", action=ActionConfigFile, help="YAML file of any options below")
    registered = {"model": table.models, "data": table.datasets}
    for option in RUNNER_OPTIONS:
        names = listed_names(registered[option.name].names()) if option.name in registered else ()
        help = f"{option.help}: {', '.join(names)}" if names else option.help
        if option.type == OPTIMIZER_TYPE:  # as LightningCLI adds it, class_path/init_args
            parser.add_optimizer_argument(option.name, help)
        elif option.type == CALLBACKS_TYPE:
            kind = callbacks_type() if may_set_callbacks(argv) else type(None)
            add_option(parser, option.flag, kind, option.default, help)
        else:
            add_option(parser, option.flag, option.type, option.default, help)
    for option in table.options:
        add_option(parser, option.flag, option.type, None, option.help, option.choices)
    for old, new in RENAMED_OPTIONS.items():
        add_option(parser, option_flag(old), bool | None, None, f"older name of {option_flag(new)}")
    return parser


def constructor_arguments(
    config: Namespace, used_elsewhere: Collection[str] = ()
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The options set in ``config`` (not ``None``), split into the arguments of the model
    ``config.model`` and of the DataModule ``config.data``.

    Runner options marked ``data_argument`` go to the DataModule when it takes them.

    Args:
        config: The parsed options.
        used_elsewhere: Options the runner uses itself when the DataModule does not take
            them (``cache_dir`` for the feature cache).

    Raises:
        KeyError: ``config.model`` or ``config.data`` is not registered.
        TypeError: an option is set that neither constructor takes; the message names it and
            the models or datasets that do take it.
    """
    table = option_table()
    model_takes = table.models.accepted_arguments(config.model)
    data_takes = table.datasets.accepted_arguments(config.data)
    model_arguments: dict[str, Any] = {}
    data_arguments: dict[str, Any] = {}
    for option in table.options:
        value = config.get(option.name)
        if value is None:
            continue
        if option.name in model_takes:
            model_arguments[option.name] = value
        if option.name in data_takes:
            data_arguments[option.name] = value
        if option.name not in model_takes | data_takes:
            raise TypeError(_not_taken(config, option.name, option.takers))
    for option in RUNNER_OPTIONS:
        value = config.get(option.name)
        if not option.data_argument or value is None:
            continue
        if option.name in data_takes:
            data_arguments[option.name] = value
        elif option.name not in used_elsewhere:
            raise TypeError(_not_taken(config, option.name, {table.datasets.kind: ()}))
    return model_arguments, data_arguments


def _not_taken(config: Namespace, argument: str, takers: Mapping[str, Sequence[str]]) -> str:
    """``--n-qubits: model 'classical' does not take n_qubits (models that do: ...)``."""
    chosen = {"model": config.model, "dataset": config.data}
    reasons = [
        f"{kind} {chosen[kind]!r} does not take {argument}"
        + (f" ({kind}s that do: {', '.join(listed_names(names))})" if names else "")
        for kind, names in takers.items()
    ]
    return f"{option_flag(argument)}: " + "; ".join(reasons)
