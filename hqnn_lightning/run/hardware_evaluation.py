"""Evaluating a trained checkpoint on a noisy simulator or a real QPU, resumably.

The workflow (``experiments/run.py --evaluate CHECKPOINT --q-device NAME --shots N``):
the checkpoint is loaded with its quantum layers on the named device; its cost (circuits,
shots) is printed and confirmed; then the test set is evaluated batch by batch. Each finished
batch is appended to ``predictions.jsonl`` in the evaluation's directory and flushed to disk
before the next one is submitted, so a run that stops (a crash, Ctrl-C, a lost connection)
resumes at the first unfinished batch: no finished batch is submitted again. On a device that
records its jobs (`hqnn_lightning.quantum.jobs`), each job's id is written to
``jobs/batch-NNNNN.json`` before it is waited on, and a retry or a restart fetches the
recorded jobs instead of paying for them again. A batch whose job times out or fails at the
provider is retried with exponential backoff; an error a retry cannot fix (`is_transient`)
stops at once. The summary (accuracy, circuits, shots) is written to ``results.json`` when
every batch is done.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import lightning as L
import torch
from torch import nn

from hqnn_lightning.models import MODELS
from hqnn_lightning.models.metrics import classification_metrics
from hqnn_lightning.quantum import (
    KNOWN_DEVICES,
    QuanvolutionLayer,
    TorchStatevectorLayer,
    make_device,
)
from hqnn_lightning.quantum.devices import TORCH_DEVICE
from hqnn_lightning.quantum.jobs import JobJournal, is_transient
from hqnn_lightning.utils.files import write_text_atomically

PREDICTIONS_FILE = "predictions.jsonl"
META_FILE = "evaluation.json"
RESULTS_FILE = "results.json"
JOBS_DIR = "jobs"
"""Holds each batch's `JobJournal`, ``batch-NNNNN.json``: the ids of the jobs it submitted."""
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How failed jobs are retried: after ``initial_delay * backoff**k`` seconds (at most
    ``max_delay``) for the k-th retry, up to ``max_retries`` retries.

    Args:
        max_retries: Retries after the first attempt (0: none).
        initial_delay: Seconds before the first retry.
        backoff: Factor between consecutive delays.
        max_delay: Longest wait, seconds.
        sleep: Waits the given seconds (``time.sleep``; tests pass a recorder).
    """

    max_retries: int = 3
    initial_delay: float = 10.0
    backoff: float = 2.0
    max_delay: float = 600.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (0-based)."""
        return min(self.initial_delay * self.backoff**retry, self.max_delay)


class JobFailedError(RuntimeError):
    """A batch failed on every attempt, or with an error a retry cannot fix; the finished
    batches are saved."""


def call_with_retries(
    job: Callable[[], T],
    policy: RetryPolicy,
    name: str,
    log: Callable[[str], None] = print,
    retryable: Callable[[BaseException], bool] = is_transient,
) -> tuple[T, int]:
    """Runs ``job`` until it succeeds, retrying an ``Exception`` that ``retryable`` accepts
    (a timed-out job, a lost connection, throttling) after the policy's delays; any other
    error, ``KeyboardInterrupt`` and other ``BaseException``\\ s stop at once.

    Returns:
        ``(result, attempts)``.

    Raises:
        JobFailedError: every attempt failed, or one failed with an error ``retryable``
            refuses; one line, chained to the error.
    """
    for attempt in range(policy.max_retries + 1):
        try:
            return job(), attempt + 1
        except Exception as error:
            reason = f"{type(error).__name__}: {' '.join(str(error).split())}"
            if not retryable(error):
                raise JobFailedError(
                    f"{name} failed and was not retried, since a retry cannot fix {reason}"
                ) from error
            if attempt == policy.max_retries:
                raise JobFailedError(
                    f"{name} failed {attempt + 1} times; last error: {reason}"
                ) from error
            delay = policy.delay(attempt)
            log(f"{name} failed ({reason}); retrying in {delay:.0f} s")
            policy.sleep(delay)
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class EvaluationPlan:
    """What an evaluation will submit.

    Args:
        samples: Test samples in all.
        batches: Batches in all.
        done_batches: Batches finished by an earlier, interrupted run.
        remaining_samples: Samples of the batches still to run.
        circuits_per_sample: Circuit executions one sample needs (one per head of a hybrid,
            one per patch and channel of a quanvolution).
        shots: Shots per circuit (``None``: exact simulation).
    """

    samples: int
    batches: int
    done_batches: int
    remaining_samples: int
    circuits_per_sample: int
    shots: int | None

    @property
    def circuits(self) -> int:
        """Circuit executions still to run."""
        return self.remaining_samples * self.circuits_per_sample

    @property
    def total_shots(self) -> int | None:
        """Shots still to run, ``None`` for an exact simulation."""
        return None if self.shots is None else self.circuits * self.shots

    def describe(self, device: str) -> str:
        """One paragraph for the confirmation prompt."""
        shots = "exact" if self.shots is None else f"{self.shots:,} shots per circuit"
        total = "" if self.total_shots is None else f", {self.total_shots:,} shots in total"
        resumed = (
            f" ({self.done_batches} of {self.batches} batches done earlier)"
            if self.done_batches
            else ""
        )
        info = KNOWN_DEVICES.get(device)
        remote = ""
        if info is not None and info.remote:
            remote = "; sent to a cloud service (queued, possibly billed)"
            if not info.recorded_jobs:
                remote += (
                    "; its plugin does not expose job ids, so a batch retried after a client "
                    "timeout is submitted and billed again"
                )
        return (
            f"{device}: {self.batches - self.done_batches} batches{resumed}, "
            f"{self.remaining_samples:,} test samples x {self.circuits_per_sample:,} circuits "
            f"= {self.circuits:,} circuit executions, {shots}{total}{remote}"
        )


def confirm_on_terminal(message: str, assume_yes: bool) -> bool:
    """Asks ``message`` on the terminal; ``assume_yes`` (``--yes``) answers for the user.

    Raises:
        PermissionError: no terminal to ask on (stdin is not one, or ``CI`` is set) and no
            ``assume_yes``: nothing is submitted without consent.
    """
    print(message)
    if assume_yes:
        return True
    if not sys.stdin.isatty() or os.environ.get("CI"):
        raise PermissionError(
            "refusing to submit without confirmation: stdin is not a terminal; "
            "rerun with --yes to accept the cost above"
        )
    return input("Submit? [y/N] ").strip().lower() in {"y", "yes"}


def count_circuits(model: nn.Module, inputs: torch.Tensor) -> int:
    """Circuit executions ``model(inputs)`` needs, counted on the model's exact ``torch``
    layers: the rows each `TorchStatevectorLayer` receives and the patches each
    `QuanvolutionLayer` cuts. ``inputs`` is one batch, ``(B, C, H, W)``."""
    counts = []

    def statevector_rows(module: TorchStatevectorLayer, args: tuple[torch.Tensor]) -> None:
        counts.append(args[0].numel() // module.circuit.n_qubits)

    def patches(module: QuanvolutionLayer, args: tuple[torch.Tensor]) -> None:
        batch, channels, height, width = args[0].shape
        counts.append(batch * channels * module.output_size(height) * module.output_size(width))

    hooks = [
        module.register_forward_pre_hook(statevector_rows)
        if isinstance(module, TorchStatevectorLayer)
        else module.register_forward_pre_hook(patches)
        for module in model.modules()
        if isinstance(module, TorchStatevectorLayer | QuanvolutionLayer)
    ]
    try:
        with torch.no_grad():
            model(inputs)
    finally:
        for hook in hooks:
            hook.remove()
    return sum(counts)


def load_on_device(
    checkpoint: str | Path, model_name: str, **quantum_options: Any
) -> L.LightningModule:
    """Loads ``checkpoint`` of the registered model ``model_name`` with its quantum layers on
    another device (``q_device``, ``shots``, ``q_diff_method``, ``q_device_options``); the
    weights are the checkpoint's.

    Raises:
        ValueError: the model has no quantum layer.
    """
    model_type = MODELS.get(model_name)
    accepted = set(inspect.signature(model_type.__init__).parameters)
    if "q_device" not in accepted:
        raise ValueError(f"model {model_name!r} has no quantum layer to run on a device")
    overrides = {key: value for key, value in quantum_options.items() if key in accepted}
    model = model_type.load_from_checkpoint(checkpoint, map_location="cpu", **overrides)
    return model.eval()


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

    def key(self) -> str:
        """A short hash of the settings, for the directory's name."""
        text = json.dumps(asdict(self), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:8]


def default_evaluation_dir(checkpoint: Path, settings: EvaluationSettings) -> Path:
    """``<run>/evaluations/<device>-shots<N>-<key>`` for ``<run>/checkpoints/<name>.ckpt``."""
    shots = "exact" if settings.shots is None else f"shots{settings.shots}"
    return checkpoint.parent.parent / "evaluations" / f"{settings.device}-{shots}-{settings.key()}"


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


def _append_record(path: Path, record: dict[str, Any]) -> None:
    with path.open("a") as handle:
        handle.write(json.dumps(record) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def summarize(records: Iterable[dict[str, Any]], num_classes: int) -> dict[str, Any]:
    """The recorded logits' test metrics, as training reports them (`classification_metrics`:
    top-1, top-5 clipped to the classes, macro F1), and the number of samples."""
    logits = torch.tensor([row for record in records for row in record["logits"]])
    labels = torch.tensor([label for record in records for label in record["labels"]])
    metrics = classification_metrics(num_classes, prefix="test/")(logits, labels)
    return {"samples": len(labels), **{key: value.item() for key, value in metrics.items()}}


def evaluate_checkpoint(
    checkpoint: str | Path,
    model_name: str,
    datamodule: L.LightningDataModule,
    device: str,
    shots: int | None,
    diff_method: str | None = None,
    device_options: dict[str, Any] | None = None,
    output_dir: str | Path | None = None,
    confirm: Callable[[str], bool] = lambda message: confirm_on_terminal(message, False),
    retry: RetryPolicy | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Evaluates the test set of ``datamodule`` with ``checkpoint``'s weights and its quantum
    layers on ``device``, batch by batch, resuming an interrupted evaluation.

    Args:
        checkpoint: A Lightning checkpoint of the registered model ``model_name``.
        model_name: Registered model name (the run's ``--model``).
        datamodule: The run's DataModule; its test loader gives the batches (in a fixed
            order, which the resumed run checks through the batch's labels).
        device: Quantum device name (see ``docs/devices.md``).
        shots: Shots per circuit; ``None`` for an exact simulation.
        diff_method: Overrides the device's diff method.
        device_options: The device's options (noise, fake backend, ARN, ...).
        output_dir: Where ``predictions.jsonl``, ``evaluation.json`` and ``results.json`` go;
            default ``<run>/evaluations/<device>-shots<N>-<key>``.
        confirm: Shown the cost (`EvaluationPlan.describe`); submits only if it returns
            ``True``.
        retry: How failed batches are retried (default `RetryPolicy`); the jobs a failed
            attempt recorded are fetched, not submitted again.
        log: Where progress messages go.

    Returns:
        The summary written to ``results.json``: accuracies, samples, circuits and shots,
        device, and the directory; ``{"cancelled": True, ...}`` if not confirmed.

    Raises:
        FileExistsError: ``output_dir`` holds an evaluation with other settings.
        JobFailedError: a batch failed on every retry, or with an error a retry cannot fix
            (finished batches are kept).
        ValueError: an invalid device or option, or a test set whose order changed.
    """
    checkpoint = Path(checkpoint)
    device_options = dict(device_options or {})
    retry = retry or RetryPolicy()
    make_device(device, 1, shots, diff_method, **device_options)  # fail before any loading
    datamodule.setup("test")
    loader = datamodule.test_dataloader()
    settings = EvaluationSettings(
        checkpoint=str(checkpoint.resolve()),
        checkpoint_sha256=_sha256(checkpoint),
        model=model_name,
        device=device,
        shots=shots,
        diff_method=diff_method,
        device_options=device_options,
        samples=len(loader.dataset),
        batch_size=loader.batch_size,
    )
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
    predictions = out / PREDICTIONS_FILE
    finished = read_finished_batches(predictions)

    exact = load_on_device(
        checkpoint,
        model_name,
        q_device=TORCH_DEVICE,
        shots=None,
        q_diff_method=None,
        q_device_options=None,
    )
    first_images, _ = next(iter(loader))
    circuits_per_sample = math.ceil(count_circuits(exact, first_images) / len(first_images))
    batches = len(loader)
    remaining = settings.samples - sum(len(record["labels"]) for record in finished.values())
    plan = EvaluationPlan(
        settings.samples, batches, len(finished), remaining, circuits_per_sample, shots
    )
    summary = {"device": device, "shots": shots, "eval_dir": str(out)}
    if plan.remaining_samples and not confirm(plan.describe(device)):
        log("Not submitted.")
        return {**summary, "cancelled": True}

    model = load_on_device(
        checkpoint,
        model_name,
        q_device=device,
        shots=shots,
        q_diff_method=diff_method,
        q_device_options=device_options or None,
    )
    for index, (images, labels) in enumerate(loader):
        if index in finished:
            if finished[index]["labels"] != labels.tolist():
                raise ValueError(
                    f"batch {index} of the test set differs from the one in {predictions}: "
                    "the data or its order changed since the evaluation started"
                )
            continue
        start = time.perf_counter()
        journal = out / JOBS_DIR / f"batch-{index:05d}.json"

        def run_batch(images: torch.Tensor = images, journal: Path = journal) -> torch.Tensor:
            with JobJournal(journal), torch.no_grad():
                return model(images)

        logits, attempts = call_with_retries(run_batch, retry, f"batch {index + 1}/{batches}", log)
        record = {
            "batch": index,
            "labels": labels.tolist(),
            "logits": logits.float().tolist(),
            "predictions": logits.argmax(dim=1).tolist(),
            "attempts": attempts,
            "seconds": round(time.perf_counter() - start, 3),
        }
        _append_record(predictions, record)
        finished[index] = record
        log(f"batch {index + 1}/{batches} done ({attempts} attempt(s))")

    records = [finished[index] for index in sorted(finished)]
    summary.update(summarize(records, datamodule.num_classes))
    summary.update(
        circuits=settings.samples * circuits_per_sample,
        total_shots=None if shots is None else settings.samples * circuits_per_sample * shots,
        checkpoint=settings.checkpoint,
        remote=KNOWN_DEVICES[device].remote,
    )
    write_text_atomically(out / RESULTS_FILE, json.dumps(summary, indent=2))
    return summary
