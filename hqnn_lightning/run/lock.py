"""One process at a time in a directory: an exclusive OS lock (``flock``) on its ``.lock``
file, held while a process trains in a run directory (`run_directory_lock`) or searches in a
search directory (`search_directory_lock`).

The operating system releases the lock when the process ends, however it ends (``kill -9``
included), so a killed run or search never leaves its directory locked. The lock is
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
def search_directory_lock(tuning_dir: str | Path) -> Iterator[None]:
    """Creates the directory of a search (``OUT/tuning/MODEL-HASH``) and holds its lock
    while the block runs: a second search of the same experiment, space, trials and seed stops
    at once instead of running the same trials again.

    Raises:
        RunDirectoryInUse: another process holds it; the message names ``tuning_dir``.
        OSError: the lock file cannot be created (a read-only directory).
    """
    Path(tuning_dir).mkdir(parents=True, exist_ok=True)
    busy = "another experiments/tune.py is running the same search in it"
    with _directory_lock(
        tuning_dir, busy, "wait until it ends, then run this command again to reuse its trials"
    ):
        yield


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
    file = (directory / LOCK_FILE).open("a")
    try:
        fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        file.close()
        raise RunDirectoryInUse(
            f"{directory} is in use: {busy} (it holds {LOCK_FILE}); {advice}"
        ) from None
    return file
