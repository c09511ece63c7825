"""A cache of which image files fail to decode, and why, so a 292k-image dataset is checked
only once; files excluded for a reason that may pass are checked again on every use."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path

from hqnn_lightning.data.image_files import SETTLED_REASONS, find_unreadable
from hqnn_lightning.utils.files import write_text_atomically

DEFAULT_CACHE_DIR = Path(
    os.environ.get("HQNN_CACHE_DIR", Path.home() / ".cache" / "hqnn_lightning")
)
"""Where caches go unless a DataModule is given ``cache_dir`` (``$HQNN_CACHE_DIR`` overrides)."""


def files_signature(paths: Sequence[Path]) -> str:
    """A digest of the paths, sizes and modification times: changes when any file does."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        try:
            stat = path.stat()
            entry = f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n"
        except OSError:
            entry = f"{path}\0missing\n"
        digest.update(entry.encode(errors="surrogateescape"))  # names that are not UTF-8
    return digest.hexdigest()


def cached_unreadable(
    paths: Sequence[Path], cache_dir: Path, description: str, recheck: bool = False
) -> dict[Path, str]:
    """The files of ``paths`` that do not decode, with their reasons
    (`hqnn_lightning.data.image_files.unreadable_reason`), computed once per set of files.

    The answer is stored as JSON under ``cache_dir``, keyed by `files_signature`, so it
    is recomputed (with a progress bar) only when a file is added, removed or changed. A file
    excluded for a reason that may pass without the file changing (any but `SETTLED_REASONS`:
    no permission, an I/O error, missing, too large) is checked again on every call; with
    ``recheck``, every excluded file is.
    """
    cache_file = cache_dir / f"unreadable-{files_signature(paths)}.json"
    cached = _read_cache(cache_file)
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
    write_text_atomically(
        cache_file, json.dumps({str(path): why for path, why in unreadable.items()})
    )
    return unreadable


def _read_cache(cache_file: Path) -> dict[Path, str] | None:
    """The cache's ``{path: reason}``, or ``None`` when there is none or it cannot be read.
    A cache from before reasons were recorded (a list of paths) gives the reason
    ``"unknown"``, so that its files are checked again."""
    try:
        data = json.loads(cache_file.read_text())
    except (OSError, ValueError):
        return None
    if isinstance(data, list):
        return {Path(path): "unknown" for path in data}
    return {Path(path): reason for path, reason in data.items()}
