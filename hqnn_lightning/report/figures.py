"""The report's figures: per-epoch curves of each group (mean +- std over seeds), the
trainability monitor's gradient norms and output spread, and a test confusion matrix, each
drawn on its own Agg canvas."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from hqnn_lightning.report.runs import RunGroup
from hqnn_lightning.run.trainability import GRAD_NORM_KEY, OUTPUT_STD_KEY

CURVES = {
    "val_accuracy": ("val/acc_top1", "validation top-1 accuracy (%)", 100.0),
    "val_loss": ("val/loss", "validation loss", 1.0),
    "train_loss": ("train/loss", "training loss", 1.0),
}
"""The study's figures: file stem -> (metric, axis label, scale)."""


def plot_curves(groups: Sequence[RunGroup], output_dir: str | Path) -> list[Path]:
    """Saves one PNG per entry of `CURVES`, one line per group (mean over seeds, with a
    band of +- one std); returns the paths."""
    output_dir = Path(output_dir)
    paths = []
    for stem, (metric, label, scale) in CURVES.items():
        figure = _figure((6.4, 4.0))
        axes = figure.subplots()
        _draw_curves(axes, groups, metric, label, scale)
        paths.append(_save(figure, output_dir / f"{stem}.png"))
    return paths


def plot_trainability(groups: Sequence[RunGroup], output_dir: str | Path) -> list[Path]:
    """Saves the trainability monitor's figures (`hqnn_lightning.run.trainability`), for the
    groups whose runs logged them, one line per group (mean over seeds, band of +- one std);
    returns the paths, none when no run has them.

    - ``grad_norm.png``: the mean gradient L2 norm of each part per epoch, one panel per part
      (in the models' order: backbone, projection, bottleneck, classifier, ...), log scale;
    - ``output_spread.png``: the mean over units of the standard deviation across the batch
      of the bottleneck's (or patch filter's) outputs, per epoch.
    """
    output_dir = Path(output_dir)
    parts = _monitored_parts(groups)
    paths = []
    if parts:
        # One row of panels in the order data flows, one legend below them all.
        figure = _figure((3.3 * len(parts), 3.3 + 0.22 * len(groups)))
        figure.set_layout_engine("constrained")
        panels = figure.subplots(1, len(parts), squeeze=False).ravel()
        for axes, part in zip(panels, parts, strict=True):
            _draw_curves(axes, groups, GRAD_NORM_KEY + part, "gradient L2 norm", 1.0, False)
            axes.set_yscale("log")
            axes.set_title(part)
        handles, labels = panels[0].get_legend_handles_labels()
        figure.legend(handles, labels, loc="outside lower center", ncols=2, fontsize="small")
        path = output_dir / "grad_norm.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=120)
        paths.append(path)
    spread = OUTPUT_STD_KEY + "mean"
    if any(spread in run.history for group in groups for run in group.runs):
        figure = _figure((6.4, 4.0))
        axes = figure.subplots()
        _draw_curves(axes, groups, spread, "output std across the batch (mean over units)", 1.0)
        paths.append(_save(figure, output_dir / "output_spread.png"))
    return paths


def _monitored_parts(groups: Sequence[RunGroup]) -> list[str]:
    """The parts with a gradient norm in any run's history: in the order the runs'
    ``results.json`` lists them (the models' order), then any other alphabetically."""
    logged = {
        name.removeprefix(GRAD_NORM_KEY)
        for group in groups
        for run in group.runs
        for name in run.history
        if name.startswith(GRAD_NORM_KEY)
    }
    ordered = [
        part
        for group in groups
        for run in group.runs
        for part in (run.results.get("trainability") or {}).get("parts", [])
    ]
    known = dict.fromkeys(part for part in ordered if part in logged)
    return [*known, *sorted(logged - known.keys())]


def _draw_curves(
    axes: Axes,
    groups: Sequence[RunGroup],
    metric: str,
    label: str,
    scale: float,
    legend: bool = True,
) -> None:
    """One line per group that has ``metric``: ``scale`` times its mean over seeds per epoch,
    with a band of +- one std."""
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
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.grid(alpha=0.3)
    if legend and axes.get_legend_handles_labels()[0]:
        axes.legend(fontsize="small")


def _save(figure: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    return path


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
    return _save(figure, Path(path))


def _figure(size: tuple[float, float]) -> Figure:
    """A figure drawn on its own Agg canvas: saving it neither needs nor changes pyplot's
    backend, so a notebook's inline figures keep working after a run."""
    figure = Figure(figsize=size)
    FigureCanvasAgg(figure)
    return figure
