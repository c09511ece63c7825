"""What the on-disk caches share to be checked before use: a CRC-32 of their data, computed
while they are written and recorded last, beside their shape; a cache whose size, shape or
checksum disagrees with its record is built again with one warning naming it, never used.

CRC-32 (``zlib.crc32``, 2.6-6.4 GiB/s on one core of the development machine) detects
truncation, zeroed blocks and overwritten bytes, which is what happens to a cache by accident;
checking the 638 MB decoded-image cache of 4,240 Stanford Cars images at 224 px costs 0.4 s with
the file in the page cache (docs/datasets.md, "Caches are checked";
``benchmarks/cache_check.py``). It is no defence against a cache forged on purpose.
"""

from __future__ import annotations

import os
import time
import warnings
import zlib
from collections.abc import Callable
from pathlib import Path

from hqnn_lightning.utils.files import remove_path

CHUNK_BYTES = 1 << 24
"""Bytes read per step when a file is checksummed."""


class CacheRebuiltWarning(UserWarning):
    """A cache was found damaged (truncated, zeroed, overwritten, of another shape) and is
    built again; the message names the file and what was wrong."""


SETTLED_NS = 2_000_000_000
"""A file whose status changed less than this long ago (nanoseconds) is read again at its next
checksum: a change within the same tick of its filesystem's clock (1-2 s on some) would leave
its size and times as they were."""

_CHECKSUMS: dict[tuple[int | None, int, int, int, int, int], int] = {}
"""`crc32_of_file`'s checksums, by length read and the file's `_identity` when read."""


def crc32_of_file(path: str | Path, length: int | None = None) -> int:
    """The CRC-32 of the first ``length`` bytes of ``path`` (all of it when ``None``).

    Remembered in this process while the file keeps its device, inode, size, modification and
    status-change times (``os.stat``; any write, truncation, ``os.utime`` or replacement
    changes one of them), and once its status last changed `SETTLED_NS` ago: a search runs
    its trials and seeds in one process, each checking the same 638 MB image cache, 0.2 s
    a run (``docs/reproducing.md``).

    Raises:
        OSError: ``path`` cannot be read.
    """
    before = _identity(os.stat(path))
    remembered = _CHECKSUMS.get((length, *before))
    if remembered is not None:
        return remembered
    crc = _read_crc32(path, length)
    status = os.stat(path)
    if _identity(status) == before and time.time_ns() - status.st_ctime_ns >= SETTLED_NS:
        _CHECKSUMS[(length, *before)] = crc
    return crc


def _identity(status: os.stat_result) -> tuple[int, int, int, int, int]:
    """What changes when a file is written, truncated, touched or replaced."""
    return status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns


def _read_crc32(path: str | Path, length: int | None) -> int:
    """`crc32_of_file` read from the disk."""
    crc = 0
    remaining = length
    buffer = bytearray(CHUNK_BYTES)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as file:
        while remaining is None or remaining > 0:
            step = CHUNK_BYTES if remaining is None else min(CHUNK_BYTES, remaining)
            read = file.readinto(view[:step])
            if not read:
                break
            crc = zlib.crc32(view[:read], crc)
            if remaining is not None:
                remaining -= read
    return crc


def cache_is_whole(path: Path, damage: Callable[[], str | None]) -> bool:
    """Whether the cache ``path`` is there and whole: ``damage()`` says what is wrong with it
    (`None` when nothing is). One that is damaged, or cannot be read, is removed with a
    `CacheRebuiltWarning`, so that it is built again.

    Raises:
        OSError: a damaged cache cannot be removed (a read-only disk), naming it.
    """
    if not os.path.lexists(path):
        return False
    try:
        reason = damage()
    except OSError as error:
        reason = f"cannot be read ({error.strerror})"
    if reason is None:
        return True
    warnings.warn(f"cache {path} {reason}; building it again", CacheRebuiltWarning, stacklevel=3)
    remove_path(path)
    return False
