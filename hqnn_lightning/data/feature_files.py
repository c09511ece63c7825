"""The files of one feature cache (`feature_store`): written with ordinary writes, each with its
size and CRC-32 recorded in ``meta.json``, which is written last; checked against that record
before every use.

A cache directory holds ``features.npy`` (float32 ``(N, *feature shape)``), ``labels.npy``
(int64 ``(N,)``) and ``meta.json`` (``{"format", "key", "extractor", "shape", "files":
{name: {"bytes", "crc32"}}}``). It is built in a temporary directory beside it and renamed into
place, so the directory appears whole or not at all.
"""

from __future__ import annotations

import io
import json
import math
import os
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from hqnn_lightning.data.cache_check import crc32_of_file
from hqnn_lightning.data.feature_cache_key import CACHE_FORMAT
from hqnn_lightning.utils.files import preallocate, write_text_atomically

FEATURE_FILES = ("features.npy", "labels.npy")
"""The data files of a feature cache, each recorded in its ``meta.json``."""


def _npy_header(shape: list[int]) -> bytes:
    """The ``.npy`` header of a C-ordered float32 array of ``shape``."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer,
        {
            "descr": np.lib.format.dtype_to_descr(np.dtype(np.float32)),
            "fortran_order": False,
            "shape": tuple(shape),
        },
    )
    return buffer.getvalue()


@contextmanager
def _naming(path: Path) -> Iterator[None]:
    """Gives an ``OSError`` raised by a write (which names no file) the name ``path``."""
    try:
        yield
    except OSError as error:
        if error.filename is not None or error.errno is None:
            raise
        raise OSError(error.errno, error.strerror, str(path)) from error


def write_features(path: Path, n: int, batches: Iterable[np.ndarray]) -> dict[str, Any]:
    """Writes ``n`` rows of features, given as batches of float32 ``(B, *feature shape)``, to
    the ``.npy`` file ``path``: ordinary writes after reserving the whole file, so a full disk
    raises ``ENOSPC`` at the first batch instead of the ``SIGBUS`` of a memory map.

    Returns:
        ``{"shape": [n, *feature shape], "bytes": ..., "crc32": ...}`` of the file.

    Raises:
        ValueError: the batches do not hold ``n`` rows.
    """
    shape, crc, rows = None, 0, 0
    with _naming(path), open(path, "xb") as file:
        for batch in batches:
            block = np.ascontiguousarray(batch, dtype=np.float32)
            if shape is None:  # the feature shape is known from the first batch
                shape = [n, *block.shape[1:]]
                header = _npy_header(shape)
                preallocate(file, len(header) + 4 * math.prod(shape))
                crc = zlib.crc32(header)
                file.write(header)
            crc = zlib.crc32(block.data, crc)
            file.write(block.data)
            rows += len(block)
        size = file.tell()
        file.flush()
        os.fsync(file.fileno())
    if shape is None or rows != n:
        raise ValueError(f"the extractor gave {rows} rows of features for {n} images")
    return {"shape": shape, "bytes": size, "crc32": crc}


def write_labels(path: Path, labels: np.ndarray) -> dict[str, Any]:
    """Writes int64 ``labels`` ``(N,)`` to the ``.npy`` file ``path``.

    Returns:
        ``{"bytes": ..., "crc32": ...}`` of the file.
    """
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(labels, dtype=np.int64), allow_pickle=False)
    data = buffer.getvalue()
    with _naming(path), open(path, "xb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    return {"bytes": len(data), "crc32": zlib.crc32(data)}


def write_meta(directory: Path, meta: dict[str, Any]) -> None:
    """Writes ``meta.json`` (the last file of a cache) with `CACHE_FORMAT` added."""
    write_text_atomically(directory / "meta.json", json.dumps({"format": CACHE_FORMAT, **meta}))


def feature_cache_damage(directory: Path, key: str) -> str | None:
    """What is wrong with the feature cache ``directory`` of ``key``, in words that follow its
    name (``"has no meta.json ..."``), or ``None`` when every file has the size and CRC-32 that
    its ``meta.json`` records and the arrays have its shape.

    Raises:
        OSError: a file cannot be read (no permission, an I/O error).
    """
    if not directory.is_dir():
        return "is not a directory"
    meta_path = directory / "meta.json"
    if not meta_path.is_file():
        return "has no meta.json (its build did not finish)"
    try:
        meta = json.loads(meta_path.read_bytes())
    except (UnicodeDecodeError, json.JSONDecodeError):
        return "has a truncated or corrupt meta.json"
    if not isinstance(meta, dict) or meta.get("key") != key:
        return "has the meta.json of another cache (copied or overwritten)"
    if meta.get("format") != CACHE_FORMAT or not isinstance(meta.get("files"), dict):
        return f"has a meta.json of another format than {CACHE_FORMAT}"
    for name in FEATURE_FILES:
        damage = _file_damage(directory / name, meta["files"].get(name))
        if damage is not None:
            return damage
    return _shape_damage(directory, meta.get("shape"))


def _file_damage(path: Path, record: Any) -> str | None:
    if not isinstance(record, dict):
        return f"has a meta.json without a record of {path.name}"
    if not path.is_file():
        return f"has no {path.name} file"
    size = path.stat().st_size
    if size != record.get("bytes"):
        return (
            f"has a {path.name} of {size} bytes, not the {record.get('bytes')} recorded "
            "(truncated or overwritten)"
        )
    if crc32_of_file(path) != record.get("crc32"):
        return f"has a {path.name} that fails its checksum: it changed after it was written"
    return None


def _shape_damage(directory: Path, shape: Any) -> str | None:
    try:
        features = np.load(directory / "features.npy", mmap_mode="r", allow_pickle=False)
        labels = np.load(directory / "labels.npy", mmap_mode="r", allow_pickle=False)
    except ValueError as error:
        return f"has an array that cannot be read: {error}"
    if list(features.shape) != shape or features.dtype != np.float32:
        return f"holds features {features.dtype} {list(features.shape)}, not float32 {shape}"
    if labels.shape != (features.shape[0],) or labels.dtype != np.int64:
        return f"holds labels {labels.dtype} {list(labels.shape)} for {features.shape[0]} rows"
    return None
