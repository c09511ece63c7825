"""A cache's checksum is read once per process while its file stays as it was, and read again
after any change: a cache damaged between two runs of one process is still found."""

from __future__ import annotations

import os
import zlib

import pytest

from hqnn_lightning.data import cache_check
from hqnn_lightning.data.cache_check import CacheRebuiltWarning, crc32_of_file
from hqnn_lightning.data.image_cache import build_image_cache
from tests.data.test_cache_damage import IMAGE_SIZE, overwrite, samples_in


def later_write(path):
    """The bytes changed, size kept, stamped as a write a second later is."""
    overwrite(path, 3, b"\xff\xfe")
    status = path.stat()
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns + 1_000_000_000))


def replaced(path):
    new = path.with_suffix(".new")
    new.write_bytes(path.read_bytes()[::-1])
    os.replace(new, path)


CHANGES = {
    "written": later_write,
    "truncated": lambda path: os.truncate(path, 100),
    "replaced": replaced,
    "touched": lambda path: os.utime(path, ns=(1, 1)),
}


@pytest.fixture
def reads(monkeypatch) -> list[str]:
    """The files `crc32_of_file` reads from the disk, in order."""
    read, paths = cache_check._read_crc32, []
    monkeypatch.setattr(cache_check, "_read_crc32", lambda p, n: paths.append(p) or read(p, n))
    return paths


@pytest.mark.parametrize("change", CHANGES)
def test_a_settled_file_is_read_once_until_it_changes(tmp_path, monkeypatch, reads, change):
    monkeypatch.setattr(cache_check, "SETTLED_NS", -(2**62))  # every file has settled
    path = tmp_path / "cache"
    path.write_bytes(bytes(range(256)) * 4)
    assert crc32_of_file(path) == crc32_of_file(path) == zlib.crc32(path.read_bytes())
    assert crc32_of_file(path, 10) == zlib.crc32(path.read_bytes()[:10])
    assert len(reads) == 2  # the whole file, then its first 10 bytes
    CHANGES[change](path)
    assert crc32_of_file(path) == zlib.crc32(path.read_bytes())
    assert len(reads) == 3


def test_a_file_whose_status_just_changed_is_read_at_every_check(tmp_path, reads):
    path = tmp_path / "cache"
    path.write_bytes(b"written now")
    assert crc32_of_file(path) == crc32_of_file(path)
    assert len(reads) == 2


@pytest.mark.parametrize("settled", [False, True])
def test_an_image_cache_damaged_between_two_checks_in_one_process_is_found(
    tmp_path, monkeypatch, settled
):
    if settled:
        monkeypatch.setattr(cache_check, "SETTLED_NS", -(2**62))
    samples, cache = samples_in(tmp_path / "images"), tmp_path / "cache"
    build_image_cache(samples, IMAGE_SIZE, cache)
    (path,) = cache.glob("images-*.u8")
    build_image_cache(samples, IMAGE_SIZE, cache)  # checked: whole
    later_write(path)
    with pytest.warns(CacheRebuiltWarning, match=f"cache {path} fails its checksum"):
        build_image_cache(samples, IMAGE_SIZE, cache)
