"""A 95% interval for a difference in test accuracy from the test images themselves: the
bootstrap over images, which sees how much the figure would move on another test set of the
same size, where the interval over seeds sees how much it moves from one training to another."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from hqnn_lightning.report.predictions import ImagePredictions

RESAMPLES = 2000
SEED = 0


@dataclass(frozen=True)
class ImageInterval:
    """``ours - theirs`` in test top-1, in percentage points, with its bootstrap interval.

    Args:
        mean: The difference of the mean accuracies over the runs compared.
        low: 2.5th percentile of the resampled differences.
        high: 97.5th percentile.
        images: Test images resampled.
        runs: Runs compared on each side: the seeds both have, or, with none in common,
            the smaller side's count.
    """

    mean: float
    low: float
    high: float
    images: int
    runs: int

    def cell(self) -> str:
        """``+3.20 [+1.05, +5.35]``, for a table."""
        return f"{self.mean:+.2f} [{self.low:+.2f}, {self.high:+.2f}]"


def image_bootstrap(
    ours: Mapping[int, ImagePredictions],
    theirs: Mapping[int, ImagePredictions],
    resamples: int = RESAMPLES,
    seed: int = SEED,
) -> ImageInterval | None:
    """The difference in test top-1 between two groups of runs (``{seed: predictions}``),
    with a 95% percentile-bootstrap interval over the test images.

    Each resample draws ``N`` of the ``N`` test images with replacement, the same images for
    every run of both groups, and takes the mean over the runs of ``ours`` of their accuracy
    on those images minus the same mean over ``theirs``: with matching seeds, the mean over
    seeds of the per-seed differences. The runs are those of the seeds both groups have, or
    all of them when they have none in common. The statistic is linear in the images' counts,
    so a resample is a multinomial draw of counts ``(N,)`` and one dot product with the
    per-image difference of the mean correctness; ``numpy.random.default_rng(seed)`` makes it
    reproducible.

    Returns:
        The difference and interval in percentage points, or ``None`` when a group has no
        predictions or the runs were not tested on the same images (their test sets differ
        in length or labels).
    """
    common = sorted(set(ours) & set(theirs))
    a = [ours[key] for key in common] if common else list(ours.values())
    b = [theirs[key] for key in common] if common else list(theirs.values())
    if not a or not b:
        return None
    labels = a[0].labels
    if any(not np.array_equal(run.labels, labels) for run in a + b):
        return None
    n = len(labels)
    per_image = 100 * (
        np.mean([run.correct for run in a], axis=0) - np.mean([run.correct for run in b], axis=0)
    )
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(n, np.full(n, 1 / n), size=resamples)  # (resamples, N)
    differences = counts @ per_image / n
    low, high = np.percentile(differences, [2.5, 97.5])
    runs = len(common) if common else min(len(a), len(b))
    return ImageInterval(float(per_image.mean()), float(low), float(high), n, runs)
