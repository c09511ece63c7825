"""An on-disk cache of images decoded and resized once, read back as uint8 tensors.

Decoding a JPEG and resizing it costs more than everything else a loader does per sample; with
the images stored as one ``(N, 3, S, S)`` uint8 memory-mapped array, an epoch reads slices of a
file the page cache already holds. The augmentation then runs on whole batches
(`BatchAugmentation`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch
import torchvision.transforms.v2.functional as TF
from torch import Tensor
from torch.utils.data import Dataset
from tqdm.auto import tqdm

from hqnn_lightning.data.image_files import DECODING, ImageSample, load_rgb
from hqnn_lightning.data.index_cache import files_signature


def cache_key(samples: Sequence[ImageSample], image_size: int) -> str:
    """Changes when a file, a crop box, the order, the size or the decoding changes."""
    digest = hashlib.sha256(files_signature([sample.path for sample in samples]).encode())
    digest.update(DECODING.encode())
    for sample in samples:
        digest.update(f"{sample.path}\0{sample.bbox}\n".encode())
    digest.update(str(image_size).encode())
    return digest.hexdigest()[:32]


def build_image_cache(
    samples: Sequence[ImageSample], image_size: int, cache_dir: Path
) -> np.memmap:
    """The ``(N, 3, S, S)`` uint8 images of ``samples``, built once (progress bar) and reused.

    Each image is decoded as RGB, cropped to its box, and resized to ``S x S`` (bilinear,
    antialiased) by the same tensor operation as the evaluation transform, so cached and
    uncached evaluation batches are identical. One thread per CPU decodes and resizes (PIL and
    torch release the GIL while they do).
    """
    shape = (len(samples), 3, image_size, image_size)
    path = cache_dir / f"images-{cache_key(samples, image_size)}.u8"
    if path.is_file():
        return np.memmap(path, dtype=np.uint8, mode="r", shape=shape)
    cache_dir.mkdir(parents=True, exist_ok=True)
    # A file of this process's own: processes building the same cache at once (seeds run side
    # by side, DDP ranks) would otherwise truncate each other's memory map (SIGBUS).
    partial = path.with_name(f"{path.name}.partial-{os.getpid()}")
    try:
        images = np.memmap(partial, dtype=np.uint8, mode="w+", shape=shape)

        def decode(sample: ImageSample) -> np.ndarray:
            image = TF.pil_to_tensor(load_rgb(sample.path, sample.bbox))
            return TF.resize(image, [image_size, image_size], antialias=True).numpy()

        with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
            decoded = pool.map(decode, samples)
            for index, image in enumerate(
                tqdm(decoded, total=len(samples), desc="caching decoded images", unit="img")
            ):
                images[index] = image
        images.flush()
        del images
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return np.memmap(path, dtype=np.uint8, mode="r", shape=shape)


class CachedImageDataset(Dataset[tuple[Tensor, Tensor]]):
    """Rows of an image cache: ``(uint8 (3, S, S), int64 label)``; no transform."""

    def __init__(self, images: np.ndarray, rows: Sequence[int], labels: Sequence[int]) -> None:
        self.images = images
        self.rows = np.asarray(rows, dtype=np.int64)
        self.labels = torch.as_tensor(labels, dtype=torch.long)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        return torch.from_numpy(np.array(self.images[self.rows[index]])), self.labels[index]
