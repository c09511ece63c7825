"""Trained runs tested again from their best checkpoint, as the runner tests them, with their
quantum layers moved elsewhere (finite shots, noise): the runs kept, each rebuilt from its
``config.yaml`` (`hqnn_lightning.run.build.build`), a fixed subset of its test set, test top-1
by ``Trainer.test(ckpt_path=...)``, and the means with their 95% t-intervals over seeds
(``experiments/shots_curve.py``, ``experiments/noise_curve.py``)."""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
from scipy import stats
from torch.utils.data import DataLoader, Subset

from hqnn_lightning.models import MODELS
from hqnn_lightning.report.runs import RunRecord
from hqnn_lightning.run.build import build
from hqnn_lightning.run.options import build_parser
from hqnn_lightning.run.saved_options import parse_saved_options
from hqnn_lightning.run.signatures import argument_default

PLAIN = {"n_heads": 1, "residual": False, "reupload": False}
"""The options a kept run has at these values (absent counts as these)."""
METRIC = "test/acc_top1"
PROBE = "classical"
"""The linear probe on the frozen features: no bottleneck, so its value is named, not drawn."""
CONTROLS = ("hybrid_control", "hybrid_control_matched", "hybrid_fourier", PROBE)
"""The classical controls of a hybrid, each with its colour in `control_color`."""


def control_color(model: str) -> str:
    """A control's matplotlib colour, the same in every figure; gray for another model."""
    palette = dict(zip(CONTROLS, ("tab:red", "tab:purple", "tab:green", "black"), strict=True))
    return palette.get(model, "gray")


def plain(config: dict[str, Any]) -> bool:
    """Whether a run is the library's one-head model with the ``z`` read-out, no hidden
    projection and a frozen backbone."""
    return plain_head(config) and (config.get("readout") or "z") == "z"


def plain_head(config: dict[str, Any]) -> bool:
    """Whether a run has `PLAIN`'s options, no hidden projection and a frozen backbone,
    whatever its read-out."""
    same = all(config.get(option, value) in (value, None) for option, value in PLAIN.items())
    return same and not config.get("projection_hidden") and not config.get("train_last_stages")


def width(config: dict[str, Any]) -> int | None:
    """The run's ``n_qubits``: its own, else its registered model's default; ``None`` for a
    model without one (the probe)."""
    if config.get("n_qubits"):
        return int(config["n_qubits"])
    try:
        return argument_default(MODELS, config["model"], "n_qubits")
    except ValueError:  # no class of the model declares n_qubits
        return None


def select(runs: list[RunRecord], models: set[str], widths: set[int]) -> list[RunRecord]:
    """One run per (model, width, seed) among ``models`` at ``widths`` or without a width
    (the first found)."""
    kept: dict[tuple[str, int, int], RunRecord] = {}
    for run in runs:
        config, n = run.config, width(run.config)
        if config["model"] in models and plain(config) and (n in widths or n is None):
            kept.setdefault((config["model"], n or 0, run.seed), run)
    return [kept[key] for key in sorted(kept)]


def rebuild(
    run: RunRecord, data_dir: str | None
) -> tuple[L.LightningDataModule, L.LightningModule]:
    """The run's DataModule (cached features) and model, built as the runner builds them."""
    config = parse_saved_options(build_parser(), run.run_dir / "config.yaml")
    if data_dir is not None:
        config.data_dir = data_dir
    return build(config)


def draw_controls(axes: Any, controls: dict[tuple[str, int | None], list[float]], n: int) -> None:
    """Each control of width ``n`` as a dotted line at its mean over seeds (%), the probe
    (width ``None``) named in the corner: it is 5 to 7 times the bottleneck models."""
    for (model, width_), values in sorted(controls.items(), key=lambda item: item[0][0]):
        if width_ == n:
            axes.axhline(np.mean(values), linestyle=":", color=control_color(model), label=model)
        elif width_ is None:
            note = f"{model} (linear probe, no bottleneck): {np.mean(values):.1f} %"
            axes.text(0.02, 0.98, note, transform=axes.transAxes, va="top", fontsize=8)


def quiet_trainer() -> L.Trainer:
    """A CPU `Trainer` that only tests: no logger, checkpoints, progress bar or summary."""
    return L.Trainer(
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
        devices=1,
    )


def subset_indices(size: int, images: int | None, seed: int) -> list[int]:
    """``images`` of the ``size`` test images drawn without replacement by a NumPy generator
    seeded with ``seed``, in test-set order; all of them when ``images`` is ``None`` or at
    least ``size``."""
    if images is None or images >= size:
        return list(range(size))
    chosen = np.random.default_rng(seed).choice(size, images, replace=False)
    return sorted(int(index) for index in chosen)


def subset_loader(data: L.LightningDataModule, indices: Sequence[int]) -> DataLoader:
    """``data``'s test loader restricted to the test images at ``indices``, with the same
    batch size and collation."""
    data.setup("test")
    loader = data.test_dataloader()
    return DataLoader(
        Subset(loader.dataset, list(indices)),
        batch_size=loader.batch_size,
        collate_fn=loader.collate_fn,
    )


def checkpoint_metrics(
    trainer: L.Trainer, model: L.LightningModule, data: Any, checkpoint: Path
) -> dict[str, float]:
    """The checkpoint's test metrics with ``model``'s quantum layers as they are now;
    ``data`` is a DataModule (its whole test set) or a test `DataLoader`."""
    source = {"dataloaders": data} if isinstance(data, DataLoader) else {"datamodule": data}
    results = trainer.test(
        model, **source, ckpt_path=str(checkpoint), verbose=False, weights_only=True
    )
    return {name: float(value) for name, value in results[0].items()}


def mean_interval(values: list[float]) -> tuple[float, float]:
    """The mean and the half-width of its 95% t-interval (0 for one value)."""
    array = np.array(values, dtype=float)
    if len(array) < 2:
        return float(array.mean()), 0.0
    half = stats.t.ppf(0.975, len(array) - 1) * array.std(ddof=1) / np.sqrt(len(array))
    return float(array.mean()), float(half)


def read_rows(path: Path) -> list[dict[str, str]]:
    """A CSV file's rows as dictionaries by column name."""
    with path.open() as file:
        return list(csv.DictReader(file))


def control_means(rows: list[dict[str, str]]) -> dict[tuple[str, int | None], list[float]]:
    """By (model, width; ``None`` for the probe): the test top-1 % of each seed, from rows
    with the columns ``model``, ``n_qubits`` and ``test_top1`` (a fraction)."""
    found: dict[tuple[str, int | None], list[float]] = defaultdict(list)
    for row in rows:
        n = int(row["n_qubits"]) if row["n_qubits"] else None
        found[row["model"], n].append(100 * float(row["test_top1"]))
    return found
