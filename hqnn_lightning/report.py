"""Reads saved run directories and summarises them: mean +- std over seeds, and the curves.

A run directory (written by `hqnn_lightning.cli.train`) holds ``config.yaml`` (the
resolved options), ``results.json`` (final metrics, parameter counts, seconds per epoch) and
``csv/metrics.csv`` (one row per logged epoch and stage). Runs whose options differ only by the
seed form one *group*; a group is named after its model plus whichever options tell it apart
from the other groups (``hybrid freeze_backbone=True``).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

IGNORED_OPTIONS = frozenset(
    {
        "seed",
        "seeds",
        "config",
        "output_dir",
        "logger",
        "wandb_project",
        "wandb_entity",
        "wandb_group",
        "wandb_tags",
        "num_workers",
        "cache_dir",
        "fast_dev_run",
        "accelerator",
        "deterministic",
        "progress_bar",
        "wandb_log_model",
        "checkpoint_every_n_steps",
        "resume",
        "yes",
        "max_retries",
    }
)
"""Options that do not change what a run measures, left out when grouping runs."""

SINGLE_PROCESS = {"devices": 1, "num_nodes": 1, "strategy": "auto"}
"""Options left out of the grouping at these values, so that runs made before the runner
recorded them group with runs made after."""

CURVES = {
    "val_accuracy": ("val/acc_top1", "validation top-1 accuracy (%)", 100.0),
    "val_loss": ("val/loss", "validation loss", 1.0),
    "train_loss": ("train/loss", "training loss", 1.0),
}
"""The study's figures: file stem -> (metric, axis label, scale)."""

CONTROLS = {"hybrid": "hybrid_control", "quanv": "quanv_control"}
"""Each quantum model's same-shape classical control, compared in the report's last column."""

QUANTUM_OPTIONS = frozenset(
    {"q_device", "shots", "q_diff_method", "q_depth", "entangler", "reupload", "n_layers"}
)
"""Options of the circuit alone, ignored when pairing a quantum model with its control."""

METRICS = ("val/acc_top1", "val/acc_top5", "test/acc_top1", "test/acc_top5")


@dataclass
class RunRecord:
    """One run directory, read back.

    Args:
        run_dir: The directory.
        config: The resolved options (``config.yaml``).
        results: The final results (``results.json``).
        history: Per-epoch values, ``{metric: {epoch: value}}``, for the training epochs only.
    """

    run_dir: Path
    config: dict[str, Any]
    results: dict[str, Any]
    history: dict[str, dict[int, float]] = field(default_factory=dict)

    @property
    def group_key(self) -> tuple[tuple[str, str], ...]:
        """The options that define the experiment (everything but the seed and logistics)."""
        return tuple(
            sorted(
                (name, json.dumps(value, sort_keys=True))
                for name, value in self.config.items()
                if name not in IGNORED_OPTIONS
                and not (name in SINGLE_PROCESS and value == SINGLE_PROCESS[name])
            )
        )


@dataclass
class RunGroup:
    """Runs of one experiment that differ only by the seed.

    Args:
        label: Model name plus the options that set the group apart from the others.
        runs: The runs, in seed order.
    """

    label: str
    runs: list[RunRecord]

    @property
    def model(self) -> str:
        return str(self.runs[0].config["model"])

    def values(self, metric: str) -> np.ndarray:
        """The final ``metric`` of every run that has it, ``(n_runs,)``."""
        values = [run.results.get(metric) for run in self.runs]
        return np.array([value for value in values if value is not None], dtype=float)

    def curve(self, metric: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Epochs ``(E,)`` and the mean and sample std over runs ``(E,)`` of ``metric`` per
        epoch (the table's statistics; std 0 for one run), on the epochs every run has."""
        histories = [run.history.get(metric, {}) for run in self.runs]
        epochs = sorted(set.intersection(*(set(history) for history in histories)))
        values = np.array([[history[epoch] for epoch in epochs] for history in histories])
        if not epochs:
            return np.array([]), np.array([]), np.array([])
        std = values.std(axis=0, ddof=1) if len(values) > 1 else np.zeros(len(epochs))
        return np.array(epochs), values.mean(axis=0), std


def load_run(run_dir: str | Path) -> RunRecord:
    """Reads one run directory.

    Raises:
        FileNotFoundError: ``run_dir`` lacks ``results.json`` or ``config.yaml`` (an
            unfinished or foreign directory); the message names the file.
    """
    run_dir = Path(run_dir)
    for name in ("results.json", "config.yaml"):
        if not (run_dir / name).is_file():
            raise FileNotFoundError(
                f"{run_dir / name} not found: not a finished run directory of experiments/run.py"
            )
    results = json.loads((run_dir / "results.json").read_text())
    config = yaml.safe_load((run_dir / "config.yaml").read_text()) or {}
    history = _read_history(run_dir / "csv" / "metrics.csv", int(results.get("epochs") or 0))
    return RunRecord(run_dir, config, results, history)


def find_runs(paths: Iterable[str | Path]) -> list[RunRecord]:
    """Every run under ``paths``: run directories themselves, or folders holding them.

    Raises:
        FileNotFoundError: a path does not exist, or no run was found.
    """
    runs = []
    for path in map(Path, paths):
        if not path.exists():
            raise FileNotFoundError(f"{path} does not exist")
        found = (
            [path]
            if (path / "results.json").is_file()
            else sorted(results.parent for results in path.rglob("results.json"))
        )
        runs += [load_run(run_dir) for run_dir in found]
    if not runs:
        raise FileNotFoundError(
            f"no run directory (with results.json) under {', '.join(map(str, paths))}"
        )
    return runs


def group_runs(runs: Sequence[RunRecord]) -> list[RunGroup]:
    """Groups runs that differ only by the seed, labelled by model and distinguishing options.

    Groups keep the order in which their first run appears.
    """
    grouped: dict[tuple[tuple[str, str], ...], list[RunRecord]] = {}
    for run in runs:
        grouped.setdefault(run.group_key, []).append(run)
    keys = list(grouped)
    options = {name for key in keys for name, _ in key} - {"model"}
    varying = sorted(name for name in options if len({dict(key).get(name) for key in keys}) > 1)
    groups = []
    for key in keys:
        values = dict(key)
        details = [f"{name}={json.loads(values[name])}" for name in varying if name in values]
        label = " ".join([json.loads(values["model"]), *details])
        members = sorted(grouped[key], key=lambda run: run.config.get("seed", 0))
        groups.append(RunGroup(label, members))
    return groups


def summary_table(
    groups: Sequence[RunGroup],
    baseline: str | None = None,
    controls: Mapping[str, str] | None = None,
) -> str:
    """A Markdown table: one row per group, mean +- std over its seeds.

    Accuracies are in percent. The last two columns give the difference in mean test top-1
    (percentage points) to the ``baseline`` group (a label or a model name; default the group
    of model ``classical``, or of one variant of it, when there is exactly one) and to the
    group's control: the group whose model is ``controls[model]`` (default `CONTROLS`)
    with otherwise equal options (circuit options aside).
    """
    controls = CONTROLS if controls is None else controls
    reference = _find_group(groups, baseline) if baseline else _only(groups, "classical")
    header = [
        "model",
        "seeds",
        "params classical",
        "params quantum",
        "val top-1 %",
        "val top-5 %",
        "test top-1 %",
        "test top-5 %",
        "s/epoch",
        f"Δ test top-1 vs {reference.label if reference else 'baseline'}",
        "Δ test top-1 vs control",
    ]
    rows = []
    for group in groups:
        first = group.runs[0].results
        control = _control_of(group, groups, controls)
        rows.append(
            [
                group.label,
                str(len(group.runs)),
                f"{first.get('params_classical', 0):,}",
                f"{first.get('params_quantum', 0):,}",
                *(_mean_std(100 * group.values(metric)) for metric in METRICS),
                _mean_std(group.values("seconds_per_epoch"), digits=1),
                _gap(group, reference),
                _gap(group, control),
            ]
        )
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def plot_curves(groups: Sequence[RunGroup], output_dir: str | Path) -> list[Path]:
    """Saves one PNG per entry of `CURVES`, one line per group (mean over seeds, with a
    band of +- one std); returns the paths."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for stem, (metric, label, scale) in CURVES.items():
        figure = _figure((6.4, 4.0))
        axes = figure.subplots()
        for group in groups:
            epochs, mean, std = group.curve(metric)
            if not len(epochs):
                continue
            line = axes.plot(epochs + 1, scale * mean, label=f"{group.label} (n={len(group.runs)})")
            axes.fill_between(
                epochs + 1,
                scale * (mean - std),
                scale * (mean + std),
                color=line[0].get_color(),
                alpha=0.2,
            )
        axes.set_xlabel("epoch")
        axes.set_ylabel(label)
        axes.grid(alpha=0.3)
        axes.legend(fontsize="small")
        figure.tight_layout()
        path = output_dir / f"{stem}.png"
        figure.savefig(path, dpi=120)
        paths.append(path)
    return paths


def plot_confusion_matrix(
    matrix: np.ndarray, class_names: Sequence[str], path: str | Path, title: str = ""
) -> Path:
    """Saves a ``(K, K)`` confusion matrix (rows true, columns predicted) as a PNG heatmap of
    each row's fractions; class names label the axes up to 30 classes."""
    matrix = np.asarray(matrix, dtype=float)
    fractions = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    size = min(12.0, 3.0 + 0.3 * len(matrix))
    figure = _figure((size, size))
    axes = figure.subplots()
    image = axes.imshow(fractions, cmap="Blues", vmin=0, vmax=1)
    figure.colorbar(image, ax=axes, fraction=0.046, label="fraction of the true class")
    if len(class_names) <= 30:
        ticks = np.arange(len(class_names))
        axes.set_xticks(ticks, class_names, rotation=90, fontsize="small")
        axes.set_yticks(ticks, class_names, fontsize="small")
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title or f"test confusion matrix, {int(matrix.sum())} images")
    figure.tight_layout()
    path = Path(path)
    figure.savefig(path, dpi=120)
    return path


def _figure(size: tuple[float, float]) -> Figure:
    """A figure drawn on its own Agg canvas: saving it neither needs nor changes pyplot's
    backend, so a notebook's inline figures keep working after a run."""
    figure = Figure(figsize=size)
    FigureCanvasAgg(figure)
    return figure


def _read_history(path: Path, epochs: int) -> dict[str, dict[int, float]]:
    """Per-epoch values of the training epochs ``0 .. epochs - 1`` (the validation and test of
    the best checkpoint after training are logged at epoch ``epochs`` and left out)."""
    history: dict[str, dict[int, float]] = {}
    if not path.is_file():
        return history
    with path.open(newline="") as file:
        for row in csv.DictReader(file):
            epoch = int(row["epoch"])
            if epoch >= epochs:
                continue
            for name, value in row.items():
                if name not in ("epoch", "step") and value not in ("", None):
                    history.setdefault(name, {})[epoch] = float(value)
    return history


def _mean_std(values: np.ndarray, digits: int = 2) -> str:
    if values.size == 0:
        return "-"
    if values.size == 1:
        return f"{values[0]:.{digits}f}"
    return f"{values.mean():.{digits}f} ± {values.std(ddof=1):.{digits}f}"


def _gap(group: RunGroup, reference: RunGroup | None) -> str:
    if reference is None or reference is group:
        return "-"
    ours, theirs = group.values("test/acc_top1"), reference.values("test/acc_top1")
    if ours.size == 0 or theirs.size == 0:
        return "-"
    gap = 100 * (ours.mean() - theirs.mean())
    return f"{gap:+.2f}" if math.isfinite(gap) else "-"


def _only(groups: Sequence[RunGroup], model: str) -> RunGroup | None:
    """The one group whose model is ``model`` or a variant of it (``model_tiny``), if unique."""
    matches = [
        group for group in groups if group.model == model or group.model.startswith(f"{model}_")
    ]
    return matches[0] if len(matches) == 1 else None


def _find_group(groups: Sequence[RunGroup], name: str) -> RunGroup:
    for group in groups:
        if name in (group.label, group.model):
            return group
    raise ValueError(
        f"no group named {name!r}; groups: {', '.join(group.label for group in groups)}"
    )


def _control_of(
    group: RunGroup, groups: Sequence[RunGroup], controls: Mapping[str, str]
) -> RunGroup | None:
    control_model = controls.get(group.model)
    if control_model is None:
        return None

    def comparable(run: RunRecord) -> dict[str, str]:
        return {name: value for name, value in run.group_key if name not in QUANTUM_OPTIONS}

    wanted = {**comparable(group.runs[0]), "model": json.dumps(control_model)}
    for candidate in groups:
        if comparable(candidate.runs[0]) == wanted:
            return candidate
    return None
