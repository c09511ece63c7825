"""What identifies a feature cache: the extractor's description of itself, a fingerprint of
the dataset, and the key that hashes them with the image shape and the number of samples
(`feature_cache`)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset, Subset, TensorDataset
from tqdm.auto import tqdm

from hqnn_lightning.data.car_base import ImageFileDataset
from hqnn_lightning.data.image_cache import CachedImageDataset
from hqnn_lightning.data.image_files import DECODING
from hqnn_lightning.data.index_cache import files_signature

CACHE_FORMAT = 2
"""Bumped when the on-disk layout or the feature computation changes."""


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
        digest.update(DECODING.encode())
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
