"""The command line of ``experiments/run.py``: train, validate and test one model on one
dataset, once per seed, continue a run (``--resume``), or evaluate a checkpoint on a quantum
device (``--evaluate``).

Every option can also come from YAML (``--config FILE.yaml``, keys spelled ``n_qubits`` or
``n-qubits``); the resolved configuration is saved as ``config.yaml`` in the run's directory,
next to ``results.json``, the CSV metrics and the checkpoints. The options are described in
`hqnn_lightning.run.options`; ``--help`` shows the common ones by group, ``--help-all`` every
one, ``--help MODEL`` those of one model (`hqnn_lightning.run.help`). Models, datasets and
circuit parts registered outside the package are imported first (``--import MODULE``, entry
points: `hqnn_lightning.run.plugins`).

A mistake is refused in one line (``error: ... (see --help)``, exit status 2). What can be
checked without the models is checked before they are imported (`first_problem`): the help
and those refusals cost little more than importing torch. The work itself is
`hqnn_lightning.run.commands`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from jsonargparse import Namespace

from hqnn_lightning.experiment.command_line import refuse
from hqnn_lightning.experiment.options import option_flag
from hqnn_lightning.preflight.device_requests import check_device_request, missing_plugin
from hqnn_lightning.run.checks import (
    out_of_range,
    untrainable_shots,
    unusable_evaluation,
    unwritable_directories,
)
from hqnn_lightning.run.help import HelpRequest, help_request, print_help
from hqnn_lightning.run.option_table import imported_function, listed_names, option_table
from hqnn_lightning.run.options import build_parser, constructor_arguments
from hqnn_lightning.run.plugins import (
    PluginError,
    import_modules,
    load_entry_points,
    modules_to_import,
)
from hqnn_lightning.run.resumption import find_resumption, run_prefix


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Parses ``argv`` (default ``sys.argv[1:]``), runs once per seed, and prints the results.

    Returns:
        The results of each run, in seed order (of the evaluation, with ``--evaluate``); none
        for ``--help``.
    """
    argv = [
        "--print_config" if arg == "--print-config" else arg  # jsonargparse spells it so
        for arg in (sys.argv[1:] if argv is None else argv)
    ]
    try:
        import_modules(modules_to_import(argv))
        load_entry_points()
        request = help_request(argv)
        if request is not None:
            _print_help(request)
            return []
        parser = build_parser(argv)
    except PluginError as error:
        refuse(str(error))
    config = parser.parse_args(argv)
    problem = first_problem(config)
    if problem:
        parser.error(problem)
    from hqnn_lightning.run.commands import run_command  # the library, for the work

    return run_command(parser, argv, config)


def _print_help(request: HelpRequest) -> None:
    """Prints the help ``request`` asks for; ``--help NAME`` of no registered model or
    dataset is refused in one line."""
    try:
        print_help(request)
    except KeyError as error:
        refuse(str(error.args[0]))


def first_problem(config: Namespace) -> str | None:
    """The first mistake in ``config`` found without importing the library: a value no run
    can use, ``--shots`` on a backend that cannot train with them, an unknown model or
    dataset, an option neither takes, a dataset's missing option or files
    (`ImageClassificationDataModule.input_problem`), what the quantum device would refuse
    (`hqnn_lightning.preflight.device_requests`), a repeated seed, an output directory that
    cannot be written, nothing to ``--resume`` or ``--evaluate``; as one sentence naming the
    option or file, or ``None``. The library is not imported; the few checks that need it
    (the hardware, the recipe's classes, W&B's settings, a resumed run's options) come after.
    """
    if config.evaluate:
        return unusable_evaluation(config) or _device_problem(
            config.q_device, config, config.q_diff_method
        )
    problem = (
        out_of_range(config)
        or untrainable_shots(config)
        or _untaken_option(config)
        or _input_problem(config)
        or _model_device_problem(config)
    )
    if problem:
        return problem
    repeated = sorted({seed for seed in config.seeds or () if config.seeds.count(seed) > 1})
    if repeated:
        return (
            f"--seeds {config.seeds}: seed {', '.join(map(str, repeated))} given more than once; "
            "a repeated seed trains the same run again and would count it twice in the mean ± std"
        )
    if config.seeds and (str(config.devices) != "1" or config.num_nodes != 1):
        return "--seeds runs one process; with --devices or --num-nodes, run each seed"
    if config.resume:
        return _resumption_problem(config)
    return unwritable_directories(config, None)


def _resumption_problem(config: Namespace) -> str | None:
    """Nothing for ``--resume`` to continue there, as `resume.resumed_config` would say it."""
    try:
        find_resumption(config.resume, config.output_dir, run_prefix(config))
    except FileNotFoundError as error:
        return str(error)
    return None


def _untaken_option(config: Namespace) -> str | None:
    """An unknown ``--model`` or ``--data``, or an option that neither takes."""
    table = option_table()
    chosen = (("--model", table.models, config.model), ("--data", table.datasets, config.data))
    for flag, registry, name in chosen:
        if name not in registry:
            known = ", ".join(listed_names(registry.names()))
            return f"{flag} {name}: no such {registry.kind}; give one of {known}"
    try:
        constructor_arguments(config, used_elsewhere={"cache_dir"})
    except TypeError as error:
        return str(error)
    return None


def _model_device_problem(config: Namespace) -> str | None:
    """What the quantum device of ``config``'s model would refuse (`_device_problem`), for a
    model that takes ``--q-device``; a resumed run's device is its saved one, checked later."""
    models = option_table().models
    if config.resume or "q_device" not in models.accepted_arguments(config.model):
        return None
    device = config.q_device or models.default(config.model, "q_device")
    return _device_problem(device, config, config.get("q_diff_method"))


def _device_problem(device: str, config: Namespace, diff_method: str | None) -> str | None:
    """What `make_device` would refuse of ``device`` with ``--shots``, ``diff_method`` and
    ``--q-device-options`` (the qubit count and credentials aside: they need the model and the
    plugin), or a plugin that is not installed; as the library says it."""
    devices = option_table().devices
    try:
        check_device_request(
            devices, device, None, config.shots, diff_method, config.q_device_options
        )
    except ValueError as error:
        return str(error)
    return missing_plugin(device, devices.devices[device])


def _input_problem(config: Namespace) -> str | None:
    """A required option of the dataset or the model left out, or what their input checks
    (`ImageClassificationDataModule.input_problem`: the dataset's files;
    `ImageClassifier.input_problem`: the model's options) find wrong, as the library would
    say it; a resumed run's are its saved ones, checked later."""
    if config.resume:
        return None
    table = option_table()
    model_given, data_given = constructor_arguments(config, used_elsewhere={"cache_dir"})
    chosen = (  # in the order the runner builds them
        ("--data", table.datasets, config.data, data_given),
        ("--model", table.models, config.model, model_given),
    )
    for flag, registry, name, given in chosen:
        missing = sorted(registry.required[name] - set(given))
        if missing:
            return f"{flag} {name} needs {', '.join(option_flag(option) for option in missing)}"
        path = registry.input_problems[name]
        problem = path and imported_function(path)(dict(registry.arguments[name]) | given)
        if problem:
            return problem
    return None
