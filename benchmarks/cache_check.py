"""What checking a cache before use costs, and what identifying its source files by content
would cost instead of by stat (docs/datasets.md, "Caches are checked").

    python benchmarks/cache_check.py [--data-dir ../shared/data/stanford_cars_196] [--images 4240]

Builds the decoded-image cache of the first ``--images`` JPEGs under ``--data-dir`` at 224 px
in a temporary directory, then times: its check (`image_cache_damage`: manifest and CRC-32 of
the whole file) with the file in the page cache and after ``posix_fadvise(DONTNEED)`` evicted
it; the stat key of the source files (`files_signature`); reading and CRC-32 of every source
file, warm and evicted; and the hashes that could check 640 MB of memory.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from hqnn_lightning.data.image_cache import build_image_cache, cache_key, image_cache_damage
from hqnn_lightning.data.image_files import ImageSample
from hqnn_lightning.data.index_cache import files_signature

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "stanford_cars_196"


def seconds(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def evict(paths: list[Path]) -> None:
    """Drops ``paths`` from the page cache (their pages are clean), so the next read is cold."""
    for path in paths:
        descriptor = os.open(path, os.O_RDONLY)
        os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(descriptor)


def hash_speeds(megabytes: int = 640) -> None:
    data = memoryview(np.random.default_rng(0).integers(0, 256, megabytes << 20, dtype=np.uint8))
    for name in ("blake2b", "sha256"):
        rate = megabytes / 1024 / seconds(lambda name=name: hashlib.new(name, data).digest())
        print(f"{name}: {rate:.2f} GiB/s")
    print(f"crc32: {megabytes / 1024 / seconds(lambda: zlib.crc32(data)):.2f} GiB/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--images", type=int, default=4240)
    args = parser.parse_args()
    files = sorted(args.data_dir.rglob("*.jpg"))[: args.images]
    samples = [ImageSample(path, path.parent.name) for path in files]
    megabytes = sum(path.stat().st_size for path in files) / 1e6
    print(f"{len(files)} JPEGs, {megabytes:.0f} MB, under {args.data_dir}")
    hash_speeds()
    with tempfile.TemporaryDirectory() as cache:
        built = seconds(lambda: build_image_cache(samples, 224, Path(cache)))
        (path,) = Path(cache).glob("images-*.u8")
        print(f"cache build: {built:.1f} s, {path.stat().st_size / 1e6:.0f} MB")
        shape, key = (len(samples), 3, 224, 224), cache_key(samples, 224)
        print(f"cache check, warm: {seconds(lambda: image_cache_damage(path, shape, key)):.2f} s")
        evict([path])
        print(f"cache check, cold: {seconds(lambda: image_cache_damage(path, shape, key)):.2f} s")
    print(f"stat key of the JPEGs: {seconds(lambda: files_signature(files)):.3f} s")

    def read_all() -> None:
        for file in files:
            zlib.crc32(file.read_bytes())

    read_all()
    print(f"read + CRC-32 of the JPEGs, warm: {seconds(read_all):.2f} s")
    evict(files)
    print(f"read + CRC-32 of the JPEGs, cold: {seconds(read_all):.2f} s")


if __name__ == "__main__":
    main()
