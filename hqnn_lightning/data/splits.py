"""Deterministic, class-stratified train/val/test splits of a labelled dataset."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import train_test_split

from hqnn_lightning.preflight.data_arguments import check_split_fractions


class ClassTooSmallError(ValueError):
    """A class has fewer than 2 samples in a pool that a stratified split divides.

    Args:
        label: The class's label.
        count: Its samples in the pool.
        kept: The name of the set the pool keeps (``"train"``, ``"train+val"``).
        drawn: The name of the set drawn from it (``"val"``, ``"test"``).
    """

    def __init__(self, label: int, count: int, kept: str, drawn: str) -> None:
        super().__init__(
            f"class {label!r} has {count} sample(s) to split into the {kept} and {drawn} sets; "
            "a stratified split needs at least 2 per class"
        )
        self.label = label
        self.count = count
        self.kept = kept
        self.drawn = drawn


def stratified_split(
    labels: np.ndarray, val_fraction: float, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Splits sample indices into train, val and test sets with the class balance of ``labels``.

    The val and test sets hold ``round(fraction * N)`` samples each, the train set the rest.
    A fraction of 0 gives an empty set, for datasets that ship an official test split. The
    test set is drawn from all samples, then the val set from the rest; each class's count
    in a set (and in what the draw leaves) is within one sample of its share of the pool.

    Args:
        labels: Class label of every sample, shape ``(N,)``.
        val_fraction: Fraction of the ``N`` samples to put in the val set, in ``[0, 1)``.
        test_fraction: Fraction of the ``N`` samples to put in the test set, in ``[0, 1)``.
        seed: Seed of the shuffle; one seed always gives the same split.

    Returns:
        Sorted ``int64`` index arrays ``(train, val, test)`` into ``labels``; disjoint, and
        together they cover ``range(N)``.

    Raises:
        ClassTooSmallError: a class has fewer than 2 samples in a pool to split (it carries the
            label, which the caller can name).
        ValueError: ``labels`` is not 1-D; a fraction is invalid (see
            `check_split_fractions`); or a requested set would hold fewer samples than there
            are classes.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must have shape (N,), got {labels.shape}")
    check_split_fractions(val_fraction, test_fraction)

    num_samples = len(labels)
    indices = np.arange(num_samples, dtype=np.int64)
    empty = np.empty(0, dtype=np.int64)
    num_test = round(test_fraction * num_samples)
    train_val, test = (
        _draw(indices, labels, num_test, seed, kept="train+val", drawn="test")
        if test_fraction > 0
        else (indices, empty)
    )
    num_val = round(val_fraction * num_samples)
    train, val = (
        _draw(train_val, labels, num_val, seed, kept="train", drawn="val")
        if val_fraction > 0
        else (train_val, empty)
    )
    return np.sort(train), np.sort(val), np.sort(test)


def _draw(
    indices: np.ndarray, labels: np.ndarray, size: int, seed: int, kept: str, drawn: str
) -> tuple[np.ndarray, np.ndarray]:
    """Draws ``size`` of ``indices``, stratified by their labels.

    Args:
        indices: Indices into ``labels`` of the pool to draw from, shape ``(M,)``.
        labels: Class label of every sample, shape ``(N,)``.
        size: Number of indices to draw.
        seed: Seed of the draw.
        kept: Name of the set left in the pool, for error messages.
        drawn: Name of the set drawn, for error messages.

    Returns:
        The ``(kept, drawn)`` indices.

    Raises:
        ClassTooSmallError: a class has fewer than 2 samples in the pool.
        ValueError: a set would hold fewer samples than there are classes.
    """
    classes, counts = np.unique(labels[indices], return_counts=True)
    smallest = int(np.argmin(counts))
    if counts[smallest] < 2:
        raise ClassTooSmallError(classes[smallest].item(), int(counts[smallest]), kept, drawn)
    fraction = f"{drawn}_fraction (--{drawn}-fraction)"
    for name, set_size, fix in (
        (kept, len(indices) - size, f"lower {fraction}"),
        (drawn, size, f"raise {fraction}, or keep fewer classes"),
    ):
        if set_size < len(classes):
            raise ValueError(
                f"the {name} set would hold {set_size} sample(s), "
                f"fewer than the {len(classes)} classes; {fix}"
            )
    kept_indices, drawn_indices = train_test_split(
        indices, test_size=size, stratify=labels[indices], random_state=seed
    )
    return kept_indices, drawn_indices
