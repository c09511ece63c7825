"""The interface shared by every image-classification DataModule of the library."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, TypeAlias

import lightning as L
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from hqnn_lightning.data.sampling import ResumableTrainOrder, seeded_train_loader
from hqnn_lightning.preflight import InputProblem

ImageDataset: TypeAlias = Dataset[tuple[Tensor, Tensor]]
"""A dataset of ``(image, label)`` pairs: float32 ``(C, H, W)`` and an int64 scalar."""


class ImageClassificationDataModule(ResumableTrainOrder, L.LightningDataModule, ABC):
    """Train/val/test loaders of square images with one class label each.

    Subclasses describe their data through `num_classes`, `class_names`,
    `image_size` and `num_channels`, which are known before `setup` so that
    a model can be built from them, and implement `build_datasets`. The train order of
    epoch ``e`` is fixed by ``(seed, e)`` and checkpoints record where an epoch stands
    (`ResumableTrainOrder`), so a run resumed mid-epoch
    sees the batches of the uninterrupted run. Batches are
    ``(images, labels)`` with images float32 ``(B, C, H, W)``, ``H == W == image_size``, and
    labels int64 ``(B,)`` in ``[0, num_classes)``.

    Args:
        batch_size: Samples per batch, >= 1.
        num_workers: Loader worker processes, >= 0; 0 loads in the main process.
        seed: Seed of the train loader's shuffle (one seed and epoch, one order); subclasses
            also draw their train/val/test split from it unless ``split_seed`` is given.
        split_seed: Seed of what the data are (`data_seed`): the train/val/test split, a
            random class subset, generated images; ``None`` draws them from ``seed``, as runs
            made before this option did. Fixed while ``seed`` varies, every seed trains and
            validates on the same images.

    Raises:
        ValueError: ``batch_size`` < 1 or ``num_workers`` < 0.
    """

    model_defaults: ClassVar[dict[str, Any]] = {}
    """Options of a model trained from scratch that suit this dataset's images
    (``{"arch": "small_cnn"}`` for the 8x8 digits), which the runner sets on a new run where
    the command leaves them unset (`hqnn_lightning.run.options.with_data_defaults`); the
    model's own defaults otherwise."""

    input_problem: ClassVar[InputProblem | None] = None
    """Why this DataModule's arguments (``{argument: value}``, all of them, the unset ones at
    their defaults) cannot be read, as one sentence, or ``None``: a function that imports no
    torch, Lightning or PennyLane, so that the command line refuses a missing dataset before
    importing the library (`hqnn_lightning.preflight`). It says no more than the DataModule
    itself would say when set up. ``None``: nothing to check before then."""

    def __init__(
        self,
        batch_size: int = 64,
        num_workers: int = 0,
        seed: int = 0,
        split_seed: int | None = None,
    ) -> None:
        super().__init__()
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if num_workers < 0:
            raise ValueError(f"num_workers must be >= 0, got {num_workers}")
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.seed = seed
        self.split_seed = split_seed
        self.train_set: ImageDataset | None = None
        self.val_set: ImageDataset | None = None
        self.test_set: ImageDataset | None = None

    @property
    def data_seed(self) -> int:
        """The seed that draws the data: the split, a random class subset and generated
        images; ``split_seed``, or ``seed`` when that is ``None``."""
        return self.seed if self.split_seed is None else self.split_seed

    @property
    @abstractmethod
    def num_classes(self) -> int:
        """Number of classes; labels lie in ``[0, num_classes)``."""

    @property
    @abstractmethod
    def class_names(self) -> list[str]:
        """Human-readable name of each class, indexed by label."""

    @property
    @abstractmethod
    def image_size(self) -> int:
        """Side length, in pixels, of the square images the loaders yield."""

    @property
    @abstractmethod
    def num_channels(self) -> int:
        """Channels ``C`` of the images the loaders yield."""

    @abstractmethod
    def build_datasets(self) -> tuple[ImageDataset, ImageDataset, ImageDataset]:
        """Builds the ``(train, val, test)`` datasets; called once, by the first `setup`.

        Each yields ``(image, label)``: float32 ``(C, H, W)`` and an int64 scalar.
        """

    def setup(self, stage: str | None = None) -> None:
        """Builds the datasets on the first call; later calls (Lightning repeats it) do nothing.

        Args:
            stage: Lightning's ``"fit"``, ``"validate"``, ``"test"`` or ``"predict"``; all
                stages get the same datasets.
        """
        if self.train_set is None:
            self.train_set, self.val_set, self.test_set = self.build_datasets()

    def train_dataloader(self) -> DataLoader[tuple[Tensor, Tensor]]:
        """Shuffled train batches, in an order fixed by ``seed`` and the epoch."""
        dataset = self._checked(self.train_set, "train_dataloader")
        sampler = self.train_sampler(dataset, self.seed, self.batch_size)
        return seeded_train_loader(dataset, sampler, **self._loader_options())

    def val_dataloader(self) -> DataLoader[tuple[Tensor, Tensor]]:
        """Val batches in dataset order."""
        return DataLoader(self._checked(self.val_set, "val_dataloader"), **self._loader_options())

    def test_dataloader(self) -> DataLoader[tuple[Tensor, Tensor]]:
        """Test batches in dataset order."""
        return DataLoader(self._checked(self.test_set, "test_dataloader"), **self._loader_options())

    def _checked(self, dataset: ImageDataset | None, caller: str) -> ImageDataset:
        if dataset is None:
            raise RuntimeError(f"{type(self).__name__}.setup() must run before {caller}()")
        return dataset

    def _loader_options(self) -> dict[str, Any]:
        return {
            "batch_size": self.batch_size,
            "num_workers": self.num_workers,
            "pin_memory": torch.cuda.is_available(),
            "persistent_workers": self.num_workers > 0,
        }
