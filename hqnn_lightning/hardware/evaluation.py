"""Evaluating a trained checkpoint on a noisy simulator or a real QPU, resumably.

The workflow (``experiments/run.py --evaluate CHECKPOINT --q-device NAME --shots N``): the
checkpoint is loaded once; its cost (circuits, shots), counted on its quantum modules
(`count_circuits`), is printed and confirmed (`plan`); then each quantum module moves to the
named device (`placement`) and the test set is evaluated batch by batch. Each finished batch
is appended to ``predictions.jsonl`` and flushed to disk before the next one is submitted
(`journal`), so a run that stops (a crash, Ctrl-C, a lost connection) resumes at the first
unfinished batch: no finished batch is submitted again. On a device that records its jobs
(`hqnn_lightning.hardware.jobs`), each job's id is written to ``jobs/batch-NNNNN.json`` before
it is waited on, and a retry or a restart fetches the recorded jobs instead of paying for them
again. A batch whose job times out or fails at the provider is retried with exponential
backoff (`retries`); an error a retry cannot fix stops at once. The summary (accuracy,
circuits, shots) is written to ``results.json`` when every batch is done.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch import nn
from torch.utils.data import DataLoader

from hqnn_lightning.hardware.jobs import JobJournal
from hqnn_lightning.hardware.journal import (
    JOBS_DIR,
    PREDICTIONS_FILE,
    RESULTS_FILE,
    EvaluationSettings,
    append_record,
    open_evaluation_dir,
    read_finished_batches,
)
from hqnn_lightning.hardware.placement import count_circuits, load_checkpoint, move_to_device
from hqnn_lightning.hardware.plan import EvaluationPlan, confirm_on_terminal
from hqnn_lightning.hardware.retries import RetryPolicy, call_with_retries
from hqnn_lightning.models.metrics import classification_metrics
from hqnn_lightning.quantum import KNOWN_DEVICES, make_device
from hqnn_lightning.utils.files import write_text_atomically


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
    modules on ``device``, batch by batch, resuming an interrupted evaluation.

    Args:
        checkpoint: A Lightning checkpoint of the model ``model_name``.
        model_name: Registered model name (the run's ``--model``).
        datamodule: The run's DataModule; its test loader gives the batches (in a fixed
            order, which the resumed run checks through the batch's labels).
        device: Quantum device name (see ``docs/devices.md``).
        shots: Shots per circuit; ``None`` for an exact simulation.
        diff_method: Overrides the device's diff method.
        device_options: The device's options (noise, fake backend, ARN, ...).
        output_dir: Where ``predictions.jsonl``, ``evaluation.json`` and ``results.json`` go;
            default ``<run>/evaluations/<device>-shots<N>-<key>``.
        confirm: Shown the cost (`EvaluationPlan.describe`); submits only if it says ``True``.
        retry: How failed batches are retried (default `RetryPolicy`).
        log: Where progress messages go.

    Returns:
        The summary written to ``results.json``; ``{"cancelled": True, ...}`` if not confirmed.

    Raises:
        FileExistsError: ``output_dir`` holds an evaluation with other settings.
        JobFailedError: a batch failed on every retry, or with an error a retry cannot fix.
        ValueError: a bad device or option, a model without a quantum module, or a test set
            whose order changed.
    """
    device_options = dict(device_options or {})
    make_device(device, 1, shots, diff_method, **device_options)  # fail before any loading
    model = load_checkpoint(checkpoint, model_name)
    datamodule.setup("test")
    loader = datamodule.test_dataloader()
    settings = EvaluationSettings.of(
        checkpoint, model_name, device, shots, diff_method, device_options, loader
    )
    out = open_evaluation_dir(output_dir, settings)
    finished = read_finished_batches(out / PREDICTIONS_FILE)
    plan = _plan(model, loader, finished, shots)
    summary = {"device": device, "shots": shots, "eval_dir": str(out)}
    if plan.remaining_samples and not confirm(plan.describe(device, device_options)):
        log("Not submitted.")
        return {**summary, "cancelled": True}
    move_to_device(model, device, shots, diff_method, device_options or None)
    _run_batches(model, loader, finished, out, retry or RetryPolicy(), log)
    summary |= evaluation_results(finished, datamodule.num_classes, plan, settings)
    write_text_atomically(out / RESULTS_FILE, json.dumps(summary, indent=2))
    return summary


def evaluation_results(
    finished: dict[int, dict[str, Any]],
    num_classes: int,
    plan: EvaluationPlan,
    settings: EvaluationSettings,
) -> dict[str, Any]:
    """The finished batches' test metrics (`summarize`), the circuits and shots of the whole
    test set, the checkpoint and whether the device is a cloud service."""
    records = [finished[index] for index in sorted(finished)]
    return {
        **summarize(records, num_classes),
        **plan.totals(settings.samples),
        "checkpoint": settings.checkpoint,
        "remote": KNOWN_DEVICES[settings.device].remote,
    }


def _plan(
    model: nn.Module, loader: DataLoader, finished: dict[int, dict[str, Any]], shots: int | None
) -> EvaluationPlan:
    """What is left to submit, with the circuits per sample counted on the first batch."""
    first_images, _ = next(iter(loader))
    circuits_per_sample = math.ceil(count_circuits(model, first_images) / len(first_images))
    samples = len(loader.dataset)
    remaining = samples - sum(len(record["labels"]) for record in finished.values())
    return EvaluationPlan(
        samples, len(loader), len(finished), remaining, circuits_per_sample, shots
    )


def _run_batches(
    model: nn.Module,
    loader: DataLoader,
    finished: dict[int, dict[str, Any]],
    out: Path,
    retry: RetryPolicy,
    log: Callable[[str], None],
) -> None:
    """Runs every batch not in ``finished`` (which it completes), each inside its own
    `JobJournal` and with retries, appending each to ``predictions.jsonl`` as it ends.

    Raises:
        ValueError: a finished batch's labels differ from the loader's (the data changed).
    """
    predictions = out / PREDICTIONS_FILE
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

        name = f"batch {index + 1}/{len(loader)}"
        logits, attempts = call_with_retries(run_batch, retry, name, log)
        record = {
            "batch": index,
            "labels": labels.tolist(),
            "logits": logits.float().tolist(),
            "predictions": logits.argmax(dim=1).tolist(),
            "attempts": attempts,
            "seconds": round(time.perf_counter() - start, 3),
        }
        append_record(predictions, record)
        finished[index] = record
        log(f"{name} done ({attempts} attempt(s))")
