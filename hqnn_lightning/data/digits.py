"""scikit-learn's handwritten digits: the built-in default dataset, small and offline."""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torchvision.transforms.v2.functional as TF
from sklearn.datasets import load_digits
from torch.utils.data import TensorDataset

from hqnn_lightning.data.base import ImageClassificationDataModule, ImageDataset
from hqnn_lightning.data.registry import DATAMODULES
from hqnn_lightning.data.splits import check_split_fractions, stratified_split

_NATIVE_SIZE = 8
_MAX_PIXEL = 16.0


@DATAMODULES.register("digits")
class DigitsDataModule(ImageClassificationDataModule):
    """The 1,797 8x8 greyscale handwritten digits of `sklearn.datasets.load_digits`.

    The set ships inside scikit-learn, so it needs no download, and is small enough to be
    resized, normalized and held in memory once, in `setup`. Pixel values 0..16 are
    scaled to ``[0, 1]``, then, if ``normalize``, standardized with the mean and standard
    deviation of the train split's pixels. The split is stratified by class and fixed by
    ``split_seed`` (``seed`` when unset); with the default fractions it holds 1,257 train,
    270 val and 270 test images.

    Batches are ``(images, labels)``: float32 ``(B, channels, image_size, image_size)`` and
    int64 ``(B,)`` in ``[0, 10)``.

    Args:
        image_size: Side length in pixels of the images; other than 8, they are resized
            (bilinear, antialiased).
        channels: 1, or 3 to replicate the grey channel for models that expect RGB.
        normalize: Standardize pixels with one mean and std over all train-split pixels.
        val_fraction: Fraction of the images in the val split, in ``[0, 1)``.
        test_fraction: Fraction of the images in the test split, in ``[0, 1)``.
        batch_size: Samples per batch, >= 1.
        num_workers: Loader worker processes, >= 0.
        seed: Seed of the train loader's shuffle, and of the split unless ``split_seed``.
        split_seed: Seed of the split; ``None``: ``seed``.

    Raises:
        ValueError: ``image_size`` < 1, ``channels`` not 1 or 3, invalid fractions, or an
            invalid ``batch_size`` or ``num_workers``.
    """

    model_defaults: ClassVar[dict[str, Any]] = {"arch": "small_cnn"}
    """The small CNN: the hybrid on it trains 10 epochs in seconds on a CPU, where a ResNet-50
    from scratch (the models' default, the study's backbone) took over 10 minutes."""

    def __init__(
        self,
        image_size: int = _NATIVE_SIZE,
        channels: int = 1,
        normalize: bool = True,
        val_fraction: float = 0.15,
        test_fraction: float = 0.15,
        batch_size: int = 64,
        num_workers: int = 0,
        seed: int = 0,
        split_seed: int | None = None,
    ) -> None:
        super().__init__(
            batch_size=batch_size, num_workers=num_workers, seed=seed, split_seed=split_seed
        )
        if image_size < 1:
            raise ValueError(f"image_size must be >= 1, got {image_size}")
        if channels not in (1, 3):
            raise ValueError(f"channels must be 1 or 3, got {channels}")
        check_split_fractions(val_fraction, test_fraction)
        self.save_hyperparameters()
        self._image_size = image_size
        self._channels = channels
        self.normalize = normalize
        self.val_fraction = val_fraction
        self.test_fraction = test_fraction

    @property
    def num_classes(self) -> int:
        """10: the digits 0 to 9."""
        return 10

    @property
    def class_names(self) -> list[str]:
        """``["0", ..., "9"]``."""
        return [str(digit) for digit in range(10)]

    @property
    def image_size(self) -> int:
        """Side length, in pixels, of the square images the loaders yield."""
        return self._image_size

    @property
    def num_channels(self) -> int:
        """1 (grey) or 3 (grey replicated)."""
        return self._channels

    def build_datasets(self) -> tuple[ImageDataset, ImageDataset, ImageDataset]:
        """Loads, splits, resizes and normalizes the digits into in-memory datasets."""
        digits = load_digits()
        images = torch.from_numpy(digits.images).float().unsqueeze(1) / _MAX_PIXEL
        if self.image_size != _NATIVE_SIZE:
            images = TF.resize(images, [self.image_size, self.image_size], antialias=True)
        labels = torch.from_numpy(digits.target).long()

        train, val, test = (
            torch.from_numpy(indices)
            for indices in stratified_split(
                digits.target, self.val_fraction, self.test_fraction, self.data_seed
            )
        )
        if self.normalize:
            train_pixels = images[train]
            images = (images - train_pixels.mean()) / train_pixels.std()
        images = images.repeat(1, self.num_channels, 1, 1)
        return (
            TensorDataset(images[train], labels[train]),
            TensorDataset(images[val], labels[val]),
            TensorDataset(images[test], labels[test]),
        )
