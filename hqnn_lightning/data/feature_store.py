"""The feature cache on disk: `build_feature_cache` computes the features of every sample of a
dataset once and writes them to ``cache_dir/<kind>-<key>/`` (float32 ``features.npy``,
``labels.npy``, ``meta.json``); `FeatureDataset` reads them back, memory-mapped, and
`FeatureRows` reads one split's rows of them (`feature_cache`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset, default_collate
from tqdm.auto import tqdm

from hqnn_lightning.data.base import ImageDataset
from hqnn_lightning.data.cache_check import cache_is_whole
from hqnn_lightning.data.feature_cache_key import cache_key, dataset_fingerprint, describe_extractor
from hqnn_lightning.data.feature_files import (
    feature_cache_damage,
    write_features,
    write_labels,
    write_meta,
)
from hqnn_lightning.utils.files import cache_directory_lock, remove_path, temporary_sibling
from hqnn_lightning.utils.inference import InferenceModule

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
        self.labels = torch.from_numpy(np.load(self.directory / "labels.npy", allow_pickle=False))
        self._features: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def features(self) -> np.ndarray:
        """All features, ``(N, *feature shape)`` float32, memory-mapped."""
        if self._features is None:
            self._features = np.load(
                self.directory / "features.npy", mmap_mode="r", allow_pickle=False
            )
        return self._features

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        return torch.from_numpy(np.array(self.features[index])), self.labels[index]

    def __getitems__(self, indices: list[int]) -> FeatureBatch:
        """The samples at ``indices``, as `__getitem__` gives them, read in one copy of their
        rows: a DataLoader fetches a batch so. Read row by row, a batch of 512 took 3 ms, 8%
        of a frozen run on digits (``docs/reproducing.md``, per-run overhead)."""
        rows = np.asarray(indices, dtype=np.int64)
        return FeatureBatch(torch.from_numpy(self.features[rows]), self.labels[indices])

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

    def __getitems__(self, indices: list[int]) -> FeatureBatch:
        """The samples at ``indices``, as `__getitem__` gives them, read in one copy of their
        rows (`FeatureDataset.__getitems__`)."""
        features = torch.from_numpy(self.cache.features[self.rows[indices]])
        return FeatureBatch(features, self.labels[indices])


class FeatureBatch(Sequence[tuple[Tensor, Tensor]]):
    """Samples of a feature cache read at once (`FeatureDataset.__getitems__`): features
    ``(B, *feature shape)`` and labels ``(B,)``, stacked as read.

    It is the sequence of its ``(feature, label)`` samples, so any collate function takes it;
    `collate_feature_batch` passes its two tensors on as they are, where ``default_collate``
    would stack again the rows it was split into (a frozen run of the 196-class study
    fetched its batches in 0.93 s under the profiler, and in 0.13 s passed on as read,
    ``docs/reproducing.md``).

    Args:
        features: The samples' features, ``(B, *feature shape)``.
        labels: Their labels, ``(B,)``.
    """

    def __init__(self, features: Tensor, labels: Tensor) -> None:
        self.features = features
        self.labels = labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        return self.features[index], self.labels[index]

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        return zip(self.features.unbind(0), self.labels.unbind(0), strict=True)


def collate_feature_batch(samples: FeatureBatch | list[Any]) -> list[Any]:
    """``[features (B, *feature shape), labels (B,)]`` of a `FeatureBatch`, its own tensors:
    the batch ``default_collate`` makes of its samples (the same values, dtypes and shapes,
    contiguous). Any other list of samples goes to ``default_collate``."""
    if isinstance(samples, FeatureBatch):
        return [samples.features, samples.labels]
    return default_collate(samples)


def fast_extractor(extractor: nn.Module, batch_size: int, images: int) -> InferenceModule:
    """``extractor`` made fast for ``images`` images in batches of at most ``batch_size``:
    compiled from `COMPILE_MIN_IMAGES` images up, where compiling pays for itself."""
    return InferenceModule(extractor, batch_size, compile=images >= COMPILE_MIN_IMAGES)


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
    with cache_directory_lock(directory.parent):
        if cache_is_whole(directory, lambda: feature_cache_damage(directory, key)):
            return FeatureDataset(directory)
        loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=num_workers)
        if extract is None:
            extract = fast_extractor(extractor, batch_size, len(dataset))
        labels = np.empty(len(dataset), dtype=np.int64)
        batches = _extracted(loader, extract, batch_transform, kind, labels)
        _build_directory(directory, batches, labels, {"extractor": described, "key": key})
    return FeatureDataset(directory)


def _build_directory(
    directory: Path, batches: Iterator[np.ndarray], labels: np.ndarray, meta: dict[str, Any]
) -> None:
    """Writes the cache ``directory``: the features of ``batches`` and then ``labels`` (which
    the batches fill as they come) in a temporary directory beside it, ``meta.json`` last, then
    renames it into place.

    Raises:
        OSError: writing failed (a full disk, no permission), with ``filename`` the file of
            ``directory`` that was being written; the temporary directory is removed.
    """
    partial = temporary_sibling(directory)
    try:
        partial.mkdir()
        features = write_features(partial / "features.npy", len(labels), batches)
        files = {
            "features.npy": {"bytes": features["bytes"], "crc32": features["crc32"]},
            "labels.npy": write_labels(partial / "labels.npy", labels),
        }
        write_meta(partial, {**meta, "shape": features["shape"], "files": files})
        try:
            partial.rename(directory)
        except OSError:
            if not directory.is_dir():
                raise
            remove_path(partial)  # another process finished the same cache first: identical
    except BaseException as error:
        with suppress(OSError):  # on a read-only disk, the error to report is the first
            remove_path(partial)
        if isinstance(error, OSError) and error.errno is not None:
            raise OSError(
                error.errno, error.strerror, str(_final_name(error, partial, directory))
            ) from error
        raise


def _final_name(error: OSError, partial: Path, directory: Path) -> Path:
    """The path in ``directory`` of the file that ``error`` names in ``partial``."""
    failed = Path(error.filename) if error.filename else partial
    return directory / failed.name if failed.parent == partial else directory


def _extracted(
    loader: DataLoader,
    extract: Callable[[Tensor], Tensor],
    batch_transform: Any,
    kind: str,
    labels: np.ndarray,
) -> Iterator[np.ndarray]:
    """The features of ``loader``'s batches, float32 ``(B, *feature shape)``, in order, with
    their labels stored into ``labels`` ``(N,)`` (progress bar, then the images per second
    printed)."""
    n = len(labels)
    start, began = 0, time.perf_counter()
    with tqdm(total=n, desc=f"caching {kind}", unit="img") as bar:
        for images, targets in loader:
            if batch_transform is not None:
                images = batch_transform(images)
            yield extract(images.float()).numpy()
            labels[start : start + len(targets)] = targets.numpy()
            start += len(targets)
            bar.update(len(targets))
    seconds = time.perf_counter() - began
    print(f"cached {kind} of {n} images in {seconds:.1f} s ({n / seconds:.1f} img/s)")
