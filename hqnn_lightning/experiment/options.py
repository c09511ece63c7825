"""The runner's own options, listed once: what the runner (`hqnn_lightning.run`) parses and the
report (`hqnn_lightning.report`) groups runs by.

`RUNNER_OPTIONS` are the options of ``experiments/run.py`` that belong to the runner itself
(what to build, seeds, epochs, outputs, resumption, hardware evaluation, loggers, the
machine); each says whether it is part of an experiment's definition and whether it describes
the machine. `RENAMED_OPTIONS` keeps older spellings readable. The parser and the options
derived from the registered constructors are the runner's (`hqnn_lightning.run.options`).
Nothing here imports jsonargparse, Lightning's loggers or matplotlib.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from hqnn_lightning.experiment.recipe_options import RECIPE_OPTIONS

LOGGERS = ("wandb", "csv", "tensorboard")
"""The experiment loggers ``--logger`` chooses from (`hqnn_lightning.run.loggers`)."""


def option_flag(name: str) -> str:
    """``--n-qubits`` for ``n_qubits``."""
    return "--" + name.replace("_", "-")


RENAMED_OPTIONS = {"precompute_quanvolution": "precompute_features"}
"""Older option name -> its name now; the old one is still read."""

PLUGIN_GROUP = "hqnn_lightning.plugins"
"""The entry-point group under which an installed package registers its models, datasets and
circuit parts (`hqnn_lightning.run.plugins`)."""


@dataclass(frozen=True)
class RunnerOption:
    """One option of the runner itself.

    Args:
        name: The option's name (``max_epochs``; ``--max-epochs`` on the command line).
        type: Its type, as jsonargparse reads it.
        default: Its value when not given.
        help: What it does, for ``--help``.
        experiment: Part of what a run measures: the report groups runs by it and a resumed
            run must keep it. ``False`` for seeds and logistics (where outputs go, loggers).
        machine: Describes this machine (paths, workers, accelerator): a resumed run may
            change it.
        data_argument: Also passed to the DataModule, when its constructor takes it.
    """

    name: str
    type: Any
    default: Any
    help: str
    experiment: bool = True
    machine: bool = False
    data_argument: bool = False

    @property
    def flag(self) -> str:
        return option_flag(self.name)


RUNNER_OPTIONS = (
    RunnerOption("model", str, "hybrid", "model"),
    RunnerOption("data", str, "digits", "dataset"),
    RunnerOption(
        "data_dir",
        str | None,
        None,
        "dataset directory (datasets on disk)",
        machine=True,
        data_argument=True,
    ),
    RunnerOption(
        "cache_dir",
        str | None,
        None,
        "where caches go: decoded images of car datasets, precomputed features "
        "(default ~/.cache/hqnn_lightning)",
        experiment=False,
        machine=True,
        data_argument=True,
    ),
    RunnerOption(
        "num_workers",
        int | None,
        None,
        "DataLoader worker processes (default: the dataset's)",
        experiment=False,
        machine=True,
        data_argument=True,
    ),
    RunnerOption(
        "recheck_images",
        bool | None,
        None,
        "car datasets: check again every image file the cache of unreadable ones excludes "
        "(those excluded for a permission or I/O error are checked again on every run anyway)",
        experiment=False,
        machine=True,
        data_argument=True,
    ),
    RunnerOption(
        "import",
        list[str],
        [],
        "Python modules to import first, which register models, datasets or circuit parts "
        "(repeatable: --import a --import b); installed packages register theirs under the "
        f"{PLUGIN_GROUP} entry-point group",
        experiment=False,
        machine=True,
    ),
    RunnerOption(
        "seed",
        int,
        0,
        "seed of the initialisation and the order, and of the split unless --split-seed",
        experiment=False,
        data_argument=True,
    ),
    RunnerOption(
        "split_seed",
        int | None,
        None,
        "seed of the data's train/val/test split (and of a random class subset); default: "
        "--seed. Fixed (e.g. 0), every seed of --seeds trains and validates on the same images",
        data_argument=True,
    ),
    RunnerOption(
        "seeds",
        list[int] | None,
        None,
        "run once per seed, e.g. [0,1,2], and print the mean +- std table (overrides --seed)",
        experiment=False,
    ),
    RunnerOption("max_epochs", int, 10, "training epochs"),
    RunnerOption(
        "deterministic",
        bool,
        False,
        "deterministic algorithms only (torch.use_deterministic_algorithms)",
        experiment=False,
    ),
    RunnerOption(
        "gradient_clip_val",
        float | None,
        None,
        "clip the gradient norm to this value (Lightning's gradient_clip_val)",
    ),
    *(RunnerOption(*option) for option in RECIPE_OPTIONS),
    RunnerOption(
        "evaluate",
        str | None,
        None,
        "CHECKPOINT: evaluate the test set of the checkpoint's run on --q-device with "
        "--shots, resumably, instead of training (see docs/devices.md)",
        experiment=False,
    ),
    RunnerOption("yes", bool, False, "--evaluate: submit without asking", experiment=False),
    RunnerOption("eval_dir", str | None, None, "--evaluate: where results go", experiment=False),
    RunnerOption("max_retries", int, 3, "--evaluate: retries of a failed batch", experiment=False),
    RunnerOption(
        "logger",
        Literal[LOGGERS],
        "wandb",
        f"experiment logger: {', '.join(LOGGERS)}; wandb runs offline without credentials",
        experiment=False,
    ),
    RunnerOption("wandb_project", str, "hqnn-lightning", "W&B project", experiment=False),
    RunnerOption("wandb_entity", str | None, None, "W&B entity (user or team)", experiment=False),
    RunnerOption("wandb_group", str | None, None, "W&B group", experiment=False),
    RunnerOption("wandb_tags", list[str], [], "W&B tags, e.g. [study,digits]", experiment=False),
    RunnerOption(
        "wandb_log_model",
        bool,
        False,
        "upload the best and last checkpoints to W&B as a model artifact",
        experiment=False,
    ),
    RunnerOption(
        "output_dir",
        str,
        "runs",
        "where run directories are created",
        experiment=False,
        machine=True,
    ),
    RunnerOption(
        "resume",
        str | None,
        None,
        "continue a run: its directory, a checkpoint in it, or last (the newest run of "
        "this model, data and seed under --output-dir); its config.yaml gives the options",
        experiment=False,
        machine=True,
    ),
    RunnerOption(
        "checkpoint_every_n_steps",
        int | None,
        None,
        "also update checkpoints/last.ckpt every N training steps (for --resume)",
        experiment=False,
        machine=True,
    ),
    RunnerOption(
        "checkpoint_interval",
        float,
        10.0,
        "seconds at least between two end-of-epoch updates of checkpoints/last.ckpt (for "
        "--resume); 0: after every epoch. The epoch that ends the fit is always saved; a kill "
        "without SIGTERM loses at most this plus an epoch",
        experiment=False,
        machine=True,
    ),
    RunnerOption(
        "accelerator",
        str,
        "auto",
        "Lightning accelerator: auto, cpu, gpu",
        experiment=False,
        machine=True,
    ),
    RunnerOption("devices", int | str, 1, "Lightning devices per node, e.g. 2 or auto"),
    RunnerOption("num_nodes", int, 1, "machines (SLURM or torchrun; docs/devices.md)"),
    RunnerOption("strategy", str, "auto", "Lightning strategy: auto, ddp, ddp_spawn"),
    RunnerOption(
        "fast_dev_run",
        bool,
        False,
        "one batch of each stage, to check that a command runs: its run directory holds the "
        "options and results but no checkpoint, and its numbers and trainability verdict "
        "mean nothing",
        experiment=False,
    ),
    RunnerOption(
        "test",
        bool,
        True,
        "test the best checkpoint after training; false validates it only and writes no test "
        "metrics, confusion matrix or predictions (the trials of experiments/tune.py, which "
        "choose on the validation split)",
        experiment=False,
    ),
    RunnerOption(
        "monitor_trainability",
        bool,
        True,
        "log each part's gradient norm, the bottleneck's output spread and the train loss "
        "against ln(classes), warn when the run has not left its initial plateau, and give a "
        "verdict (docs/trainability.md)",
        experiment=False,
    ),
    RunnerOption(
        "progress_bar",
        bool,
        True,
        "Lightning's progress bar (false for batch jobs whose logs it would fill)",
        experiment=False,
    ),
)
"""The options of the runner itself; every other option is derived (`constructor_options`)."""

RUNNER = {option.name: option for option in RUNNER_OPTIONS}


def logistics_options() -> frozenset[str]:
    """Options that do not change what a run measures: seeds, outputs, loggers, workers."""
    return frozenset(option.name for option in RUNNER_OPTIONS if not option.experiment) | {"config"}


def runner_defaults() -> dict[str, Any]:
    """``{name: default}`` of the runner options that define an experiment."""
    return {option.name: option.default for option in RUNNER_OPTIONS if option.experiment}


Options = TypeVar("Options", bound=MutableMapping[str, Any])
"""Parsed options (a jsonargparse ``Namespace``) or a saved ``config.yaml``'s mapping."""


def renamed(config: Options) -> Options:
    """``config`` (parsed options, or a saved ``config.yaml``) with its older option names
    (`RENAMED_OPTIONS`) replaced by their names now, and, for a saved one's values that set
    ``q_init`` but not ``identity_blocks``, ``identity_blocks`` as that ``q_init`` meant it
    (`identity_blocks_of_old_options`); changed in place."""
    for old, new in RENAMED_OPTIONS.items():
        value = config.pop(old, None)
        if value is not None and config.get(new) is None:
            config[new] = value
    if isinstance(config, dict):
        blocks = identity_blocks_of_old_options(config)
        if blocks is not None:
            config["identity_blocks"] = blocks
    return config


def identity_blocks_of_old_options(saved: Mapping[str, Any]) -> bool | None:
    """What ``q_init`` meant for identity blocks in saved options that do not name
    ``identity_blocks`` (before it was an option, ``q_init: identity`` built the mirror
    layers): ``True`` for ``identity``, ``False`` for any other; ``None`` when the options
    name ``identity_blocks`` or no ``q_init``."""
    if "identity_blocks" in saved or saved.get("q_init") is None:
        return None
    return saved["q_init"] == "identity"
