"""Features of a fixed extractor computed once for a whole dataset and cached on disk.

A fixed quanvolution filter, or a frozen backbone, maps each image to the same features every
epoch, so a model built with ``precompute_features=True`` (its steps take those features:
`QuanvNet` and `ConvControlNet` with a fixed filter; ``ClassicalResNet``, ``HybridVQC`` and
``HybridControl`` with ``freeze_backbone=True``) can train what follows on features computed
once. A backbone that trains only its last stages (``train_last_stages``) has a frozen prefix,
cached the same way: its output is the activations entering the first trained stage
(`hqnn_lightning.models.stages.FrozenPrefix`), and the steps run the trained stages on them.
`build_feature_cache` (`feature_store`) writes them to ``cache_dir/<kind>-<key>/`` (float32
``features.npy``, memory-mapped when read, ``labels.npy``, ``meta.json``); the extractor
describes itself (``describe()``: a quanvolution by its circuit, seed, stride and padding, a
backbone or convolution by its class and weights), and the key hashes that description, the
image shape, the number of samples and a fingerprint of the dataset (`feature_cache_key`),
so a change to any of them builds a new cache instead of reading a stale one. When the images
come from a decoded-image cache (``cache_images=True``), the features of all of its images are
cached once and each split reads its rows (`FeatureRows`): another seed's train/val split, or
another class subset of the same images, costs no new pass.

This is incompatible with augmentation applied before the extractor: an augmented image is new
every epoch, and cached features would freeze one view of each image for the whole training
run, which is a different experiment. `FeatureCacheDataModule` therefore refuses a
DataModule that augments; train with ``augment=False`` or compute features on the fly. Partial
fine-tuning from cached activations is thus fine-tuning on un-augmented images; with
augmentation, the same model trains on images (``precompute_features=False``), every step
running the whole backbone. A trainable extractor changes at every step and cannot be cached
either.

A quanvolution's features take as much disk as the float32 images when the stride equals the
kernel size (``C * k**2`` channels of ``(H / k) x (W / k)``), more with overlapping patches; a
backbone's take ``F`` floats per image (2048 for ResNet-50); a frozen prefix's, its activations:
192 x 7 x 7 floats (37.6 kB) per 224 px image entering EfficientNet-Lite0's last stage,
112 x 14 x 14 (87.8 kB) entering the last two.
"""

from __future__ import annotations

from pathlib import Path

import lightning as L
from torch import nn
from torch.utils.data import DataLoader, Dataset

from hqnn_lightning.data.base import ImageClassificationDataModule
from hqnn_lightning.data.feature_cache_key import dataset_fingerprint, describe_extractor
from hqnn_lightning.data.feature_store import (
    FeatureDataset,
    FeatureRows,
    build_feature_cache,
    collate_feature_batch,
    fast_extractor,
)
from hqnn_lightning.data.image_cache import CachedImageDataset
from hqnn_lightning.data.sampling import ResumableTrainOrder, seeded_train_loader

EXTRACTION_BATCH_SIZE = 32
"""Images per extractor call while caching: on a CPU, 32 runs EfficientNet-Lite0 faster per
image than 64 (the activations stay in cache)."""


def _shared_image_cache(datasets: list[Dataset]) -> CachedImageDataset | None:
    """All the rows of the decoded-image cache that every one of ``datasets`` reads, as one
    dataset (labels -1: the cache holds features, each split brings its labels), or ``None``
    when they do not all read the same one."""
    if not all(isinstance(dataset, CachedImageDataset) for dataset in datasets):
        return None
    images = datasets[0].images
    if any(dataset.images is not images for dataset in datasets):
        return None
    return CachedImageDataset(images, range(len(images)), [-1] * len(images))


class FeatureCacheDataModule(ResumableTrainOrder, L.LightningDataModule):
    """An image DataModule whose batches are replaced by cached features of a fixed extractor.

    Wraps ``datamodule`` (set up on first use) and serves ``(features, labels)`` batches from
    one cache per split; train batches are shuffled in an order fixed by the DataModule's seed.
    Use it with a model built with ``precompute_features=True``, whose steps take those
    features, and ``extractor=model.feature_extractor()`` (a fixed filter, a frozen backbone).

    Args:
        datamodule: The images; must not augment (see the module's docstring).
        extractor: The fixed module whose output is cached; it describes itself
            (``describe()``).
        cache_dir: Parent directory of the feature caches.

    Raises:
        ValueError: ``datamodule`` augments its training images, or ``extractor`` trains.
        TypeError: ``extractor`` does not describe itself.
    """

    def __init__(
        self,
        datamodule: ImageClassificationDataModule,
        extractor: nn.Module,
        cache_dir: str | Path = "~/.cache/hqnn_lightning",
    ) -> None:
        super().__init__()
        augmentation = getattr(datamodule, "augmentation", None)
        if augmentation is not None and (
            augmentation.hflip
            or augmentation.color_jitter
            or augmentation.hue
            or augmentation.rotation
        ):
            raise ValueError(
                "precomputed features (or activations entering the trained stages) would freeze "
                "one augmented view of each image for every epoch; build the DataModule with "
                "augment=False (--augment false), or compute them on the fly "
                "(--precompute-features false)"
            )
        describe_extractor(extractor)  # refuses a trainable extractor now, not at setup
        self.datamodule = datamodule
        self.extractor = extractor
        self.cache_dir = Path(cache_dir).expanduser()
        self.splits: dict[str, FeatureDataset | FeatureRows] = {}

    @property
    def num_classes(self) -> int:
        """The wrapped DataModule's number of classes."""
        return self.datamodule.num_classes

    @property
    def class_names(self) -> list[str]:
        """The wrapped DataModule's class names."""
        return self.datamodule.class_names

    def setup(self, stage: str | None = None) -> None:
        """Sets the images up and builds (or finds) the caches: one of the whole decoded-image
        cache when every split reads rows of the same one (``cache_images=True``), so that
        every seed's train/val split and every class subset reuses it; else one per split."""
        if self.splits:
            return
        self.datamodule.setup(stage)
        sets = {
            "train": self.datamodule.train_set,
            "val": self.datamodule.val_set,
            "test": self.datamodule.test_set,
        }
        transform = getattr(self.datamodule, "batch_transform", None)
        # The per-batch preprocessing (uint8 to float, normalization) is part of the data.
        preprocessing = repr(getattr(self.datamodule, "augmentation", None))
        shared = _shared_image_cache(list(sets.values()))
        sources = [shared] if shared is not None else list(sets.values())
        # One for every cache built here: compiled once, and only if one has to be computed.
        images = sum(len(dataset) for dataset in sources)
        extract = fast_extractor(self.extractor, EXTRACTION_BATCH_SIZE, images)
        cached = [
            build_feature_cache(
                self.extractor,
                dataset,
                self.cache_dir,
                batch_transform=(lambda x, t=transform: t(x, train=False)) if transform else None,
                batch_size=EXTRACTION_BATCH_SIZE,
                fingerprint=dataset_fingerprint(dataset) + preprocessing,
                extract=extract,
                num_workers=self.datamodule.num_workers,
            )
            for dataset in sources
        ]
        if shared is None:
            self.splits = dict(zip(sets, cached, strict=True))
        else:
            self.splits = {
                split: FeatureRows(cached[0], dataset.rows, dataset.labels)
                for split, dataset in sets.items()
            }

    def _loader(self, split: str, shuffle: bool = False) -> DataLoader:
        if not self.splits:
            raise RuntimeError(f"{type(self).__name__}.setup() must run before the loaders")
        dataset, wrapped = self.splits[split], self.datamodule
        options = {
            "batch_size": wrapped.batch_size,
            "num_workers": wrapped.num_workers,
            "persistent_workers": wrapped.num_workers > 0,
            "collate_fn": collate_feature_batch,
        }
        if shuffle:
            sampler = self.train_sampler(dataset, wrapped.seed, wrapped.batch_size)
            return seeded_train_loader(dataset, sampler, **options)
        return DataLoader(dataset, **options)

    def train_dataloader(self) -> DataLoader:
        """Shuffled train features, in an order fixed by the DataModule's seed and the epoch
        (resumable mid-epoch, as the wrapped DataModule's)."""
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        """Val features in dataset order."""
        return self._loader("val")

    def test_dataloader(self) -> DataLoader:
        """Test features in dataset order."""
        return self._loader("test")
