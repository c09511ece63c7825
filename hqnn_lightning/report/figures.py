"""The report's figures: per-epoch curves of each group (mean +- std over seeds) and a test
confusion matrix, each drawn on its own Agg canvas."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from hqnn_lightning.report.runs import RunGroup

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
