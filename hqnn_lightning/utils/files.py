"""Files written so that a reader, or a run killed half-way, never sees half of one, and
read so that one that is half there anyway is named, not met with a traceback."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


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


def read_json_object(path: str | Path) -> dict[str, Any]:
    """The JSON object in ``path``.

    Raises:
        ValueError: ``path`` cannot be read or holds no JSON object (truncated, corrupt); the
            message names it.
    """
    try:
        text = Path(path).read_bytes()
    except OSError as error:
        raise ValueError(f"{path} cannot be read: {error.strerror}") from None
    try:
        value = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{path} is truncated or corrupt: {error}") from None
    if not isinstance(value, dict):
        raise ValueError(f"{path} is truncated or corrupt: it holds no JSON object")
    return value
