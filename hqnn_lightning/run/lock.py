"""Exclusive OS locks (``flock``) on files: one process at a time trains in a run directory
(`run_directory_lock`, on its ``.lock`` file); the workers of a search take turns to claim
their trials and final seeds (`waiting_lock`) and each holds the lock of what it runs
(`try_lock`), which tells the others whether it is still alive.

The operating system releases a lock when its process ends, however it ends (``kill -9``
included), so a killed run or worker never leaves anything locked. A run directory's lock is
re-entrant within a process: the runner takes it for a ``--resume`` before it builds anything,
and training takes it again around the run.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from hqnn_lightning.run.distributed import is_global_zero

LOCK_FILE = ".lock"

_held: dict[Path, tuple[IO[str], int]] = {}
"""Directory -> (its open lock file, how many holders in this process)."""


class RunDirectoryInUse(RuntimeError):
    """Another process holds the directory's lock."""


@contextmanager
def run_directory_lock(run_dir: str | Path) -> Iterator[None]:
    """Holds ``run_dir``'s lock while the block runs; only global rank 0 of a multi-process
    run takes it (the other ranks work in the directory rank 0 holds).

    Raises:
        RunDirectoryInUse: another process holds it; the message names ``run_dir``.
        OSError: the lock file cannot be created (a read-only directory).
    """
    if not is_global_zero():
        yield
        return
    busy = "another process is training in it"
    with _directory_lock(run_dir, busy, "wait until it ends, or start a new run"):
        yield


@contextmanager
def waiting_lock(path: str | Path) -> Iterator[None]:
    """Holds the lock of the file ``path`` (created) while the block runs, waiting while
    another process holds it.

    Raises:
        OSError: the file cannot be created (a read-only directory).
    """
    with Path(path).open("a") as file:
        fcntl.flock(file, fcntl.LOCK_EX)
        yield  # closing the file releases the lock


def try_lock(path: str | Path) -> IO[str] | None:
    """The file ``path`` (created), open and locked by this process until it is closed;
    ``None`` when another process holds its lock.

    Raises:
        OSError: the file cannot be created (a read-only directory).
    """
    file = Path(path).open("a")  # noqa: SIM115 (held open by the caller, closed to release)
    try:
        fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        file.close()
        return None
    return file


@contextmanager
def _directory_lock(directory: str | Path, busy: str, advice: str) -> Iterator[None]:
    """Holds ``directory``'s lock while the block runs; ``busy`` and ``advice`` complete the
    message when another process holds it."""
    key = Path(directory).resolve()
    if key in _held:
        file, holders = _held[key]
        _held[key] = (file, holders + 1)
    else:
        _held[key] = (_acquire(key, busy, advice), 1)
    try:
        yield
    finally:
        file, holders = _held.pop(key)
        if holders > 1:
            _held[key] = (file, holders - 1)
        else:
            file.close()  # closing the file releases the lock


def _acquire(directory: Path, busy: str, advice: str) -> IO[str]:
    file = try_lock(directory / LOCK_FILE)
    if file is None:
        raise RunDirectoryInUse(
            f"{directory} is in use: {busy} (it holds {LOCK_FILE}); {advice}"
        ) from None
    return file
