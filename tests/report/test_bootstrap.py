"""The bootstrap over test images on constructed predictions with known answers."""

import numpy as np
import pytest
from scipy import stats

from hqnn_lightning.report.bootstrap import image_bootstrap
from hqnn_lightning.report.predictions import ImagePredictions

N = 400
LABELS = np.arange(N) % 10


def predictions(correct: np.ndarray, labels: np.ndarray = LABELS) -> ImagePredictions:
    """Predictions right exactly where ``correct`` ``(N,)`` is true."""
    wrong = (labels + 1) % 10
    return ImagePredictions(labels, np.where(correct, labels, wrong), np.ones(len(labels), bool))


def random_correct(p: float, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).random(N) < p


def test_identical_groups_give_an_interval_of_no_width_at_zero():
    runs = {seed: predictions(random_correct(0.6, seed)) for seed in range(5)}
    interval = image_bootstrap(runs, dict(runs))
    assert (interval.mean, interval.low, interval.high) == (0.0, 0.0, 0.0)
    assert (interval.images, interval.runs) == (N, 5)


def test_right_on_a_strict_superset_of_images_is_strictly_positive():
    theirs_correct = {seed: random_correct(0.5, seed) for seed in range(5)}
    extra = np.zeros(N, bool)
    extra[:40] = True  # 10% more images right, for every seed
    ours = {seed: predictions(c | extra) for seed, c in theirs_correct.items()}
    theirs = {seed: predictions(c) for seed, c in theirs_correct.items()}
    interval = image_bootstrap(ours, theirs)
    gains = [100 * ((c | extra).mean() - c.mean()) for c in theirs_correct.values()]
    assert interval.mean == pytest.approx(np.mean(gains))  # the mean of per-seed differences
    assert 0 < interval.low < interval.mean < interval.high


def test_interval_agrees_with_scipys_percentile_bootstrap():
    ours = {seed: predictions(random_correct(0.7, seed)) for seed in range(3)}
    theirs = {seed: predictions(random_correct(0.6, 10 + seed)) for seed in range(3)}
    interval = image_bootstrap(ours, theirs)
    per_image = 100 * (
        np.mean([p.correct for p in ours.values()], axis=0)
        - np.mean([p.correct for p in theirs.values()], axis=0)
    )
    expected = stats.bootstrap(
        (per_image,), np.mean, n_resamples=20000, method="percentile", random_state=1
    ).confidence_interval
    # Monte Carlo error of 2000 resamples: a few percent of the width
    width = expected.high - expected.low
    assert interval.low == pytest.approx(expected.low, abs=0.06 * width)
    assert interval.high == pytest.approx(expected.high, abs=0.06 * width)
    # and, with 400 images, the normal approximation
    half = 1.96 * per_image.std(ddof=1) / np.sqrt(N)
    assert (interval.low, interval.high) == pytest.approx(
        (per_image.mean() - half, per_image.mean() + half), abs=0.1 * width
    )


def test_reproducible_with_its_seed():
    ours = {0: predictions(random_correct(0.7, 0))}
    theirs = {0: predictions(random_correct(0.6, 1))}
    assert image_bootstrap(ours, theirs) == image_bootstrap(ours, theirs)
    assert image_bootstrap(ours, theirs, seed=1) != image_bootstrap(ours, theirs)


def test_only_the_common_seeds_are_compared_when_there_are_some():
    right, wrong = np.ones(N, bool), np.zeros(N, bool)
    ours = {0: predictions(right), 1: predictions(right)}
    theirs = {0: predictions(wrong), 2: predictions(right)}
    assert image_bootstrap(ours, theirs).mean == 100.0  # seed 0 only
    unpaired = image_bootstrap({5: predictions(right)}, theirs)  # none in common: all runs
    assert (unpaired.mean, unpaired.runs) == (50.0, 1)


def test_refused_for_different_test_sets_or_no_predictions():
    correct = random_correct(0.5, 0)
    same = {0: predictions(correct)}
    shorter = {0: predictions(correct[:-1], LABELS[:-1])}
    relabelled = {0: predictions(correct, (LABELS + 3) % 10)}
    assert image_bootstrap(same, shorter) is None
    assert image_bootstrap(same, relabelled) is None
    assert image_bootstrap(same, {}) is None
