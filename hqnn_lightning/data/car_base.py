"""The base of the car DataModules: an index of image files, a class subset, splits, transforms."""

from __future__ import annotations

import warnings
from abc import abstractmethod
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from hqnn_lightning.data.base import ImageClassificationDataModule, ImageDataset
from hqnn_lightning.data.batch_transforms import BatchAugmentation, BatchNormalize
from hqnn_lightning.data.class_selection import select_classes
from hqnn_lightning.data.image_cache import CachedImageDataset, build_image_cache
from hqnn_lightning.data.image_files import ImageSample, drop_unreadable, load_rgb
from hqnn_lightning.data.index_cache import DEFAULT_CACHE_DIR, cached_unreadable
from hqnn_lightning.data.sampling import sample_seed
from hqnn_lightning.data.splits import (
    ClassTooSmallError,
    check_split_fractions,
    stratified_split,
)
from hqnn_lightning.data.transforms import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    AugmentationConfig,
    eval_transform,
    train_transform,
)

MISSING_CLASSES_SHOWN = 20
"""Classes a warning about classes without images names; it counts the others."""


@dataclass
class CarIndex:
    """The image files of a car dataset, before any subset.

    Args:
        class_names: Every class, in the dataset's order.
        train: The official training images.
        test: The official test images.
    """

    class_names: list[str]
    train: list[ImageSample]
    test: list[ImageSample]


class ImageFileDataset(Dataset[tuple[Tensor, Tensor]]):
    """Labelled image files, decoded as RGB and transformed on access.

    Yields ``(transform(image), label)``: the transform's output (float32 ``(3, S, S)`` for the
    library's transforms) and an int64 scalar.
    """

    def __init__(
        self,
        samples: Sequence[ImageSample],
        labels: Sequence[int],
        transform: Callable[[Any], Tensor],
    ) -> None:
        self.samples = list(samples)
        self.labels = torch.as_tensor(labels, dtype=torch.long)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        sample = self.samples[index]
        return self.transform(load_rgb(sample.path, sample.bbox)), self.labels[index]


class AugmentedImageFileDataset(ImageFileDataset):
    """Labelled image files with a random transform whose draws are fixed by
    ``(seed, epoch, index)``.

    torchvision's random transforms draw from torch's global generator, which differs between
    loader workers and restarts with them, so the same sample would be augmented differently
    after a resumption or with another ``num_workers``. Here each sample's transform runs
    with that generator seeded from `sample_seed` and then restored. The train sampler passes
    ``(epoch, index)`` keys (``keyed_by_epoch``); a bare ``index`` is read as epoch 0.

    Args:
        samples: The image files.
        labels: Their labels.
        transform: The random transform (`train_transform`).
        seed: The run's seed.
    """

    keyed_by_epoch = True

    def __init__(
        self,
        samples: Sequence[ImageSample],
        labels: Sequence[int],
        transform: Callable[[Any], Tensor],
        seed: int,
    ) -> None:
        super().__init__(samples, labels, transform)
        self.seed = seed

    def __getitem__(self, key: int | tuple[int, int]) -> tuple[Tensor, Tensor]:
        epoch, index = key if isinstance(key, tuple) else (0, key)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(sample_seed(self.seed, epoch, index))
            return super().__getitem__(index)


class CarDataModule(ImageClassificationDataModule):
    """Car photographs: official train/test split, a stratified val split, optional subset.

    Subclasses implement `load_index`, and take their own arguments plus ``**kwargs``,
    passed on, for these. Every file is checked once (a reduced-size decode)
    before training (cached until a file changes); unreadable ones are skipped with a one-line
    warning that counts them. Selected classes with no test image are warned of once, at
    setup, and listed in ``test_classes_missing`` (which the runner writes to
    ``results.json``).

    Args:
        data_dir: The dataset's directory.
        image_size: Side of the square images, in pixels (224 in the study).
        classes: Keep only these classes (names as the dataset spells them).
        num_classes: Keep ``k`` classes chosen by ``class_selection``; ``None`` keeps all.
        class_selection: ``"first"``, ``"most_images"`` or ``"random"`` (seeded).
        val_fraction: Fraction of the training images held out for validation, stratified.
        augment: Apply the study's augmentation to training images.
        hflip: Random horizontal flip (p = 0.5).
        color_jitter: Brightness, contrast and saturation factors in ``[1 - s, 1 + s]``.
        rotation: Random rotation range, degrees.
        normalize: Standardise RGB with ``normalize_mean`` and ``normalize_std``.
        normalize_mean: Per-channel RGB mean of images in ``[0, 1]``; ``None``: ImageNet's.
            With pretrained backbone weights the runner sets the backbone's own
            (``backbones.pretrained_data_config``) unless this is given.
        normalize_std: Per-channel RGB standard deviation; ``None``: ImageNet's.
        check_images: Decode every file once before training and skip unreadable ones; the
            result is cached until a file changes (files that could not be read for a reason
            that may pass, such as a permission, are checked again on every run).
        recheck_images: Check every file the cache excludes again, whatever the reason.
        cache_images: The fast path: decode and resize every image once into an on-disk
            uint8 cache, and augment whole batches after they reach the device (the GPU when
            there is one) in ``on_after_batch_transfer``. Same augmentation distribution.
        cache_dir: Where caches go (default ``~/.cache/hqnn_lightning``).
        batch_size: Samples per batch.
        num_workers: DataLoader worker processes.
        seed: Seed of the batch order and the augmentation, and of the class subset and the
            splits unless ``split_seed`` is given.
        split_seed: Seed of the class subset (``"random"``), the val split and a drawn test
            split (VMMRdb's); ``None``: ``seed``.
    """

    def __init__(
        self,
        data_dir: str,
        image_size: int = 224,
        classes: list[str] | None = None,
        num_classes: int | None = None,
        class_selection: str = "first",
        val_fraction: float = 0.1,
        augment: bool = True,
        hflip: bool = True,
        color_jitter: float = 0.2,
        rotation: float = 10.0,
        normalize: bool = True,
        normalize_mean: list[float] | None = None,
        normalize_std: list[float] | None = None,
        check_images: bool = True,
        recheck_images: bool = False,
        cache_images: bool = False,
        cache_dir: str | None = None,
        batch_size: int = 32,
        num_workers: int = 0,
        seed: int = 0,
        split_seed: int | None = None,
    ) -> None:
        super().__init__(
            batch_size=batch_size, num_workers=num_workers, seed=seed, split_seed=split_seed
        )
        self.cache_dir = Path(cache_dir) if cache_dir else DEFAULT_CACHE_DIR
        check_split_fractions(val_fraction, 0.0)
        # Also records the arguments of the subclass constructors that called this one. Not
        # logged: the requested num_classes (None: all) would clash with the model's count,
        # which Lightning refuses; the runner logs its whole resolved configuration instead.
        self.save_hyperparameters(logger=False)
        self.data_dir = Path(data_dir)
        self.requested_classes = classes
        self.requested_num_classes = num_classes
        self.class_selection = class_selection
        self.val_fraction = val_fraction
        self.check_images = check_images
        self.recheck_images = recheck_images
        self.cache_images = cache_images
        self.normalize = normalize
        self.augmentation = AugmentationConfig(
            image_size=image_size,
            hflip=hflip and augment,
            color_jitter=color_jitter if augment else 0.0,
            rotation=rotation if augment else 0.0,
            normalize=normalize,
            mean=tuple(normalize_mean) if normalize_mean is not None else IMAGENET_MEAN,
            std=tuple(normalize_std) if normalize_std is not None else IMAGENET_STD,
        )
        self.batch_augmentation = BatchAugmentation(self.augmentation)
        self.batch_normalize = BatchNormalize(self.augmentation)
        self.test_classes_missing: list[str] = []

    @abstractmethod
    def load_index(self) -> CarIndex:
        """Reads the dataset's files and annotations.

        Raises:
            FileNotFoundError: the expected files are missing; the message names them.
        """

    @cached_property
    def index(self) -> CarIndex:
        """The dataset's readable image files (unreadable ones skipped with a warning)."""
        index = self.load_index()
        if self.check_images:
            samples = index.train + index.test
            unreadable = cached_unreadable(
                [sample.path for sample in samples],
                self.cache_dir,
                f"checking {self.data_dir}",
                recheck=self.recheck_images,
            )
            train, test = drop_unreadable([index.train, index.test], unreadable, str(self.data_dir))
            index = CarIndex(index.class_names, train, test)
        return index

    @cached_property
    def selected_classes(self) -> list[str]:
        """The classes kept, in dataset order; label ``i`` is ``selected_classes[i]``."""
        counts = Counter(sample.class_name for sample in self.index.train)
        return select_classes(
            self.index.class_names,
            {name: counts.get(name, 0) for name in self.index.class_names},
            self.requested_classes,
            self.requested_num_classes,
            self.class_selection,
            self.data_seed,
        )

    @property
    def num_classes(self) -> int:
        return len(self.selected_classes)

    @property
    def class_names(self) -> list[str]:
        return list(self.selected_classes)

    @property
    def image_size(self) -> int:
        return self.augmentation.image_size

    @property
    def num_channels(self) -> int:
        return 3

    def build_datasets(self) -> tuple[ImageDataset, ImageDataset, ImageDataset]:
        """The selected classes' train, val and test datasets. Selected classes with no test
        image are warned of and kept in `test_classes_missing`; those with no training image
        are warned of.

        Raises:
            ValueError: the selected classes have no test image (empty ``test/`` folders), or
                a class has one training image (the message names it and its file).
        """
        label_of = {name: label for label, name in enumerate(self.selected_classes)}
        train = [sample for sample in self.index.train if sample.class_name in label_of]
        test = [sample for sample in self.index.test if sample.class_name in label_of]
        if not test:
            raise ValueError(
                f"{self.data_dir}: no test image in any of the {len(label_of)} selected "
                "classes, so a run would train and then have nothing to test on"
            )
        self.test_classes_missing = self._classes_without_images(train, test)
        train_labels = [label_of[sample.class_name] for sample in train]
        fit, val = self._validation_split(train, train_labels)
        val_labels = [train_labels[i] for i in val]
        fit_labels = [train_labels[i] for i in fit]
        test_labels = [label_of[sample.class_name] for sample in test]
        if self.cache_images:
            images = build_image_cache(train + test, self.image_size, self.cache_dir)
            test_rows = range(len(train), len(train) + len(test))
            return (
                CachedImageDataset(images, fit, fit_labels),
                CachedImageDataset(images, val, val_labels),
                CachedImageDataset(images, test_rows, test_labels),
            )
        augment, evaluate = train_transform(self.augmentation), eval_transform(self.augmentation)
        return (
            AugmentedImageFileDataset([train[i] for i in fit], fit_labels, augment, self.seed),
            ImageFileDataset([train[i] for i in val], val_labels, evaluate),
            ImageFileDataset(test, test_labels, evaluate),
        )

    def _classes_without_images(
        self, train: Sequence[ImageSample], test: Sequence[ImageSample]
    ) -> list[str]:
        """The selected classes with no image in ``test``, which are returned, and those with
        none in ``train``; one warning names each group."""
        missing = {}
        for split, samples in (("training", train), ("test", test)):
            present = {sample.class_name for sample in samples}
            missing[split] = [name for name in self.selected_classes if name not in present]
        consequence = {
            "training": "the model cannot learn them",
            "test": "test metrics are computed over the other classes (results.json: "
            "test_classes_missing; test/f1_macro_classes counts the classes macro F1 averages "
            "over)",
        }
        for split, names in missing.items():
            if names:
                shown = ", ".join(names[:MISSING_CLASSES_SHOWN])
                more = len(names) - MISSING_CLASSES_SHOWN
                warnings.warn(
                    f"{self.data_dir}: no {split} image of {len(names)} of the "
                    f"{len(self.selected_classes)} classes: {shown}"
                    f"{f' and {more} more' if more > 0 else ''}; {consequence[split]}",
                    stacklevel=3,
                )
        return missing["test"]

    def _validation_split(
        self, train: Sequence[ImageSample], labels: Sequence[int]
    ) -> tuple[np.ndarray, np.ndarray]:
        """The stratified ``(fit, val)`` indices into ``train`` (labels ``(N,)``).

        Raises:
            ValueError: a class has one training image; the message names the class, its file
                and what to do.
        """
        try:
            fit, val, _ = stratified_split(labels, self.val_fraction, 0.0, self.data_seed)
        except ClassTooSmallError as error:
            name = self.selected_classes[error.label]
            files = [str(sample.path) for sample in train if sample.class_name == name]
            minimum = getattr(self, "min_images_per_class", None)
            fixes = "add images to it, remove it, or leave it out with classes (--classes)"
            if minimum is not None:
                fixes = (
                    f"raise min_images_per_class (--min-images-per-class, now {minimum}) to "
                    f"leave such classes out, or {fixes}"
                )
            raise ValueError(
                f"{self.data_dir}: class {name!r} has {error.count} training image(s) "
                f"({', '.join(files)}), too few to hold one out for validation and train on "
                f"another; {fixes}"
            ) from error
        return fit, val

    def save_augmentation_grid(self, path: str | Path, n_images: int = 4, n_views: int = 6) -> Path:
        """Saves the study's figure: ``n_images`` training images, each with ``n_views``
        augmented views, as a PNG at ``path``."""
        # Imported here: the figure needs matplotlib, which importing the data should not load.
        from hqnn_lightning.data.augmentation_grid import save_augmentation_grid

        kept = set(self.selected_classes)
        samples = [sample for sample in self.index.train if sample.class_name in kept]
        images = [load_rgb(sample.path, sample.bbox) for sample in samples[:n_images]]
        return save_augmentation_grid(
            images, train_transform(self.augmentation), path, n_views, self.augmentation
        )

    def batch_transform(self, images: Tensor, train: bool) -> Tensor:
        """The fast path's per-batch transform: uint8 ``(B, 3, S, S)`` to float32, normalized,
        and augmented when ``train``. Without ``cache_images`` batches are already transformed.
        """
        if not self.cache_images:
            return images
        return self.batch_augmentation(images) if train else self.batch_normalize(images)

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        images, labels = batch
        training = self.trainer is not None and self.trainer.training
        return self.batch_transform(images, train=training), labels
