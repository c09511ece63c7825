"""A run's per-image test predictions, ``test_predictions.csv`` in its directory: written by
`hqnn_lightning.run.callbacks.SaveTestPredictions` after the test of the best checkpoint, read
back for the report's bootstrap over test images (`hqnn_lightning.report.bootstrap`)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hqnn_lightning.utils.files import write_text_atomically

PREDICTIONS_FILE = "test_predictions.csv"
COLUMNS = ("index", "label", "prediction", "correct_top5")
"""One row per test image, in test-set order: its index, true class, top-1 predicted class,
and 1 where the true class is among the top 5 predicted (else 0)."""


@dataclass(frozen=True)
class ImagePredictions:
    """One run's test predictions, each ``(N,)`` over the ``N`` test images in test-set order.

    Args:
        labels: True classes, int64.
        predictions: Top-1 predicted classes, int64.
        correct_top5: Whether the true class is among the top 5, bool.
    """

    labels: np.ndarray
    predictions: np.ndarray
    correct_top5: np.ndarray

    @property
    def correct(self) -> np.ndarray:
        """Whether the top-1 prediction is right, ``(N,)`` bool; its mean is ``acc_top1``."""
        return self.labels == self.predictions


def write_predictions(path: str | Path, rows: np.ndarray) -> Path:
    """Writes ``rows`` ``(N, 3)`` (label, top-1 prediction, 1 if the label is in the top 5)
    as `COLUMNS`, the index prepended; through a temporary file, so a reader never sees half
    a file."""
    path = Path(path)
    rows = np.asarray(rows, dtype=np.int64)
    table = np.column_stack([np.arange(len(rows)), rows])
    text = io.StringIO()
    np.savetxt(text, table, fmt="%d", delimiter=",", header=",".join(COLUMNS), comments="")
    return write_text_atomically(path, text.getvalue())


def read_predictions(path: str | Path) -> ImagePredictions | None:
    """Reads a file `write_predictions` wrote; ``None`` when there is none (runs made before
    runs wrote it, or run with several processes).

    Raises:
        ValueError: the file cannot be read as `write_predictions` writes it (not UTF-8, not
            ending with a line break, its columns are not `COLUMNS`, a value is not a whole
            number, its rows are not in index order); the message names it.
    """
    path = Path(path)
    if not path.is_file():
        return None
    try:
        text = path.read_bytes().decode("utf-8")
        if not text.endswith("\n"):
            raise ValueError("it ends in the middle of a line")
        lines = text.splitlines()
        header = tuple(lines[0].strip().split(",")) if lines else ()
        if header != COLUMNS:
            raise ValueError(f"columns {header}, expected {COLUMNS}")
        table = np.loadtxt(lines[1:], delimiter=",", dtype=np.int64, ndmin=2).reshape(-1, 4)
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise ValueError(f"{path} is truncated or corrupt: {error}") from None
    if not np.array_equal(table[:, 0], np.arange(len(table))):
        raise ValueError(f"{path}: the rows are not in test-set order (index 0, 1, 2, ...)")
    return ImagePredictions(table[:, 1], table[:, 2], table[:, 3].astype(bool))
