"""The paired and unpaired differences on constructed inputs with known answers."""

import pytest
from scipy import stats

from hqnn_lightning.report.bootstrap import ImageInterval
from hqnn_lightning.report.statistics import seed_difference


def test_paired_interval_is_the_t_interval_of_the_per_seed_differences():
    ours = {0: 10.0, 1: 12.0, 2: 14.0, 3: 13.0}
    theirs = {0: 9.0, 1: 10.0, 2: 11.0, 3: 12.0}  # differences 1, 2, 3, 1: mean 1.75
    diff = seed_difference(ours, theirs)
    sd = stats.tstd([1, 2, 3, 1])
    half = stats.t.ppf(0.975, 3) * sd / 4**0.5
    assert diff.paired and diff.n == 4
    assert diff.mean == pytest.approx(1.75)
    assert (diff.low, diff.high) == pytest.approx((1.75 - half, 1.75 + half))
    assert diff.detected  # 1.75 - 1.52 > 0


def test_pairing_removes_the_seed_effect():
    # A large seed effect shared by both models hides a constant +1 from an unpaired test.
    ours = {0: 11.0, 1: 31.0, 2: 51.0, 3: 21.5}
    theirs = {0: 10.0, 1: 30.0, 2: 50.0, 3: 20.0}
    assert seed_difference(ours, theirs).detected
    unpaired = seed_difference({10 + k: v for k, v in ours.items()}, theirs)
    assert not unpaired.paired and not unpaired.detected


def test_no_detectable_difference_is_said_so():
    diff = seed_difference({0: 50.0, 1: 60.0, 2: 55.0}, {0: 52.0, 1: 57.0, 2: 56.0})
    assert diff.low < 0 < diff.high
    assert diff.sentence("hybrid", "hybrid_control").startswith(
        "hybrid vs hybrid_control: no detectable difference (+0.00 points, 95% CI ["
    )


def test_welch_when_the_seeds_differ():
    diff = seed_difference({0: 1.0, 1: 2.0, 2: 3.0}, {5: 11.0, 6: 12.0, 7: 14.0})
    expected = stats.ttest_ind([1, 2, 3], [11, 12, 14], equal_var=False)
    assert not diff.paired
    assert diff.p_value == pytest.approx(expected.pvalue)
    assert diff.high < 0 and "is below" in diff.sentence("a", "b")


def test_constant_differences_and_too_few_seeds():
    same = seed_difference({0: 5.0, 1: 7.0}, {0: 5.0, 1: 7.0})
    assert (same.mean, same.low, same.high, same.detected) == (0.0, 0.0, 0.0, False)
    shifted = seed_difference({0: 6.0, 1: 8.0}, {0: 5.0, 1: 7.0})
    assert shifted.detected and shifted.cell() == "+1.00 [+1.00, +1.00]"
    assert seed_difference({0: 1.0}, {0: 2.0, 1: 3.0}) is None


def test_wilcoxon_is_scipys_and_five_positive_pairs_cannot_go_below_0_0625():
    ours = {0: 10.0, 1: 12.0, 2: 14.0, 3: 13.0, 4: 20.0, 5: 8.0}
    theirs = {0: 9.0, 1: 10.0, 2: 11.0, 3: 15.5, 4: 15.0, 5: 8.5}
    diff = seed_difference(ours, theirs)
    expected = stats.wilcoxon([1.0, 2.0, 3.0, -2.5, 5.0, -0.5]).pvalue
    assert diff.wilcoxon_p == pytest.approx(expected)
    assert diff.p_value == pytest.approx(
        stats.ttest_rel(list(ours.values()), list(theirs.values())).pvalue
    )

    five = seed_difference({k: 50.0 + k for k in range(5)}, {k: 49.0 for k in range(5)})
    assert five.wilcoxon_p == pytest.approx(0.0625)  # 2 / 2**5: the smallest possible
    assert five.detected  # while the t interval excludes zero
    assert "Wilcoxon p = 0.062 (no lower than 0.062 with 5 pairs)" in five.sentence("a", "b")


def test_wilcoxon_only_when_paired_and_one_when_nothing_differs():
    assert seed_difference({0: 1.0, 1: 2.0, 2: 3.0}, {5: 1.0, 6: 2.0, 7: 4.0}).wilcoxon_p is None
    assert seed_difference({0: 5.0, 1: 7.0}, {0: 5.0, 1: 7.0}).wilcoxon_p == 1.0
    assert "Wilcoxon" not in seed_difference({0: 1.0, 1: 2.0}, {5: 1.0, 6: 3.0}).sentence("a", "b")


def test_the_sentence_gives_the_bootstrap_interval_over_images():
    diff = seed_difference({0: 50.0, 1: 60.0, 2: 55.0}, {0: 52.0, 1: 57.0, 2: 56.0})
    images = ImageInterval(0.0, -1.25, 1.5, 2049, 3)
    sentence = diff.sentence("hybrid", "hybrid_control", images)
    assert sentence.startswith("hybrid vs hybrid_control: no detectable difference")
    assert "over the 2049 test images, 95% bootstrap CI [-1.25, +1.50]" in sentence
