"""`hqnn_lightning.report.retest`: the fixed test subset and the intervals over seeds."""

from __future__ import annotations

import pytest
from scipy import stats

from hqnn_lightning.report.retest import mean_interval, subset_indices


def test_the_subset_is_seeded_sorted_and_without_repeats():
    first = subset_indices(100, 10, seed=0)
    assert first == subset_indices(100, 10, seed=0)
    assert first != subset_indices(100, 10, seed=1)
    assert first == sorted(set(first)) and len(first) == 10
    assert all(0 <= index < 100 for index in first)


@pytest.mark.parametrize("images", [None, 100, 500])
def test_no_subset_or_a_large_one_is_the_whole_test_set(images):
    assert subset_indices(100, images, seed=0) == list(range(100))


def test_the_interval_is_the_t_interval_over_seeds():
    values = [1.0, 2.0, 4.0]
    mean, half = mean_interval(values)
    low, high = stats.t.interval(0.95, 2, loc=mean, scale=stats.sem(values))
    assert mean == pytest.approx(7 / 3)
    assert half == pytest.approx((high - low) / 2)
    assert mean_interval([3.0]) == (3.0, 0.0)
