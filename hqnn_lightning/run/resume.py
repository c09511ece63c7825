"""``experiments/run.py --resume PATH|last``: find the checkpoint and the run it continues.

A run directory (``runs/<model>-<data>-seed<seed>-<time>/``) holds everything a resumed run
needs: ``config.yaml`` (the options it was started with), ``checkpoints/last.ckpt`` (weights,
optimizer and scheduler state, loop progress, where the epoch's shuffled order stands, the
random number generators, the metrics logged so far) and, for W&B, ``wandb_run_id``. A frozen
pretrained backbone is not in the checkpoint but built again from the options, and checked
against the fingerprint the checkpoint holds in its place (`hqnn_lightning.models.frozen_state`).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import lightning as L
import yaml
from jsonargparse import ArgumentError, Namespace
from torch import nn

from hqnn_lightning.models.checkpoint_file import check_checkpoint
from hqnn_lightning.run.callbacks import relocate_checkpoint_state
from hqnn_lightning.run.dataset_record import DATASET_FILE, check_dataset_record
from hqnn_lightning.run.loggers import new_wandb_run_id
from hqnn_lightning.run.options import RunnerParser, resolved_options
from hqnn_lightning.run.provenance import ENVIRONMENT_FILE
from hqnn_lightning.run.recipe import describe
from hqnn_lightning.run.resumption import (
    CONFIG_FILE,
    LAST,
    Resumption,
    find_resumption,
    last_candidates,
    run_prefix,
)
from hqnn_lightning.run.saved_options import parse_saved_options
from hqnn_lightning.utils.errors import first_line
from hqnn_lightning.utils.files import read_json_object, write_text_atomically

WANDB_ID_FILE = "wandb_run_id"
WANDB_RUN_ID = re.compile(r"[A-Za-z0-9_-]+")


def resumed_config(
    parser: RunnerParser, argv: Sequence[str], config: Namespace
) -> tuple[Namespace, Resumption]:
    """The options of the run that ``config.resume`` continues, and where it continues from.

    The run's ``config.yaml`` gives every option. Options are compared resolved
    (`resolved_options`: defaults included), except those that describe the machine
    (`resumable_options`), which a resumed run may change. ``--resume last`` takes the newest
    run of the command's model, data and seed whose options are all the command's; a run
    directory or checkpoint named on the command line must agree with the options the command
    line gives. The run's files are checked too (`check_run_files`).

    Args:
        parser: The runner's parser.
        argv: The command line, ``--resume`` included.
        config: ``argv`` parsed; for ``--resume last``, its model, data, seed and output
            directory select the run.

    Raises:
        FileNotFoundError: nothing to resume (see `find_resumption`).
        ValueError: no run has the command's options, an option on the command line differs
            from the run's ``config.yaml``, or a run file is truncated or corrupt; the message
            says which.
    """
    if config.resume == LAST:
        resumption = _same_run(parser, argv, config)
    else:
        resumption = find_resumption(config.resume, config.output_dir, run_prefix(config))
    saved = read_run_config(parser, resumption.run_dir)
    merged = parse_saved_options(parser, resumption.run_dir / CONFIG_FILE, argv)
    changed = _differences(resolved_options(merged), resolved_options(saved))
    if changed:
        raise ValueError(
            f"--resume continues {resumption.run_dir} with the options of its config.yaml; "
            f"the command line changes {', '.join(changed)}. Drop those options, or start a "
            "new run"
        )
    check_run_files(resumption.run_dir)
    merged.output_dir = str(resumption.run_dir.parent)
    return merged, resumption


def _same_run(parser: RunnerParser, argv: Sequence[str], config: Namespace) -> Resumption:
    """The newest of `last_candidates` whose resolved options are ``config``'s, or those of
    ``argv`` without the dataset's model defaults (`options.with_data_defaults`): a run
    started before they existed, whose unset ``arch`` built the model's own."""
    prefix = run_prefix(config)
    wanted = [resolved_options(config)]
    wanted.append(resolved_options(parser.parse_args(argv, data_defaults=False)))
    closest: tuple[Resumption, list[str]] | None = None
    for candidate in last_candidates(config.output_dir, prefix):
        saved = resolved_options(read_run_config(parser, candidate.run_dir))
        differing = min((_differences(command, saved) for command in wanted), key=len)
        if not differing:
            return candidate
        if closest is None or len(differing) < len(closest[1]):
            closest = (candidate, differing)
    candidate, differing = closest
    raise ValueError(
        f"--resume last: no run directory {Path(config.output_dir) / prefix}* was started "
        f"with this command's options (defaults included); the closest, "
        f"{candidate.run_dir.name}, differs in {', '.join(differing)}. Give the options it "
        "was started with, or pass its directory to --resume"
    )


def _differences(command: dict[str, Any], run: dict[str, Any]) -> list[str]:
    """``["lr=0.01 (run: 0.001)", ...]``: the options whose values differ. An option in
    ``class_path``/``init_args`` form (``--optimizer``) whose class differs is one entry,
    ``optimizer='torch.optim.Adam' (run: 'torch.optim.SGD')``; with the same class, each
    argument that differs is one (``optimizer.init_args.momentum=0.5 (run: 0.9)``)."""
    keys = [key for key in sorted(command.keys() | run.keys()) if command.get(key) != run.get(key)]
    replaced = {
        key.split(".")[0]
        for key in keys
        if "." in key and _class_path(command, key) != _class_path(run, key)
    }
    shown = [
        f"{name}={_class_path(command, name)!r} (run: {_class_path(run, name)!r})"
        for name in sorted(replaced)
    ]
    return shown + [
        f"{key}={_shown(command.get(key))} (run: {_shown(run.get(key))})"
        for key in keys
        if key.split(".")[0] not in replaced
    ]


def _shown(value: Any) -> str:
    """``value`` in a message: ``--callbacks``' list by class (`recipe.describe`), any other
    value as its ``repr``."""
    return describe(value) if isinstance(value, list) else repr(value)


def _class_path(options: dict[str, Any], key: str) -> str | None:
    """The class of the ``class_path``/``init_args`` option that ``key`` is in, ``None``
    when the option is unset."""
    return options.get(key.split(".")[0] + ".class_path")


def read_run_config(parser: RunnerParser, run_dir: Path) -> Namespace:
    """The options in ``run_dir/config.yaml``, parsed.

    Raises:
        ValueError: the file is truncated or corrupt (not YAML, not options, not ending with
            the line break the runner writes); the message names it.
    """
    path = run_dir / CONFIG_FILE
    try:
        text = path.read_text()
        values = yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise ValueError(f"{path} is truncated or corrupt: {first_line(error)}") from None
    if not isinstance(values, dict) or not {"model", "data"} <= values.keys():
        raise ValueError(f"{path} is truncated or corrupt: it names no model and data")
    if not text.endswith("\n"):
        raise ValueError(f"{path} is truncated: it ends in the middle of a line")
    exit_on_error, parser.exit_on_error = parser.exit_on_error, False
    try:
        return parse_saved_options(parser, path)
    except ArgumentError as error:
        raise ValueError(f"{path} is corrupt: {first_line(error)}") from None
    finally:
        parser.exit_on_error = exit_on_error


def check_run_files(run_dir: Path) -> None:
    """Checks the files a resumed run reads besides its options and checkpoint:
    ``environment.json``, ``dataset.json`` and ``wandb_run_id``, where they exist.

    Raises:
        ValueError: one is truncated or corrupt; the message names it.
    """
    for name in (ENVIRONMENT_FILE, DATASET_FILE):
        if (run_dir / name).is_file():
            read_json_object(run_dir / name)
    if (run_dir / WANDB_ID_FILE).is_file():
        read_wandb_run_id(run_dir / WANDB_ID_FILE)


def check_resumption(
    resumption: Resumption, datamodule: L.LightningDataModule, model: nn.Module
) -> None:
    """Checks, before anything trains, that the run ``resumption`` continues can continue with
    ``datamodule`` and ``model``: the same data (`check_dataset_record`), and checkpoints that
    are the library's and hold ``model``'s weights (`check_checkpoint`): ``last.ckpt``, and
    the best checkpoint it names, which the run tests at its end.

    Raises:
        ValueError: they do not fit; the message says why.
    """
    check_dataset_record(resumption.run_dir, datamodule)
    checkpoint = check_checkpoint(resumption.checkpoint, model)
    best = best_checkpoint_path(checkpoint, resumption.run_dir / "checkpoints")
    if best is not None and best.is_file() and best != resumption.checkpoint:
        check_checkpoint(best, model)


def wandb_run_id(run_dir: Path) -> str:
    """The W&B run id of ``run_dir``: read from its ``wandb_run_id`` file, or made and written
    there, so that a resumed run logs into the same W&B run."""
    path = run_dir / WANDB_ID_FILE
    if path.is_file():
        return read_wandb_run_id(path)
    return record_wandb_run_id(run_dir, new_wandb_run_id())


def record_wandb_run_id(run_dir: Path, run_id: str) -> str:
    """Writes ``run_id`` as ``run_dir``'s W&B run id, the one ``--resume`` continues."""
    write_text_atomically(run_dir / WANDB_ID_FILE, run_id + "\n")
    return run_id


def read_wandb_run_id(path: Path) -> str:
    """The W&B run id in the file ``path``.

    Raises:
        ValueError: it holds no run id (empty, truncated, corrupt); the message names it.
    """
    try:
        run_id = path.read_text().strip()
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"{path} cannot be read: {first_line(error)}") from None
    if not WANDB_RUN_ID.fullmatch(run_id):
        raise ValueError(
            f"{path} is corrupt: it holds {run_id[:40]!r}, not a W&B run id (letters, digits, "
            "- and _)"
        )
    return run_id


LIGHTNING_RESUME_WARNINGS = (
    # The train DataModules record where the epoch stands (ResumableTrainOrder).
    "You're resuming from a checkpoint that ended before the epoch ended",
    # CSVMetricsCheckpoint writes the checkpoint's rows back.
    "Experiment logs directory .* exists and is not empty",
    "Checkpoint directory .* exists and is not empty",
)


@contextmanager
def resume_warnings_silenced(resuming: bool) -> Iterator[None]:
    """Silences, while ``resuming``, the warnings Lightning gives about resuming that the
    library's checkpoints make moot (`LIGHTNING_RESUME_WARNINGS`)."""
    with warnings.catch_warnings():
        if resuming:
            for message in LIGHTNING_RESUME_WARNINGS:
                warnings.filterwarnings("ignore", message=message)
        yield


def best_checkpoint_path(checkpoint: dict[str, Any], dirpath: Path) -> Path | None:
    """The best checkpoint that the best-model `ModelCheckpoint`'s state in ``checkpoint``
    names, relocated into ``dirpath`` (`relocate_checkpoint_state`); ``None`` before any."""
    for state in checkpoint.get("callbacks", {}).values():
        # The step and epoch checkpoints that write last.ckpt monitor nothing.
        if isinstance(state, dict) and "dirpath" in state and state.get("monitor"):
            path = relocate_checkpoint_state(dict(state), dirpath)["best_model_path"]
            return Path(path) if path else None
    return None
