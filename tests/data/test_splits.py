"""Properties of stratified_split: a deterministic, class-balanced partition of the indices."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hqnn_lightning.data import stratified_split


@st.composite
def split_problems(draw: st.DrawFn) -> tuple[np.ndarray, float, float, int]:
    """Shuffled labels of 2 to 5 classes of 10 to 40 samples, valid fractions and a seed."""
    counts = draw(st.lists(st.integers(10, 40), min_size=2, max_size=5))
    labels = np.repeat(np.arange(len(counts)), counts)
    labels = np.random.default_rng(draw(st.integers(0, 2**16))).permutation(labels)
    fraction = st.sampled_from([0.0, 0.1, 0.15, 0.2, 0.3, 0.4])
    return labels, draw(fraction), draw(fraction), draw(st.integers(0, 2**31))


def assert_stratified(labels: np.ndarray, pool: np.ndarray, drawn: np.ndarray) -> None:
    """Every class's count in ``drawn`` is within one sample of its share of ``pool``."""
    num_classes = labels.max() + 1
    pool_counts = np.bincount(labels[pool], minlength=num_classes)
    drawn_counts = np.bincount(labels[drawn], minlength=num_classes)
    expected = pool_counts * len(drawn) / len(pool)
    np.testing.assert_array_less(np.abs(drawn_counts - expected), 1 + 1e-9)


class TestProperties:
    @settings(max_examples=60, deadline=None)
    @given(split_problems())
    def test_partitions_indices_into_sorted_sets_of_requested_sizes(self, problem):
        labels, val_fraction, test_fraction, seed = problem
        train, val, test = stratified_split(labels, val_fraction, test_fraction, seed)

        for indices in (train, val, test):
            assert indices.dtype == np.int64
            assert np.all(np.diff(indices) > 0)
        np.testing.assert_array_equal(
            np.sort(np.concatenate([train, val, test])), np.arange(len(labels))
        )
        assert len(test) == round(test_fraction * len(labels))
        assert len(val) == round(val_fraction * len(labels))

    @settings(max_examples=60, deadline=None)
    @given(split_problems())
    def test_each_draw_preserves_class_proportions_within_one_sample(self, problem):
        labels, val_fraction, test_fraction, seed = problem
        train, val, test = stratified_split(labels, val_fraction, test_fraction, seed)

        everything = np.arange(len(labels))
        train_val = np.union1d(train, val)
        assert_stratified(labels, everything, test)
        assert_stratified(labels, everything, train_val)
        assert_stratified(labels, train_val, val)
        assert_stratified(labels, train_val, train)

    @settings(max_examples=30, deadline=None)
    @given(split_problems())
    def test_same_seed_gives_same_split(self, problem):
        labels, val_fraction, test_fraction, seed = problem
        first = stratified_split(labels, val_fraction, test_fraction, seed)
        second = stratified_split(labels, val_fraction, test_fraction, seed)
        for a, b in zip(first, second, strict=True):
            np.testing.assert_array_equal(a, b)


def test_different_seeds_give_different_splits():
    labels = np.repeat(np.arange(4), 50)
    first = stratified_split(labels, 0.2, 0.2, seed=0)
    second = stratified_split(labels, 0.2, 0.2, seed=1)
    for a, b in zip(first, second, strict=True):
        assert not np.array_equal(a, b)


class TestEmptySets:
    labels = np.repeat(np.arange(3), 10)

    def test_zero_test_fraction_gives_empty_test_set(self):
        train, val, test = stratified_split(self.labels, 0.2, 0.0, seed=0)
        assert (len(train), len(val), len(test)) == (24, 6, 0)
        assert test.dtype == np.int64

    def test_zero_val_fraction_gives_empty_val_set(self):
        train, val, test = stratified_split(self.labels, 0.0, 0.2, seed=0)
        assert (len(train), len(val), len(test)) == (24, 0, 6)

    def test_zero_fractions_put_everything_in_train(self):
        train, val, test = stratified_split(self.labels, 0.0, 0.0, seed=0)
        np.testing.assert_array_equal(train, np.arange(30))
        assert len(val) == len(test) == 0


class TestErrors:
    labels = np.repeat(np.arange(3), 10)

    @pytest.mark.parametrize("fraction", [-0.1, 1.0, 1.5, float("nan")])
    @pytest.mark.parametrize("option", ["val_fraction", "test_fraction"])
    def test_fraction_outside_unit_interval(self, option, fraction):
        fractions = {"val_fraction": 0.1, "test_fraction": 0.1, option: fraction}
        with pytest.raises(ValueError, match=rf"{option} must be in \[0, 1\)"):
            stratified_split(self.labels, seed=0, **fractions)

    def test_fractions_summing_to_one(self):
        with pytest.raises(ValueError, match="val_fraction \\+ test_fraction must be < 1"):
            stratified_split(self.labels, 0.5, 0.5, seed=0)

    def test_class_with_one_sample_is_named_with_its_count(self):
        labels = np.array([0] * 10 + [1] * 10 + [7])
        with pytest.raises(ValueError, match="class 7 has 1 sample"):
            stratified_split(labels, 0.2, 0.2, seed=0)

    @pytest.mark.parametrize(
        ("fractions", "message"),
        [
            (
                (0.04, 0.2),
                "the val set would hold 1 sample(s), fewer than the 3 classes; raise "
                "val_fraction (--val-fraction), or keep fewer classes",
            ),
            (
                (0.0, 0.95),
                "the train+val set would hold 2 sample(s), fewer than the 3 classes; "
                "lower test_fraction (--test-fraction)",
            ),
        ],
    )
    def test_set_smaller_than_the_number_of_classes(self, fractions, message):
        with pytest.raises(ValueError) as raised:
            stratified_split(self.labels, *fractions, seed=0)
        assert str(raised.value) == message

    def test_labels_must_be_one_dimensional(self):
        with pytest.raises(ValueError, match=r"shape \(N,\)"):
            stratified_split(self.labels.reshape(3, 10), 0.2, 0.2, seed=0)
