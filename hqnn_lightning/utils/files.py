"""Files written so that a reader, or a run killed half-way, never sees half of one."""

from __future__ import annotations

import os
from pathlib import Path


def write_text_atomically(path: str | Path, text: str) -> Path:
    """Writes ``text`` to a temporary file beside ``path`` (same filesystem), then renames it
    over ``path`` with ``os.replace``: ``path`` holds either its old contents or all of
    ``text``.

    Returns:
        ``path``, as a `Path`.
    """
    path = Path(path)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text)
    os.replace(partial, path)
    return path
