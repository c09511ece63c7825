"""An on-disk cache of images decoded and resized once, read back as uint8 tensors.

Decoding a JPEG and resizing it costs more than everything else a loader does per sample; with
the images stored as one ``(N, 3, S, S)`` uint8 memory-mapped array, an epoch reads slices of a
file the page cache already holds. The augmentation then runs on whole batches
(`BatchAugmentation`).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import struct
import zlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO

import numpy as np
import torch
import torchvision.transforms.v2.functional as TF
from torch import Tensor
from torch.utils.data import Dataset
from tqdm.auto import tqdm

from hqnn_lightning.data.cache_check import cache_is_whole, crc32_of_file
from hqnn_lightning.data.image_files import DECODING, ImageSample, load_rgb
from hqnn_lightning.data.index_cache import files_signature
from hqnn_lightning.utils.files import atomic_write, cache_directory_lock, preallocate

CACHE_FORMAT = 2
"""The file's layout, in the key: 2 is the images followed by their manifest (`MAGIC`)."""

MAGIC = b"HQNNimg2"
"""The file's last 8 bytes; the 8 before them are the manifest's length (little-endian), and
the manifest (JSON: key, shape, dtype, CRC-32 of the images) precedes them, after the images."""

_TAIL = struct.Struct("<Q8s")


def cache_key(samples: Sequence[ImageSample], image_size: int) -> str:
    """Changes when a file, a crop box, the order, the size or the decoding changes."""
    digest = hashlib.sha256(files_signature([sample.path for sample in samples]).encode())
    digest.update(f"{DECODING}\0format {CACHE_FORMAT}".encode())
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

    Before use the file is checked against its manifest (`image_cache_damage`): a truncated,
    zeroed or overwritten cache is built again with a `CacheRebuiltWarning` naming it. Partial
    files of builds killed before they finished are removed first (`cache_directory_lock`).

    Raises:
        OSError: the cache cannot be written (``ENOSPC`` on a full disk, no permission), with
            ``filename`` the cache's path; no partial file is left.
    """
    shape = (len(samples), 3, image_size, image_size)
    key = cache_key(samples, image_size)
    path = cache_dir / f"images-{key}.u8"
    with cache_directory_lock(cache_dir):
        if cache_is_whole(path, lambda: image_cache_damage(path, shape, key)):
            return np.memmap(path, dtype=np.uint8, mode="r", shape=shape)
        cache_dir.mkdir(parents=True, exist_ok=True)
        # Written beside the cache and renamed over it: processes building the same cache at
        # once (seeds side by side, DDP ranks) each write a file of their own.
        with atomic_write(path, binary=True) as file:
            _write_images(file, samples, image_size, {"key": key, "shape": list(shape)})
    return np.memmap(path, dtype=np.uint8, mode="r", shape=shape)


def image_cache_damage(path: Path, shape: tuple[int, ...], key: str) -> str | None:
    """What is wrong with the cache file ``path`` for images of ``shape`` under ``key``, in
    words that follow its name (``"is truncated ..."``), or ``None`` when its manifest matches
    and its images have the recorded CRC-32."""
    if not path.is_file():
        return "is not a regular file"
    data_bytes = math.prod(shape)
    size = path.stat().st_size
    if size < data_bytes + _TAIL.size:
        return f"is truncated ({size} bytes; {shape} images need {data_bytes} and a manifest)"
    with open(path, "rb") as file:
        file.seek(size - _TAIL.size)
        length, magic = _TAIL.unpack(file.read(_TAIL.size))
        if magic != MAGIC or data_bytes + length + _TAIL.size != size:
            return "has no manifest at its end (truncated, extended or overwritten)"
        file.seek(data_bytes)
        try:
            manifest = json.loads(file.read(length))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return "has a corrupt manifest"
    if not isinstance(manifest, dict) or manifest.get("key") != key:
        return "has a manifest of another cache (copied or overwritten)"
    if manifest.get("shape") != list(shape):
        return f"holds images of shape {manifest.get('shape')}, not {list(shape)}"
    if manifest.get("crc32") != crc32_of_file(path, data_bytes):
        return "fails its checksum: its images changed after it was written"
    return None


def _write_images(
    file: IO[bytes], samples: Sequence[ImageSample], image_size: int, manifest: dict
) -> None:
    """Writes the decoded images of ``samples`` to ``file`` with ordinary writes (a full disk
    raises ``ENOSPC``, where a memory map would die of ``SIGBUS``), then ``manifest`` with their
    CRC-32 and `MAGIC`."""

    def decode(sample: ImageSample) -> np.ndarray:
        image = TF.pil_to_tensor(load_rgb(sample.path, sample.bbox))
        return TF.resize(image, [image_size, image_size], antialias=True).numpy()

    preallocate(file, math.prod(manifest["shape"]))
    crc = 0
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        try:
            decoded = pool.map(decode, samples)
            for image in tqdm(
                decoded, total=len(samples), desc="caching decoded images", unit="img"
            ):
                block = np.ascontiguousarray(image, dtype=np.uint8).data
                crc = zlib.crc32(block, crc)
                file.write(block)
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)  # decode no more images
            raise
    text = json.dumps({**manifest, "dtype": "uint8", "crc32": crc}).encode()
    file.write(text + _TAIL.pack(len(text), MAGIC))


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
