"""A cache of which image files fail to decode, and why, so a 292k-image dataset is checked
only once; files excluded for a reason that may pass are checked again on every use."""

from __future__ import annotations

import hashlib
import json
import os
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hqnn_lightning.data.cache_check import cache_is_whole
from hqnn_lightning.data.image_files import SETTLED_REASONS, UNREADABLE_REASONS, find_unreadable
from hqnn_lightning.utils.files import cache_directory_lock, write_text_atomically

DEFAULT_CACHE_DIR = Path(
    os.environ.get("HQNN_CACHE_DIR", Path.home() / ".cache" / "hqnn_lightning")
)
"""Where caches go unless a DataModule is given ``cache_dir`` (``$HQNN_CACHE_DIR`` overrides)."""

INDEX_FORMAT = 2
"""The unreadable-files index's layout: ``{"format", "unreadable": {path: reason}, "crc32"}``."""


def files_signature(paths: Sequence[Path]) -> str:
    """A digest of the paths, sizes, modification and status-change times and inode numbers:
    changes when any file does.

    The status-change time (``st_ctime_ns``) is set by the kernel at every write, rename or
    ``utime`` and cannot be set back by a user, so a file replaced by another of the same size
    whose modification time was restored (``touch -r``, ``cp -p``, ``rsync -t``) changes the
    signature too, without reading any file (docs/datasets.md, "Caches are checked").
    """
    digest = hashlib.sha256()
    for path in sorted(paths):
        try:
            stat = path.stat()
            entry = (
                f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\0{stat.st_ctime_ns}\0{stat.st_ino}\n"
            )
        except OSError:
            entry = f"{path}\0missing\n"
        digest.update(entry.encode(errors="surrogateescape"))  # names that are not UTF-8
    return digest.hexdigest()


def cached_unreadable(
    paths: Sequence[Path], cache_dir: Path, description: str, recheck: bool = False
) -> dict[Path, str]:
    """The files of ``paths`` that do not decode, with their reasons
    (`hqnn_lightning.data.image_files.unreadable_reason`), computed once per set of files.

    The answer is stored as JSON under ``cache_dir``, keyed by `files_signature`, with a CRC-32
    of its entries, so it is recomputed (with a progress bar) only when a file is added, removed
    or changed, or when the stored answer is damaged (truncated, edited, not this format; a
    `CacheRebuiltWarning` names it). A file excluded for a reason that may pass without the
    file changing (any but `SETTLED_REASONS`: no permission, an I/O error, missing, too large)
    is checked again on every call; with ``recheck``, every excluded file is.

    Raises:
        OSError: the answer cannot be written (a full disk, no permission), with ``filename``
            the cache file.
    """
    cache_file = cache_dir / f"unreadable-{files_signature(paths)}.json"
    with cache_directory_lock(cache_dir):
        cached = _read_cache(cache_file, paths)
        if cached is None:
            unreadable = find_unreadable(paths, description)
        else:
            settled = {
                path: reason
                for path, reason in cached.items()
                if reason in SETTLED_REASONS and not recheck
            }
            again = [path for path in cached if path not in settled]
            unreadable = settled | find_unreadable(again, f"{description} again")
            if unreadable == cached:
                return unreadable
        cache_dir.mkdir(parents=True, exist_ok=True)
        entries = {str(path): why for path, why in unreadable.items()}
        text = json.dumps(
            {"format": INDEX_FORMAT, "unreadable": entries, "crc32": _entries_crc(entries)}
        )
        write_text_atomically(cache_file, text)
    return unreadable


def _entries_crc(entries: dict[str, str]) -> int:
    return zlib.crc32(json.dumps(entries, sort_keys=True).encode(errors="surrogateescape"))


def _read_cache(cache_file: Path, paths: Sequence[Path]) -> dict[Path, str] | None:
    """The cache's ``{path: reason}``, or ``None`` when there is none; one that cannot be used
    (unreadable, corrupt, another format, a checksum or a path that disagrees) is removed
    with a `CacheRebuiltWarning` and also gives ``None``."""
    data: Any = None

    def damage() -> str | None:
        nonlocal data
        try:
            data = json.loads(cache_file.read_bytes())
        except (UnicodeDecodeError, json.JSONDecodeError):
            return "is truncated or corrupt"
        return _index_damage(data, {str(path) for path in paths})

    if not cache_is_whole(cache_file, damage):
        return None
    return {Path(path): reason for path, reason in data["unreadable"].items()}


def _index_damage(data: object, paths: set[str]) -> str | None:
    """What is wrong with the index ``data`` read from JSON, or ``None``."""
    if not isinstance(data, dict) or data.get("format") != INDEX_FORMAT:
        return f"is not an index of format {INDEX_FORMAT}"
    entries = data.get("unreadable")
    if not isinstance(entries, dict) or not all(
        isinstance(reason, str) and reason in UNREADABLE_REASONS for reason in entries.values()
    ):
        return "holds entries that are not {path: reason}"
    if data.get("crc32") != _entries_crc(entries):
        return "fails its checksum: it was changed after it was written"
    if not paths.issuperset(entries):
        return "names files that are not in the dataset"
    return None
