"""The evaluation's directory, which makes it resumable: ``evaluation.json`` (the settings
that make two evaluations the same one), ``predictions.jsonl`` (one line per finished batch,
flushed to disk before the next batch is submitted), ``jobs/`` (each batch's `JobJournal`)
and, once every batch is done, ``results.json``."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from torch.utils.data import DataLoader

from hqnn_lightning.utils.files import write_text_atomically

PREDICTIONS_FILE = "predictions.jsonl"
META_FILE = "evaluation.json"
RESULTS_FILE = "results.json"
JOBS_DIR = "jobs"
"""Holds each batch's `JobJournal`, ``batch-NNNNN.json``: the ids of the jobs it submitted."""


@dataclass(frozen=True)
class EvaluationSettings:
    """Everything that makes two evaluations the same one (so one may resume the other).

    Args:
        checkpoint: The checkpoint's path.
        checkpoint_sha256: Its contents' hash.
        model: Registered model name.
        device: Quantum device name.
        shots: Shots per circuit.
        diff_method: The device's diff method (unused without gradients, recorded).
        device_options: The device's options.
        samples: Test samples.
        batch_size: Samples per batch.
    """

    checkpoint: str
    checkpoint_sha256: str
    model: str
    device: str
    shots: int | None
    diff_method: str | None
    device_options: dict[str, Any]
    samples: int
    batch_size: int

    @classmethod
    def of(
        cls,
        checkpoint: str | Path,
        model: str,
        device: str,
        shots: int | None,
        diff_method: str | None,
        device_options: dict[str, Any],
        loader: DataLoader,
    ) -> EvaluationSettings:
        """The settings of evaluating ``checkpoint`` (hashed here) on ``loader``'s batches."""
        return cls(
            checkpoint=str(Path(checkpoint).resolve()),
            checkpoint_sha256=file_sha256(Path(checkpoint)),
            model=model,
            device=device,
            shots=shots,
            diff_method=diff_method,
            device_options=device_options,
            samples=len(loader.dataset),
            batch_size=loader.batch_size,
        )

    def key(self) -> str:
        """A short hash of the settings, for the directory's name."""
        text = json.dumps(asdict(self), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:8]


def default_evaluation_dir(checkpoint: Path, settings: EvaluationSettings) -> Path:
    """``<run>/evaluations/<device>-shots<N>-<key>`` for ``<run>/checkpoints/<name>.ckpt``."""
    shots = "exact" if settings.shots is None else f"shots{settings.shots}"
    return checkpoint.parent.parent / "evaluations" / f"{settings.device}-{shots}-{settings.key()}"


def open_evaluation_dir(output_dir: str | Path | None, settings: EvaluationSettings) -> Path:
    """Creates the evaluation's directory (``output_dir``, default `default_evaluation_dir`)
    and records ``settings`` in it, or checks them against those an earlier run recorded.

    Raises:
        FileExistsError: the directory holds an evaluation with other settings.
    """
    checkpoint = Path(settings.checkpoint)
    out = Path(output_dir) if output_dir else default_evaluation_dir(checkpoint, settings)
    out.mkdir(parents=True, exist_ok=True)
    meta_path = out / META_FILE
    settings_json = json.loads(json.dumps(asdict(settings), default=str))
    if meta_path.is_file() and json.loads(meta_path.read_text()) != settings_json:
        raise FileExistsError(
            f"{out} holds an evaluation with other settings ({meta_path}); "
            "choose another --eval-dir or delete it"
        )
    write_text_atomically(meta_path, json.dumps(settings_json, indent=2))
    return out


def read_finished_batches(path: Path) -> dict[int, dict[str, Any]]:
    """The batches recorded in a ``predictions.jsonl``, by index. A last line cut short by a
    crash is dropped (its batch runs again), and the file truncated after the last whole
    line."""
    if not path.is_file():
        return {}
    finished: dict[int, dict[str, Any]] = {}
    good_bytes = 0
    with path.open("rb") as lines:
        for line in lines:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                break
            if not line.endswith(b"\n"):
                break
            finished[record["batch"]] = record
            good_bytes += len(line)
    if good_bytes != path.stat().st_size:
        with path.open("r+b") as handle:
            handle.truncate(good_bytes)
    return finished


def append_record(path: Path, record: dict[str, Any]) -> None:
    """Appends one finished batch to ``predictions.jsonl``, on disk before it returns.

    Raises:
        OSError: writing failed (a full disk), with ``filename`` set to ``path``; a line cut
            short is dropped by `read_finished_batches`.
    """
    try:
        with path.open("a") as handle:
            handle.write(json.dumps(record) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as error:
        raise OSError(error.errno, error.strerror, str(path)) from error


def file_sha256(path: Path) -> str:
    """The SHA-256 of the file's contents, read 1 MiB at a time."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
