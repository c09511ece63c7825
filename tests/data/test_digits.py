"""DigitsDataModule: split, shapes, normalization, determinism and argument checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from hqnn_lightning.data import DigitsDataModule, stratified_split

NUM_DIGITS = 1797


def ready(**kwargs) -> DigitsDataModule:
    datamodule = DigitsDataModule(**kwargs)
    datamodule.setup("fit")
    return datamodule


@pytest.fixture(scope="module")
def default() -> DigitsDataModule:
    return ready()


def all_labels(dataset) -> torch.Tensor:
    return dataset.tensors[1]


class TestSplit:
    def test_default_sizes(self, default):
        sizes = (len(default.train_set), len(default.val_set), len(default.test_set))
        assert sizes == (1257, 270, 270)
        assert sum(sizes) == NUM_DIGITS

    def test_split_indices_are_disjoint_and_cover_every_digit(self):
        labels = load_digits().target
        train, val, test = stratified_split(labels, 0.15, 0.15, seed=0)
        assert not set(train) & set(val)
        assert not set(train) & set(test)
        assert not set(val) & set(test)
        assert len(train) + len(val) + len(test) == NUM_DIGITS

    def test_class_counts_follow_the_whole_set(self, default):
        # Test is drawn from all digits, so its counts are within one sample of each class's
        # share; train and val split what is left, which adds under one sample of error.
        class_counts = np.bincount(load_digits().target)
        for dataset, tolerance in (
            (default.test_set, 1),
            (default.val_set, 2),
            (default.train_set, 2),
        ):
            counts = np.bincount(all_labels(dataset).numpy(), minlength=10)
            expected = class_counts * len(dataset) / NUM_DIGITS
            np.testing.assert_array_less(np.abs(counts - expected), tolerance)

    def test_zero_test_fraction_gives_empty_test_set(self):
        datamodule = ready(val_fraction=0.2, test_fraction=0.0)
        assert len(datamodule.test_set) == 0
        assert len(datamodule.train_set) + len(datamodule.val_set) == NUM_DIGITS

    def test_same_seed_same_split_different_seed_different_split(self, default):
        same = ready(seed=0)
        other = ready(seed=1)
        assert torch.equal(default.val_set.tensors[0], same.val_set.tensors[0])
        assert not torch.equal(default.val_set.tensors[0], other.val_set.tensors[0])


class TestBatches:
    @pytest.mark.parametrize("image_size", [8, 16])
    @pytest.mark.parametrize("channels", [1, 3])
    def test_shapes_and_dtypes(self, image_size, channels):
        datamodule = ready(image_size=image_size, channels=channels, batch_size=32)
        for loader in (
            datamodule.train_dataloader(),
            datamodule.val_dataloader(),
            datamodule.test_dataloader(),
        ):
            images, labels = next(iter(loader))
            assert images.shape == (32, channels, image_size, image_size)
            assert images.dtype == torch.float32
            assert labels.shape == (32,)
            assert labels.dtype == torch.int64
            assert labels.min() >= 0 and labels.max() < 10

    def test_three_channels_replicate_the_grey_one(self):
        grey = ready(channels=1).train_set.tensors[0]
        rgb = ready(channels=3).train_set.tensors[0]
        for channel in range(3):
            assert torch.equal(rgb[:, channel], grey[:, 0])

    def test_train_order_is_fixed_by_the_seed(self, default):
        def first_labels(datamodule: DigitsDataModule) -> torch.Tensor:
            return next(iter(datamodule.train_dataloader()))[1]

        assert torch.equal(first_labels(default), first_labels(ready(seed=0)))
        assert not torch.equal(first_labels(default), first_labels(ready(seed=1)))
        assert not torch.equal(first_labels(default), all_labels(default.train_set)[:64])

    def test_val_and_test_loaders_keep_dataset_order(self, default):
        for loader, dataset in (
            (default.val_dataloader(), default.val_set),
            (default.test_dataloader(), default.test_set),
        ):
            labels = torch.cat([batch_labels for _, batch_labels in loader])
            assert torch.equal(labels, all_labels(dataset))

    @pytest.mark.parametrize("num_workers", [0, 2])
    def test_loader_options(self, num_workers):
        loader = ready(num_workers=num_workers).train_dataloader()
        assert loader.num_workers == num_workers
        assert loader.persistent_workers == (num_workers > 0)
        assert loader.pin_memory == torch.cuda.is_available()


class TestNormalization:
    def test_train_set_is_standardized(self, default):
        images = default.train_set.tensors[0]
        assert images.mean().item() == pytest.approx(0.0, abs=1e-5)
        assert images.std().item() == pytest.approx(1.0, abs=1e-5)

    def test_val_and_test_sets_use_train_statistics(self, default):
        pixels = torch.from_numpy(load_digits().images).float() / 16
        train, val, test = stratified_split(load_digits().target, 0.15, 0.15, seed=0)
        mean, std = pixels[train].mean(), pixels[train].std()
        for indices, dataset in ((val, default.val_set), (test, default.test_set)):
            expected = ((pixels[indices] - mean) / std).unsqueeze(1)
            torch.testing.assert_close(dataset.tensors[0], expected)

    def test_unnormalized_pixels_are_scaled_to_unit_interval(self):
        images = ready(normalize=False).train_set.tensors[0]
        assert images.min().item() == 0.0
        assert images.max().item() == 1.0


class TestDescription:
    def test_properties(self):
        datamodule = DigitsDataModule(image_size=16, channels=3)
        assert datamodule.num_classes == 10
        assert datamodule.class_names == [str(digit) for digit in range(10)]
        assert datamodule.image_size == 16
        assert datamodule.num_channels == 3

    def test_hyperparameters_are_saved(self):
        datamodule = DigitsDataModule(image_size=16, seed=3)
        assert datamodule.hparams["image_size"] == 16
        assert datamodule.hparams["seed"] == 3
        assert datamodule.hparams["val_fraction"] == 0.15


class TestSetup:
    def test_setup_is_idempotent(self):
        datamodule = ready()
        train_set = datamodule.train_set
        datamodule.setup("fit")
        datamodule.setup("test")
        assert datamodule.train_set is train_set

    @pytest.mark.parametrize("loader", ["train_dataloader", "val_dataloader", "test_dataloader"])
    def test_loader_before_setup_raises(self, loader):
        with pytest.raises(RuntimeError, match=rf"setup\(\) must run before {loader}"):
            getattr(DigitsDataModule(), loader)()


class TestArguments:
    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"channels": 2}, "channels must be 1 or 3, got 2"),
            ({"image_size": 0}, "image_size must be >= 1"),
            ({"batch_size": 0}, "batch_size must be >= 1"),
            ({"num_workers": -1}, "num_workers must be >= 0"),
            ({"val_fraction": 1.0}, "val_fraction must be in"),
            ({"test_fraction": -0.1}, "test_fraction must be in"),
            ({"val_fraction": 0.6, "test_fraction": 0.4}, "must be < 1"),
        ],
    )
    def test_bad_arguments_raise_at_construction(self, kwargs, message):
        with pytest.raises(ValueError, match=message):
            DigitsDataModule(**kwargs)
