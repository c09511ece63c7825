"""A full disk or quota, met anywhere in a command of ``experiments/run.py`` (building the
data's caches, training, testing, ``--evaluate``'s directory), ends it with one line that
names the file being written, says what was kept, and how to go on; exit status 1."""

from __future__ import annotations

import errno
import io
import os
import sys
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from hqnn_lightning.run.resumption import LAST_CHECKPOINT

DISK_FULL = (errno.ENOSPC, errno.EDQUOT)
"""The errors of a full disk or quota, which end the command with one line."""

WRITTEN_IN_PLACE = ("csv", "tensorboard", "wandb")
"""The folders of a run whose files Lightning's loggers and W&B write in place, not whole."""


@contextmanager
def exit_on_full_disk(cache_dirs: Sequence[Path] = (), evaluation: bool = False) -> Iterator[None]:
    """Turns an `OSError` of a full disk or quota (`DISK_FULL`) raised in the block into the
    line `disk_full_message` on stderr and `SystemExit` with status 1; other errors pass.

    Args:
        cache_dirs: Where the command's caches go; a file there is a cache.
        evaluation: The block evaluates a checkpoint (``--evaluate``): a file outside the
            caches belongs to the evaluation's directory.
    """
    try:
        yield
    except OSError as error:
        if error.errno not in DISK_FULL:
            raise
        print(f"error: {disk_full_message(error, cache_dirs, evaluation)}", file=sys.stderr)
        raise SystemExit(1) from None


def disk_full_message(
    error: OSError, cache_dirs: Sequence[Path] = (), evaluation: bool = False
) -> str:
    """One line for a command stopped by a full disk or quota: the file being written
    (`file_written`), what was kept, and how to go on.

    A run's files and checkpoints, a cache and an evaluation's files are written whole or not
    at all (`hqnn_lightning.utils.files.atomic_write`, the caches' own partial files,
    ``predictions.jsonl``'s last line dropped on resuming); the files of Lightning's loggers
    (`WRITTEN_IN_PLACE`) are not.

    Args:
        error: The error, its ``errno`` one of `DISK_FULL`.
        cache_dirs: Where the command's caches go.
        evaluation: The command is ``--evaluate``.
    """
    reason = (error.strerror or os.strerror(error.errno or errno.ENOSPC)).lower()
    path = file_written(error)
    if path is None:
        return (
            f"{reason} (the file being written is not known). Free space and rerun the "
            "command, or with --resume last if the run has a checkpoints/last.ckpt"
        )
    if any(_is_under(path, directory) for directory in cache_dirs):
        return (
            f"{reason} writing {path}; the cache was not kept. Free space (or --cache-dir "
            "elsewhere) and rerun the command"
        )
    if evaluation:
        return (
            f"{reason} writing {path}; the batches finished so far are kept. Free space and "
            "rerun the same command to resume"
        )
    return f"{reason} writing {path}; {_run_file_kept(path)}. Free space and rerun {_rerun(path)}"


def file_written(error: OSError) -> Path | None:
    """The file whose writing raised ``error``: its ``filename``, else the file open for
    writing in the innermost frame of its traceback that holds one (an `OSError` from a
    write names no file: Lightning's CSV logger lets it through so); ``None`` if none."""
    if error.filename:
        return Path(os.fsdecode(error.filename))
    frames = [frame for frame, _ in traceback.walk_tb(error.__traceback__)]
    for frame in reversed(frames):
        for value in frame.f_locals.values():
            name = _name_if_written(value)
            if name is not None:
                return Path(name)
    return None


def _name_if_written(value: object) -> str | None:
    """The path of ``value`` if it is a file open for writing (``path``: fsspec's)."""
    if not isinstance(value, io.IOBase):
        return None
    mode = getattr(value, "mode", "")
    name = getattr(value, "path", None) or getattr(value, "name", None)
    writing = isinstance(mode, str) and any(letter in mode for letter in "wax+")
    return name if writing and isinstance(name, str) else None


def _run_file_kept(path: Path) -> str:
    if path.parent.name in WRITTEN_IN_PLACE:
        return "it is written in place, so it may end cut short"
    if path.suffix == ".ckpt" and path.is_file():
        return "the previous checkpoint is intact"
    return "no file was left half-written"


def _rerun(path: Path) -> str:
    """``with --resume last`` when the run of ``path`` has a ``last.ckpt``."""
    for run_dir in (path.parent, path.parent.parent):
        if (run_dir / LAST_CHECKPOINT).is_file():
            return "with --resume last"
    return "the command"


def _is_under(path: Path, directory: Path) -> bool:
    return path.expanduser().resolve().is_relative_to(Path(directory).expanduser().resolve())
