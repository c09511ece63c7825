"""Features of a fixed extractor computed once for a whole dataset and cached on disk.

A fixed quanvolution filter, or a frozen backbone, maps each image to the same features every
epoch, so a model built with ``precompute_features=True`` (its steps take those features:
`QuanvNet` and `ConvControlNet` with a fixed filter; ``ClassicalResNet``, ``HybridVQC`` and
``HybridControl`` with ``freeze_backbone=True``) can train what follows on features computed
once. `build_feature_cache` writes them to ``cache_dir/<kind>-<key>/`` (float32
``features.npy``, memory-mapped when read, ``labels.npy``, ``meta.json``); the extractor
describes itself (``describe()``: a quanvolution by its circuit, seed, stride and padding, a
backbone or convolution by its class and weights), and the key hashes that description, the
image shape, the number of samples and a fingerprint of the dataset (`dataset_fingerprint`),
so a change to any of them builds a new cache instead of reading a stale one. When the images
come from a decoded-image cache (``cache_images=True``), the features of all of its images are
cached once and each split reads its rows (`FeatureRows`): another seed's train/val split, or
another class subset of the same images, costs no new pass.

This is incompatible with augmentation applied before the extractor: an augmented image is new
every epoch, and cached features would freeze one view of each image for the whole training
run, which is a different experiment. `FeatureCacheDataModule` therefore refuses a
DataModule that augments; train with ``augment=False`` or compute features on the fly. A
trainable extractor changes at every step and cannot be cached either.

A quanvolution's features take as much disk as the float32 images when the stride equals the
kernel size (``C * k**2`` channels of ``(H / k) x (W / k)``), more with overlapping patches; a
backbone's take ``F`` floats per image (2048 for ResNet-50).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset, Subset, TensorDataset
from tqdm.auto import tqdm

from hqnn_lightning.data.base import ImageClassificationDataModule, ImageDataset
from hqnn_lightning.data.car_base import ImageFileDataset
from hqnn_lightning.data.image_cache import CachedImageDataset
from hqnn_lightning.data.index_cache import files_signature
from hqnn_lightning.data.sampling import ResumableTrainOrder, seeded_train_loader
from hqnn_lightning.utils.inference import InferenceModule

CACHE_FORMAT = 1
"""Bumped when the on-disk layout or the feature computation changes."""

EXTRACTION_BATCH_SIZE = 32
"""Images per extractor call while caching: on a CPU, 32 runs EfficientNet-Lite0 faster per
image than 64 (the activations stay in cache)."""

COMPILE_MIN_IMAGES = 2000
"""From this many images up, the extractor is compiled (`InferenceModule`): compiling takes
10-30 s on two cores and saves about 10 ms per EfficientNet-Lite0 image at 224 px."""


class FeatureDataset(Dataset[tuple[Tensor, Tensor]]):
    """Cached features and labels: ``(float32 features, int64 label)`` per sample, features
    ``(C * k**2, H', W')`` of a quanvolution or ``(F,)`` of a backbone.

    The feature file is memory-mapped on first access in each process (loader workers
    included), so the dataset pickles as a path.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.labels = torch.from_numpy(np.load(self.directory / "labels.npy"))
        self._features: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def features(self) -> np.ndarray:
        """All features, ``(N, *feature shape)`` float32, memory-mapped."""
        if self._features is None:
            self._features = np.load(self.directory / "features.npy", mmap_mode="r")
        return self._features

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        return torch.from_numpy(np.array(self.features[index])), self.labels[index]

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_features": None}


class FeatureRows(Dataset[tuple[Tensor, Tensor]]):
    """Some rows of a cache of features, with labels of their own: one split of a cache built
    over a whole decoded-image cache (`FeatureCacheDataModule`).

    Args:
        features: The cache, one row per image of the image cache.
        rows: This split's rows of it.
        labels: This split's labels, one per row.
    """

    def __init__(self, features: FeatureDataset, rows: np.ndarray, labels: Tensor) -> None:
        self.cache = features
        self.rows = np.asarray(rows, dtype=np.int64)
        self.labels = labels

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        row = self.rows[index]
        return torch.from_numpy(np.array(self.cache.features[row])), self.labels[index]


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


def fast_extractor(extractor: nn.Module, batch_size: int, images: int) -> InferenceModule:
    """``extractor`` made fast for ``images`` images in batches of at most ``batch_size``:
    compiled from `COMPILE_MIN_IMAGES` images up, where compiling pays for itself."""
    return InferenceModule(extractor, batch_size, compile=images >= COMPILE_MIN_IMAGES)


def dataset_fingerprint(dataset: Dataset) -> str:
    """A digest that changes when the samples of ``dataset`` do.

    Cheap for the library's datasets: file paths, sizes, modification times, crop boxes,
    labels and the transform's description (`ImageFileDataset`), the decoded-image
    cache's file and rows (`CachedImageDataset`), the tensors' bytes
    (`TensorDataset`), the indices and the base's fingerprint (`Subset`). Any
    other dataset is read in full and its samples hashed (with a progress bar).
    """
    digest = hashlib.sha256(type(dataset).__name__.encode())
    if isinstance(dataset, TensorDataset):
        for tensor in dataset.tensors:
            digest.update(str((tensor.dtype, tuple(tensor.shape))).encode())
            digest.update(tensor.contiguous().numpy().tobytes())
    elif isinstance(dataset, Subset):
        digest.update(dataset_fingerprint(dataset.dataset).encode())
        digest.update(np.asarray(dataset.indices, dtype=np.int64).tobytes())
    elif isinstance(dataset, ImageFileDataset):
        digest.update(files_signature([sample.path for sample in dataset.samples]).encode())
        for sample in dataset.samples:
            digest.update(f"{sample.path}\0{sample.bbox}\n".encode())
        digest.update(dataset.labels.numpy().tobytes())
        digest.update(repr(dataset.transform).encode())
    elif isinstance(dataset, CachedImageDataset):
        source = Path(getattr(dataset.images, "filename", "") or "")
        digest.update(files_signature([source]).encode() if source.name else b"in memory")
        if not source.name:
            digest.update(np.ascontiguousarray(dataset.images).tobytes())
        digest.update(dataset.rows.tobytes())
        digest.update(dataset.labels.numpy().tobytes())
    else:
        for image, label in tqdm(dataset, desc="fingerprinting dataset", unit="img"):
            digest.update(torch.as_tensor(image).contiguous().numpy().tobytes())
            digest.update(str(int(label)).encode())
    return digest.hexdigest()


def describe_extractor(extractor: nn.Module) -> dict[str, Any]:
    """What identifies an extractor's output, as it describes itself: ``extractor.describe()``,
    whose ``"kind"`` (``"quanv"``, ``"features"``) names the cache directory and whose other
    entries are hashed into its key.

    Raises:
        TypeError: the extractor has no ``describe()``.
        ValueError: the extractor trains (a trainable filter, parameters that need gradients).
    """
    trainable = getattr(extractor, "trainable", False) or any(
        parameter.requires_grad for parameter in extractor.parameters()
    )
    if trainable:
        raise ValueError(
            f"a trainable {type(extractor).__name__} changes at every step; its features "
            "cannot be cached (freeze it, or compute features on the fly)"
        )
    describe = getattr(extractor, "describe", None)
    if describe is None:
        raise TypeError(
            f"{type(extractor).__name__} does not describe itself; a cached extractor needs a "
            "describe() method (see backbones.DescribedByWeights)"
        )
    return describe()


def cache_key(extractor: dict[str, Any], image_shape: tuple[int, ...], n: int, data: str) -> str:
    """The cache directory's key: extractor (its `describe_extractor` without the ``kind``),
    image shape, sample count, dataset."""
    description = {
        "format": CACHE_FORMAT,
        **extractor,
        "image_shape": list(image_shape),
        "samples": n,
        "dataset": data,
    }
    return hashlib.sha256(json.dumps(description, sort_keys=True).encode()).hexdigest()[:32]


def build_feature_cache(
    extractor: nn.Module,
    dataset: ImageDataset,
    cache_dir: str | Path,
    batch_transform: Any = None,
    batch_size: int = 64,
    fingerprint: str | None = None,
    extract: Callable[[Tensor], Tensor] | None = None,
    num_workers: int = 0,
) -> FeatureDataset:
    """The features of every sample of ``dataset``, computed once (progress bar, then the
    images per second printed) and reused.

    Args:
        extractor: A fixed module (a quanvolution that is not trainable, a frozen backbone)
            that describes itself (``describe()``), run in eval mode; its exact output is
            cached.
        dataset: ``(image, label)`` samples, images ``(C, H, W)`` of one shape, in order.
        cache_dir: Parent directory of the caches.
        batch_transform: Applied to each batch of images before the extractor (a DataModule's
            per-batch preprocessing, e.g. uint8 to float); ``None`` for none. It must be
            deterministic, and it is not part of the key: pass a ``fingerprint`` that
            describes it if it can change.
        batch_size: Images per extractor call while building.
        fingerprint: Describes the dataset instead of `dataset_fingerprint`.
        extract: Computes ``extractor``'s output for a batch of at most ``batch_size`` images
            (an `InferenceModule` shared by several splits); default `fast_extractor`'s.
        num_workers: DataLoader processes that load (and decode) the images meanwhile.

    Returns:
        The cached features, in ``dataset``'s order.

    Raises:
        ValueError: ``extractor`` is trainable, or ``dataset`` is empty.
        TypeError: ``extractor`` does not describe itself.
    """
    if len(dataset) == 0:
        raise ValueError("cannot cache the features of an empty dataset")
    image_shape = tuple(torch.as_tensor(dataset[0][0]).shape)
    data = fingerprint if fingerprint is not None else dataset_fingerprint(dataset)
    # Described once: for a backbone that means hashing all of its weights.
    described = describe_extractor(extractor)
    kind = described.pop("kind")
    key = cache_key(described, image_shape, len(dataset), data)
    directory = Path(cache_dir).expanduser() / f"{kind}-{key}"
    if (directory / "meta.json").is_file():
        return FeatureDataset(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    partial = directory.with_name(f"{directory.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    features = None
    labels = np.empty(len(dataset), dtype=np.int64)
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=num_workers)
    if extract is None:
        extract = fast_extractor(extractor, batch_size, len(dataset))
    start, began = 0, time.perf_counter()
    with tqdm(total=len(dataset), desc=f"caching {kind}", unit="img") as bar:
        for images, targets in loader:
            if batch_transform is not None:
                images = batch_transform(images)
            batch = extract(images.float()).numpy()
            if features is None:  # the output shape is known from the first batch
                features = np.lib.format.open_memmap(
                    partial / "features.npy",
                    mode="w+",
                    dtype=np.float32,
                    shape=(len(dataset), *batch.shape[1:]),
                )
            end = start + len(images)
            features[start:end] = batch
            labels[start:end] = targets.numpy()
            start = end
            bar.update(len(images))
    seconds = time.perf_counter() - began
    print(
        f"cached {kind} of {len(dataset)} images in {seconds:.1f} s "
        f"({len(dataset) / seconds:.1f} img/s)"
    )
    shape = list(features.shape)
    features.flush()
    del features
    np.save(partial / "labels.npy", labels)
    meta = {"extractor": described, "shape": shape, "key": key}
    (partial / "meta.json").write_text(json.dumps(meta, indent=2))
    try:
        partial.rename(directory)
    except OSError:
        # Another process finished the same cache first; its copy is identical.
        shutil.rmtree(partial, ignore_errors=True)
    return FeatureDataset(directory)


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
                "precomputed features would freeze one augmented view of each image for every "
                "epoch; build the DataModule with augment=False (--augment false), or compute "
                "the features on the fly"
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
