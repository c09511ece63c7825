"""A cache of which image files fail to decode, so a 292k-image dataset is checked only once."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path

from hqnn_lightning.data.image_files import find_unreadable

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
        digest.update(entry.encode())
    return digest.hexdigest()


def cached_unreadable(paths: Sequence[Path], cache_dir: Path, description: str) -> list[Path]:
    """The files of ``paths`` that do not decode, computed once per set of files.

    The answer is stored as JSON under ``cache_dir``, keyed by `files_signature`, so it
    is recomputed (with a progress bar) only when a file is added, removed or changed.
    """
    cache_file = cache_dir / f"unreadable-{files_signature(paths)}.json"
    if cache_file.is_file():
        return [Path(path) for path in json.loads(cache_file.read_text())]
    unreadable = find_unreadable(paths, description)
    cache_dir.mkdir(parents=True, exist_ok=True)
    temporary = cache_file.with_name(f"{cache_file.name}.partial-{os.getpid()}")
    temporary.write_text(json.dumps([str(path) for path in unreadable]))
    temporary.replace(cache_file)  # atomic: a concurrent builder never sees half a file
    return unreadable
