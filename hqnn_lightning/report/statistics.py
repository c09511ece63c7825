"""Whether a difference in accuracy between two groups of runs is real: the difference of the
means with a 95% confidence interval and a t-test, paired by seed where the seeds match, with
the Wilcoxon signed-rank test beside the paired t."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import stats

from hqnn_lightning.report.bootstrap import ImageInterval


@dataclass(frozen=True)
class Difference:
    """``ours - theirs`` over seeds, in the units of the values (percentage points in reports).

    Args:
        mean: The difference of the means (paired: the mean of the per-seed differences).
        low: Lower end of the 95% confidence interval.
        high: Upper end of the 95% confidence interval.
        p_value: Two-sided p-value of the t-test.
        n: Seeds compared: pairs when paired, else the smaller group's size.
        paired: Paired t over the seeds both groups have (``scipy.stats.ttest_rel``), else
            Welch's t (``scipy.stats.ttest_ind(equal_var=False)``).
        wilcoxon_p: Two-sided p-value of the Wilcoxon signed-rank test of the per-seed
            differences (``scipy.stats.wilcoxon``), when paired. It makes no assumption of
            normality, but with few seeds it cannot be small: the exact test's smallest p is
            ``2 / 2**n``, 0.0625 for 5 pairs, so it never reaches 0.05 below 6 seeds.
    """

    mean: float
    low: float
    high: float
    p_value: float
    n: int
    paired: bool
    wilcoxon_p: float | None = None

    @property
    def detected(self) -> bool:
        """Whether the interval excludes zero."""
        return self.low > 0 or self.high < 0

    def cell(self) -> str:
        """``+3.20 [+1.05, +5.35]``, for a table."""
        return f"{self.mean:+.2f} [{self.low:+.2f}, {self.high:+.2f}]"

    def sentence(self, ours: str, theirs: str, images: ImageInterval | None = None) -> str:
        """One sentence saying what the interval over seeds shows, ``no detectable
        difference`` when it spans zero, with the tests' p-values and, when given, the
        bootstrap interval over test images (`image_bootstrap`)."""
        test = f"{'paired' if self.paired else 'Welch'} t, {self.n} seeds, p = {self.p_value:.2g}"
        if self.wilcoxon_p is not None:
            floor = 2.0 ** (1 - self.n)
            test += f"; Wilcoxon p = {self.wilcoxon_p:.2g} (no lower than {floor:.2g} with "
            test += f"{self.n} pairs)"
        if images is not None:
            test += (
                f"; over the {images.images} test images, 95% bootstrap CI "
                f"[{images.low:+.2f}, {images.high:+.2f}]"
            )
        interval = f"{self.mean:+.2f} points, 95% CI [{self.low:+.2f}, {self.high:+.2f}]; {test}"
        if not self.detected:
            return f"{ours} vs {theirs}: no detectable difference ({interval})."
        direction = "above" if self.mean > 0 else "below"
        return f"{ours} is {direction} {theirs} ({interval})."


def seed_difference(ours: Mapping[int, float], theirs: Mapping[int, float]) -> Difference | None:
    """The difference ``ours - theirs`` of values per seed (``{seed: value}``).

    Paired over the common seeds when there are at least two, with the Wilcoxon signed-rank
    test beside the t-test; else Welch's t when each side has at least two values; else
    ``None`` (no interval can be given).
    """
    common = sorted(set(ours) & set(theirs))
    if len(common) >= 2:
        a = np.array([ours[seed] for seed in common], dtype=float)
        b = np.array([theirs[seed] for seed in common], dtype=float)
        if np.ptp(a - b) == 0:
            # Every seed differs by the same amount: an interval of no width (scipy's t is
            # undefined there), significant unless that amount is zero.
            gap = float(a[0] - b[0])
            p_value = 1.0 if gap == 0 else 0.0
            wilcoxon = _wilcoxon(a - b)
            return Difference(gap, gap, gap, p_value, len(common), True, wilcoxon)
        result = stats.ttest_rel(a, b)
        paired = True
        mean = float((a - b).mean())
        n = len(common)
        wilcoxon = _wilcoxon(a - b)
    elif len(ours) >= 2 and len(theirs) >= 2:
        a, b = np.array(list(ours.values())), np.array(list(theirs.values()))
        result = stats.ttest_ind(a, b, equal_var=False)
        paired = False
        mean = float(a.mean() - b.mean())
        n = min(len(a), len(b))
        wilcoxon = None
    else:
        return None
    interval = result.confidence_interval(0.95)
    p_value = float(result.pvalue)
    if not all(math.isfinite(x) for x in (interval.low, interval.high, p_value)):
        return None
    return Difference(mean, float(interval.low), float(interval.high), p_value, n, paired, wilcoxon)


def _wilcoxon(differences: np.ndarray) -> float:
    """Two-sided p of the Wilcoxon signed-rank test of ``differences`` ``(n,)``; 1 when all
    are zero (scipy's statistic is undefined there)."""
    if not differences.any():
        return 1.0
    return float(stats.wilcoxon(differences).pvalue)
