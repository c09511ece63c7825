"""The report's figures: per-epoch curves of each group (mean +- std over seeds), the
trainability monitor's gradient norms and output spread, a test confusion matrix, and each
quantum model beside its controls (a forest plot of the differences, the test accuracies per
seed), each drawn on its own Agg canvas."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from hqnn_lightning.experiment.metrics import GRAD_NORM_KEY, OUTPUT_STD_KEY
from hqnn_lightning.report.runs import RunGroup
from hqnn_lightning.report.tables import Comparison
from hqnn_lightning.utils.files import atomic_write

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
        paths.append(_write_png(figure, output_dir / "grad_norm.png"))
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
    figure.tight_layout()
    return _write_png(figure, path)


def _write_png(figure: Figure, path: Path) -> Path:
    """Saves ``figure`` as a PNG at ``path``, whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path, binary=True) as file:
        figure.savefig(file, format="png", dpi=120)
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


def plot_forest(
    comparisons: Sequence[Comparison], output_dir: str | Path
) -> tuple[Path | None, list[str]]:
    """Saves ``differences_forest.png``: one row per comparison with an interval over seeds
    (`Comparison.difference`), the mean difference in test top-1 (points) as a dot with its
    95% interval over seeds as a thick bar and, where there is one, the 95% bootstrap interval
    over test images as a thin bar just below it; a vertical line at zero.

    Returns:
        The path (``None``, and nothing saved, when no comparison has an interval) and the
        rows' labels from top to bottom (`Comparison.label`).
    """
    rows = [comparison for comparison in comparisons if comparison.difference is not None]
    labels = [comparison.label for comparison in rows]
    if not rows:
        return None, labels
    figure = _figure((8.0, 1.6 + 0.45 * len(rows)))
    axes = figure.subplots()
    positions = -np.arange(len(rows), dtype=float)  # first row on top
    for y, comparison in zip(positions, rows, strict=True):
        seeds = comparison.difference
        axes.plot([seeds.low, seeds.high], [y, y], color="C0", linewidth=3, solid_capstyle="butt")
        axes.plot(seeds.mean, y, "o", color="C0")
        if comparison.images is not None:
            images = comparison.images
            axes.plot([images.low, images.high], [y - 0.2, y - 0.2], color="C1", linewidth=1)
    axes.axvline(0.0, color="grey", linewidth=1, linestyle="--")
    axes.plot([], [], color="C0", linewidth=3, marker="o", label="95% CI over seeds")
    if any(comparison.images is not None for comparison in rows):
        axes.plot([], [], color="C1", linewidth=1, label="95% bootstrap CI over test images")
    axes.set_yticks(positions, labels, fontsize="small")
    axes.set_ylim(positions[-1] - 0.6, 0.6)
    axes.set_xlabel("Δ test top-1, quantum − control (percentage points)")
    axes.grid(axis="x", alpha=0.3)
    axes.legend(fontsize="small", loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=2)
    return _save(figure, Path(output_dir) / "differences_forest.png"), labels


def plot_small_multiples(
    comparisons: Sequence[Comparison],
    output_dir: str | Path,
    reference: RunGroup | None = None,
) -> list[Path]:
    """Saves ``test_accuracy_by_variant.png``: one panel per quantum group of
    ``comparisons``, holding it and its controls, and, in every panel, ``reference`` (the
    classical model) as a grey band of its mean +- std. Each group is a column of its
    per-seed test top-1 (%) dots, a seed's dots joined across the panel's columns so that a
    quantum run is seen beside its control of the same seed, and its mean +- std (sample) as
    a black bar. The panels share the y axis. Returns the path, none when ``comparisons`` is
    empty.
    """
    panels: dict[str, list[RunGroup]] = {}
    for comparison in comparisons:
        panels.setdefault(comparison.group.label, [comparison.group]).append(comparison.control)
    if not panels:
        return []
    columns = min(len(panels), 4)
    rows = -(-len(panels) // columns)
    figure = _figure((3.2 * columns, 3.4 * rows))
    grid = figure.subplots(rows, columns, sharey=True, squeeze=False).ravel()
    for axes, (title, members) in zip(grid, panels.items(), strict=False):
        _draw_variant(axes, members, reference)
        axes.set_title(title, fontsize="small")
    for axes in grid[len(panels) :]:
        axes.set_visible(False)
    for axes in grid[::columns]:
        axes.set_ylabel("test top-1 accuracy (%)")
    return [_save(figure, Path(output_dir) / "test_accuracy_by_variant.png")]


def _draw_variant(axes: Axes, members: Sequence[RunGroup], reference: RunGroup | None) -> None:
    """One column per group of ``members``: per-seed dots (one colour per column) joined by
    seed, and a mean +- std bar."""
    if reference is not None and reference.values("test/acc_top1").size:
        values = 100 * reference.values("test/acc_top1")
        spread = values.std(ddof=1) if values.size > 1 else 0.0
        axes.axhspan(values.mean() - spread, values.mean() + spread, color="grey", alpha=0.2)
        axes.axhline(values.mean(), color="grey", linewidth=1, label=reference.label)
        axes.legend(fontsize="x-small", loc="center right")
    by_seed = [group.by_seed("test/acc_top1") for group in members]
    for seed in sorted(set().union(*by_seed)):
        x = [i for i, values in enumerate(by_seed) if seed in values]
        y = [100 * by_seed[i][seed] for i in x]
        axes.plot(x, y, color="grey", alpha=0.4, linewidth=0.8)
    for i, group in enumerate(members):
        values = 100 * group.values("test/acc_top1")
        axes.plot(np.full(values.size, i), values, "o", color=f"C{i}", markersize=4)
        if values.size:
            spread = values.std(ddof=1) if values.size > 1 else 0.0
            axes.errorbar(i + 0.15, values.mean(), yerr=spread, fmt="_", color="black", capsize=3)
    axes.set_xticks(range(len(members)), [group.model for group in members], rotation=30)
    axes.set_xlim(-0.5, len(members) - 0.5)
    axes.grid(axis="y", alpha=0.3)


def _figure(size: tuple[float, float]) -> Figure:
    """A figure drawn on its own Agg canvas: saving it neither needs nor changes pyplot's
    backend, so a notebook's inline figures keep working after a run."""
    figure = Figure(figsize=size)
    FigureCanvasAgg(figure)
    return figure
