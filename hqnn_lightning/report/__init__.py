"""Run directories read back: runs grouped over seeds, the mean +- std table with the gaps to
the baseline and to each quantum model's control, each quantum model against its controls
(t and Wilcoxon over seeds, the bootstrap over test images), the curves, the trainability
monitor's figures and the comparisons' figures, and the hyperparameter searches
(``experiments/report.py``, ``notebooks/03_results.ipynb``).

Each name is imported on first use (`utils.lazy_exports`): reading runs loads no matplotlib,
and ``experiments/report.py`` refuses a mistake before the figures' and statistics' imports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hqnn_lightning.utils.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from hqnn_lightning.report.bootstrap import ImageInterval, image_bootstrap
    from hqnn_lightning.report.duplicates import DuplicateSeed
    from hqnn_lightning.report.figures import (
        CURVES,
        plot_confusion_matrix,
        plot_curves,
        plot_forest,
        plot_small_multiples,
        plot_trainability,
    )
    from hqnn_lightning.report.predictions import (
        PREDICTIONS_FILE,
        ImagePredictions,
        read_predictions,
        write_predictions,
    )
    from hqnn_lightning.report.runs import (
        TUNING_FILE,
        RunGroup,
        RunRecord,
        RunWarning,
        find_runs,
        group_runs,
        load_run,
    )
    from hqnn_lightning.report.statistics import Difference, seed_difference
    from hqnn_lightning.report.tables import (
        METRICS,
        Comparison,
        control_comparisons,
        control_sentences,
        differences_table,
        reference_group,
        summary_table,
    )
    from hqnn_lightning.report.tuning import (
        TuningRecord,
        find_tunings,
        mark_tuned,
        trials_table,
        tuning_table,
    )

_MODULES = {
    "hqnn_lightning.report.bootstrap": (
        "ImageInterval",
        "image_bootstrap",
    ),
    "hqnn_lightning.report.duplicates": ("DuplicateSeed",),
    "hqnn_lightning.report.figures": (
        "CURVES",
        "plot_confusion_matrix",
        "plot_curves",
        "plot_forest",
        "plot_small_multiples",
        "plot_trainability",
    ),
    "hqnn_lightning.report.predictions": (
        "PREDICTIONS_FILE",
        "ImagePredictions",
        "read_predictions",
        "write_predictions",
    ),
    "hqnn_lightning.report.runs": (
        "TUNING_FILE",
        "RunGroup",
        "RunRecord",
        "RunWarning",
        "find_runs",
        "group_runs",
        "load_run",
    ),
    "hqnn_lightning.report.statistics": (
        "Difference",
        "seed_difference",
    ),
    "hqnn_lightning.report.tables": (
        "METRICS",
        "Comparison",
        "control_comparisons",
        "control_sentences",
        "differences_table",
        "reference_group",
        "summary_table",
    ),
    "hqnn_lightning.report.tuning": (
        "TuningRecord",
        "find_tunings",
        "mark_tuned",
        "trials_table",
        "tuning_table",
    ),
}
"""Where each exported name lives."""

__getattr__, __dir__ = lazy_exports(__name__, _MODULES)

__all__ = [
    "CURVES",
    "METRICS",
    "PREDICTIONS_FILE",
    "TUNING_FILE",
    "Comparison",
    "Difference",
    "DuplicateSeed",
    "ImageInterval",
    "ImagePredictions",
    "RunGroup",
    "RunRecord",
    "RunWarning",
    "TuningRecord",
    "control_comparisons",
    "control_sentences",
    "differences_table",
    "find_runs",
    "find_tunings",
    "group_runs",
    "image_bootstrap",
    "load_run",
    "mark_tuned",
    "plot_confusion_matrix",
    "plot_curves",
    "plot_forest",
    "plot_small_multiples",
    "plot_trainability",
    "read_predictions",
    "reference_group",
    "seed_difference",
    "summary_table",
    "trials_table",
    "tuning_table",
    "write_predictions",
]
