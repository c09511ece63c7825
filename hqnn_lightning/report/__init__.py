"""Run directories read back: runs grouped over seeds, the mean +- std table with the gaps to
the baseline and to each quantum model's control, the curves and the trainability monitor's
figures (``experiments/report.py``, ``notebooks/03_results.ipynb``)."""

from hqnn_lightning.report.figures import (
    CURVES,
    plot_confusion_matrix,
    plot_curves,
    plot_trainability,
)
from hqnn_lightning.report.runs import RunGroup, RunRecord, find_runs, group_runs, load_run
from hqnn_lightning.report.statistics import Difference, seed_difference
from hqnn_lightning.report.tables import METRICS, control_sentences, summary_table

__all__ = [
    "CURVES",
    "METRICS",
    "Difference",
    "RunGroup",
    "RunRecord",
    "control_sentences",
    "find_runs",
    "group_runs",
    "load_run",
    "plot_confusion_matrix",
    "plot_curves",
    "plot_trainability",
    "seed_difference",
    "summary_table",
]
