"""A tiny, instantly learnable synthetic dataset, for fast tests of models and training."""

from __future__ import annotations

import torch
from torch.utils.data import TensorDataset

from hqnn_lightning.data.base import ImageClassificationDataModule, ImageDataset
from hqnn_lightning.data.registry import DATAMODULES
from hqnn_lightning.data.splits import check_split_fractions, stratified_split


@DATAMODULES.register("synthetic")
class SyntheticImageDataModule(ImageClassificationDataModule):
    """Noisy copies of one fixed random image per class.

    Each class ``k`` has a pattern with standard-normal pixels, drawn from ``split_seed``
    (``seed`` when unset); its
    samples are the pattern plus Gaussian noise of standard deviation ``noise``, so that a
    small model separates the classes in a few steps. For tests only: it says nothing about
    how a model does on real images.

    Batches are ``(images, labels)``: float32 ``(B, channels, image_size, image_size)`` and
    int64 ``(B,)`` in ``[0, num_classes)``.

    Args:
        num_classes: Number of classes, >= 2.
        samples_per_class: Images per class, before the split.
        image_size: Side length in pixels of the images, >= 1.
        channels: Channels of the images, >= 1.
        noise: Standard deviation of the per-pixel noise, >= 0, in units of the patterns'.
        val_fraction: Fraction of the images in the val split, in ``[0, 1)``.
        test_fraction: Fraction of the images in the test split, in ``[0, 1)``.
        batch_size: Samples per batch, >= 1.
        num_workers: Loader worker processes, >= 0.
        seed: Seed of the train loader's shuffle, and of the data unless ``split_seed``.
        split_seed: Seed of the patterns, the noise and the split; ``None``: ``seed``.

    Raises:
        ValueError: an argument is out of its range. Too few ``samples_per_class`` for the
            split is reported by `setup`.
    """

    def __init__(
        self,
        num_classes: int = 3,
        samples_per_class: int = 32,
        image_size: int = 8,
        channels: int = 3,
        noise: float = 0.3,
        val_fraction: float = 0.25,
        test_fraction: float = 0.25,
        batch_size: int = 16,
        num_workers: int = 0,
        seed: int = 0,
        split_seed: int | None = None,
    ) -> None:
        super().__init__(
            batch_size=batch_size, num_workers=num_workers, seed=seed, split_seed=split_seed
        )
        for option, value, minimum in (
            ("num_classes", num_classes, 2),
            ("samples_per_class", samples_per_class, 1),
            ("image_size", image_size, 1),
            ("channels", channels, 1),
            ("noise", noise, 0),
        ):
            if value < minimum:
                raise ValueError(f"{option} must be >= {minimum}, got {value}")
        check_split_fractions(val_fraction, test_fraction)
        self.save_hyperparameters()
        self._num_classes = num_classes
        self._image_size = image_size
        self._channels = channels
        self.samples_per_class = samples_per_class
        self.noise = noise
        self.val_fraction = val_fraction
        self.test_fraction = test_fraction

    @property
    def num_classes(self) -> int:
        """Number of classes."""
        return self._num_classes

    @property
    def class_names(self) -> list[str]:
        """``["class_0", "class_1", ...]``."""
        return [f"class_{k}" for k in range(self.num_classes)]

    @property
    def image_size(self) -> int:
        """Side length, in pixels, of the square images the loaders yield."""
        return self._image_size

    @property
    def num_channels(self) -> int:
        """Channels of the images the loaders yield."""
        return self._channels

    def build_datasets(self) -> tuple[ImageDataset, ImageDataset, ImageDataset]:
        """Draws the patterns and the noisy samples, and splits them by class."""
        generator = torch.Generator().manual_seed(self.data_seed)
        shape = (self.num_channels, self.image_size, self.image_size)
        patterns = torch.randn(self.num_classes, *shape, generator=generator)
        labels = torch.arange(self.num_classes).repeat_interleave(self.samples_per_class)
        noise = torch.randn(len(labels), *shape, generator=generator)
        images = patterns[labels] + self.noise * noise

        train, val, test = (
            torch.from_numpy(indices)
            for indices in stratified_split(
                labels.numpy(), self.val_fraction, self.test_fraction, self.data_seed
            )
        )
        return (
            TensorDataset(images[train], labels[train]),
            TensorDataset(images[val], labels[val]),
            TensorDataset(images[test], labels[test]),
        )
