"""Files written so that a reader, or a run killed half-way, never sees half of one, and
read so that one that is half there anyway is named, not met with a traceback.

Each file is written to a temporary file beside it (same directory, so the same filesystem),
flushed to the disk, then renamed over it with ``os.replace``, which is atomic within one
filesystem: the file holds either its old contents or all of the new ones. The temporary file is
named ``.NAME.PID-RANDOM.partial`` (`PARTIAL_PATTERN`), unique per process; one left behind by a
process killed while writing is removed by `remove_partial_files`, or in a cache directory by
`cache_directory_lock`.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import secrets
import shutil
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any

PARTIAL_PATTERN = ".*.partial"
"""The glob pattern of the temporary files that `atomic_write` writes beside their target."""

OLD_CACHE_PARTIAL_PATTERN = "*.partial-[0-9]*"
"""The glob pattern of the partial caches of versions before `cache_directory_lock`
(``images-KEY.u8.partial-PID``, ``quanv-KEY.partial-PID/``)."""

CACHE_LOCK_NAME = ".lock"
"""The file in a cache directory that `cache_directory_lock` locks."""


@contextmanager
def atomic_write(path: str | Path, binary: bool = False) -> Iterator[IO]:
    """Opens a new temporary file beside ``path`` for writing (UTF-8 text, or bytes with
    ``binary``) and yields it; when the block ends, flushes and fsyncs it and renames it over
    ``path``. If the block raises, the temporary file is removed and ``path`` is left as it was.

    Raises:
        OSError: what writing raised (a full disk, no permission), with ``filename`` set to
            ``path``, so that a message names the file the user knows rather than the temporary
            one; any other exception of the block as it was.
    """
    path = Path(path)
    partial = temporary_sibling(path)
    try:
        with open(partial, "xb" if binary else "x", encoding=None if binary else "utf-8") as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(partial, path)
    except BaseException as error:
        with suppress(OSError):  # on a read-only disk, the error to report is the first
            partial.unlink(missing_ok=True)
        if isinstance(error, OSError) and error.errno is not None:
            raise OSError(error.errno, error.strerror, str(path)) from error
        raise
    _sync_directory(path.parent)


def write_text_atomically(path: str | Path, text: str) -> Path:
    """Writes ``text`` to ``path`` with `atomic_write`: ``path`` holds either its old contents
    or all of ``text``.

    Returns:
        ``path``, as a `Path`.
    """
    with atomic_write(path) as file:
        file.write(text)
    return Path(path)


def remove_partial_files(directory: str | Path) -> list[Path]:
    """Removes the temporary files of `atomic_write` in ``directory`` (not below it): those
    of a process killed while writing. Call it only where no other process is writing.

    Returns:
        The paths removed.
    """
    removed = [path for path in Path(directory).glob(PARTIAL_PATTERN) if path.is_file()]
    for path in removed:
        path.unlink(missing_ok=True)
    return removed


def temporary_sibling(path: str | Path) -> Path:
    """A new name beside ``path``, in `PARTIAL_PATTERN`, unique to this process and call: where
    to build ``path`` (a file or a directory) before renaming it over ``path``."""
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.partial")


@contextmanager
def cache_directory_lock(directory: str | Path) -> Iterator[list[Path]]:
    """Holds a shared lock (``flock``) on ``directory``'s `CACHE_LOCK_NAME` while a cache in
    ``directory`` is found or built, and yields the partial files and directories it removed on
    entry: those of builds killed or interrupted before their rename (`PARTIAL_PATTERN`,
    `OLD_CACHE_PARTIAL_PATTERN`), removed only when no other process holds the lock, so never
    a build in progress, on this machine or another one sharing the directory.

    ``directory`` is created if it is missing. Where it cannot be (a read-only parent) or the
    lock file cannot be opened (a read-only directory), nothing is locked or removed: the caches
    in it can still be read, and a build raises the ``OSError`` of its first write.
    """
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(directory / CACHE_LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError:
        descriptor = None
    if descriptor is None:
        yield []
        return
    try:
        removed = []
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pass  # another process is finding or building a cache: its files are not stale
        else:
            removed = _remove_abandoned(directory)
        fcntl.flock(descriptor, fcntl.LOCK_SH)
        yield removed
    finally:
        os.close(descriptor)


def _remove_abandoned(directory: Path) -> list[Path]:
    """Removes the partial files and directories in ``directory`` (not below it)."""
    patterns = (PARTIAL_PATTERN, OLD_CACHE_PARTIAL_PATTERN)
    removed = sorted({path for pattern in patterns for path in directory.glob(pattern)})
    for path in removed:
        remove_path(path)
    return removed


def remove_path(path: str | Path) -> None:
    """Removes ``path``, a file, a link or a whole directory, if it is there."""
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def preallocate(file: IO[bytes], size: int) -> None:
    """Reserves ``size`` bytes for ``file`` on its disk (``posix_fallocate``), so that a disk
    without room fails at once with ``ENOSPC``, not half-way; skipped where the filesystem
    cannot reserve space (or where Python has no ``posix_fallocate``: macOS).

    Raises:
        OSError: ``ENOSPC``, a quota, or another error of the disk.
    """
    if not hasattr(os, "posix_fallocate"):  # macOS
        return
    try:
        os.posix_fallocate(file.fileno(), 0, size)
    except OSError as error:
        if error.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
            raise


def _sync_directory(directory: Path) -> None:
    """Flushes ``directory``'s entry for the renamed file to the disk, so that the rename
    survives a power cut too (POSIX; elsewhere a directory cannot be opened)."""
    if os.name != "posix":
        return
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


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
