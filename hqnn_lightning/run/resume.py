"""``experiments/run.py --resume PATH|last``: find the checkpoint and the run it continues.

A run directory (``runs/<model>-<data>-seed<seed>-<time>/``) holds everything a resumed run
needs: ``config.yaml`` (the options it was started with), ``checkpoints/last.ckpt`` (weights,
optimizer and scheduler state, loop progress, where the epoch's shuffled order stands, the
random number generators, the metrics logged so far) and, for W&B, ``wandb_run_id``.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from jsonargparse import ArgumentParser, Namespace
from torch import nn

from hqnn_lightning.models.base import ImageClassifier
from hqnn_lightning.run.loggers import new_wandb_run_id
from hqnn_lightning.run.options import resumable_options
from hqnn_lightning.utils.files import write_text_atomically

LAST = "last"
LAST_CHECKPOINT = Path("checkpoints") / "last.ckpt"
WANDB_ID_FILE = "wandb_run_id"


@dataclass(frozen=True)
class Resumption:
    """A run to continue.

    Args:
        run_dir: The run's directory; the resumed run writes into it.
        checkpoint: The checkpoint ``trainer.fit`` starts from.
    """

    run_dir: Path
    checkpoint: Path


def find_resumption(resume: str, output_dir: str | Path, run_prefix: str) -> Resumption:
    """The run and checkpoint that ``--resume`` names.

    Args:
        resume: ``"last"``, a run directory, or a checkpoint file inside a run directory's
            ``checkpoints/``.
        output_dir: Where ``"last"`` looks for run directories.
        run_prefix: ``"<model>-<data>-seed<seed>-"``: ``"last"`` takes, among the directories
            whose name starts with it and that hold ``checkpoints/last.ckpt``, the one whose
            ``last.ckpt`` was written most recently.

    Raises:
        FileNotFoundError: nothing to resume there; the message says what was looked for.
    """
    if resume == LAST:
        candidates = [
            path / LAST_CHECKPOINT
            for path in Path(output_dir).glob(f"{run_prefix}*")
            if (path / LAST_CHECKPOINT).is_file()
        ]
        if not candidates:
            raise FileNotFoundError(
                f"--resume last: no run directory {Path(output_dir) / run_prefix}* holds "
                f"{LAST_CHECKPOINT}; pass the run directory or checkpoint to resume"
            )
        checkpoint = max(candidates, key=lambda path: path.stat().st_mtime_ns)
        return Resumption(checkpoint.parents[1], checkpoint)
    path = Path(resume)
    if path.is_dir():
        checkpoint = path / LAST_CHECKPOINT
        if not checkpoint.is_file():
            raise FileNotFoundError(
                f"--resume {resume}: the run directory has no {LAST_CHECKPOINT}"
            )
        return Resumption(path, checkpoint)
    if path.is_file():
        run_dir = path.resolve().parents[1]
        if not (run_dir / "config.yaml").is_file():
            raise FileNotFoundError(
                f"--resume {resume}: the checkpoint is not in a run directory's checkpoints/ "
                "(no config.yaml beside it); to train from its weights elsewhere, load them "
                "with the model's load_from_checkpoint"
            )
        return Resumption(run_dir, path)
    raise FileNotFoundError(f"--resume {resume}: no such run directory or checkpoint file")


def resumed_config(
    parser: ArgumentParser, argv: Sequence[str], config: Namespace
) -> tuple[Namespace, Resumption]:
    """The options of the run that ``config.resume`` continues, and where it continues from.

    The run's ``config.yaml`` gives every option; options on the command line must agree with
    it, except those that describe the machine (`resumable_options`), which it may change.

    Args:
        parser: The runner's parser.
        argv: The command line, ``--resume`` included.
        config: ``argv`` parsed; for ``--resume last``, its model, data, seed and output
            directory select the run.

    Raises:
        FileNotFoundError: nothing to resume (see `find_resumption`).
        ValueError: an option on the command line differs from the run's ``config.yaml``.
    """
    prefix = f"{config.model}-{config.data}-seed{config.seed}-"
    resumption = find_resumption(config.resume, config.output_dir, prefix)
    saved_path = resumption.run_dir / "config.yaml"
    saved = parser.parse_args(["--config", str(saved_path)])
    merged = parser.parse_args(["--config", str(saved_path), *argv])
    changeable = resumable_options()
    changed = [
        key
        for key in saved.keys()  # noqa: SIM118 (a Namespace's keys() flattens nested ones)
        if key.split(".")[0] not in changeable and saved[key] != merged[key]
    ]
    if changed:
        differences = ", ".join(f"{key}={merged[key]!r} (run: {saved[key]!r})" for key in changed)
        raise ValueError(
            f"--resume continues {resumption.run_dir} with the options of its config.yaml; "
            f"the command line changes {differences}. Drop those options, or start a new run"
        )
    merged.output_dir = str(resumption.run_dir.parent)
    return merged, resumption


def check_checkpoint(path: str | Path, model: nn.Module) -> dict[str, Any]:
    """Loads the Lightning checkpoint ``path`` (on the CPU) and checks it fits ``model``.

    Returns:
        The checkpoint.

    Raises:
        ValueError: the file is not a checkpoint, or its weights are not ``model``'s (missing
            or extra names, other shapes); the message says which.
    """
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:  # torch raises several types for a file that is no checkpoint
        raise ValueError(f"{path} is not a readable checkpoint: {error}") from None
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise ValueError(f"{path} is not a Lightning checkpoint (no state_dict)")
    if isinstance(model, ImageClassifier):
        try:
            model.check_checkpoint_fits(checkpoint)
        except ValueError as error:
            raise ValueError(f"{path}: {error}") from None
    expected = model.state_dict()
    saved = checkpoint["state_dict"]
    missing = sorted(set(expected) - set(saved))
    extra = sorted(set(saved) - set(expected))
    if missing or extra:
        raise ValueError(
            f"{path} holds another model than the {type(model).__name__} this run builds: "
            f"{_names('missing', missing)}{'; ' if missing and extra else ''}"
            f"{_names('unexpected', extra)}"
        )
    parameters = dict(model.named_parameters())
    reshaped = [
        f"{name} {tuple(saved[name].shape)} (model: {tuple(value.shape)})"
        # Weights first: a metric's state changes shape with them.
        for name, value in sorted(expected.items(), key=lambda item: item[0] not in parameters)
        if tuple(saved[name].shape) != tuple(value.shape)
    ]
    if reshaped:
        raise ValueError(
            f"{path} holds weights of other shapes than the {type(model).__name__} this run "
            f"builds: {', '.join(reshaped[:5])}"
        )
    return checkpoint


def wandb_run_id(run_dir: Path) -> str:
    """The W&B run id of ``run_dir``: read from its ``wandb_run_id`` file, or made and written
    there, so that a resumed run logs into the same W&B run."""
    path = run_dir / WANDB_ID_FILE
    if path.is_file():
        return path.read_text().strip()
    return record_wandb_run_id(run_dir, new_wandb_run_id())


def record_wandb_run_id(run_dir: Path, run_id: str) -> str:
    """Writes ``run_id`` as ``run_dir``'s W&B run id, the one ``--resume`` continues."""
    write_text_atomically(run_dir / WANDB_ID_FILE, run_id + "\n")
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


def _names(kind: str, names: list[str]) -> str:
    if not names:
        return ""
    shown = ", ".join(names[:5])
    return f"{kind} {shown}" + (f" and {len(names) - 5} more" if len(names) > 5 else "")
