"""One process at a time in a run directory: an exclusive OS lock (``flock``) on its
``.lock`` file, held while a process trains in it.

The operating system releases the lock when the process ends, however it ends (``kill -9``
included), so a killed run never leaves its directory locked. The lock is re-entrant within a
process: the runner takes it for a ``--resume`` before it builds anything, and training takes
it again around the run.
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
"""Run directory -> (its open lock file, how many holders in this process)."""


class RunDirectoryInUse(RuntimeError):
    """Another process holds the run directory's lock."""


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
    key = Path(run_dir).resolve()
    if key in _held:
        file, holders = _held[key]
        _held[key] = (file, holders + 1)
    else:
        _held[key] = (_acquire(key), 1)
    try:
        yield
    finally:
        file, holders = _held.pop(key)
        if holders > 1:
            _held[key] = (file, holders - 1)
        else:
            file.close()  # closing the file releases the lock


def _acquire(run_dir: Path) -> IO[str]:
    file = (run_dir / LOCK_FILE).open("a")
    try:
        fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        file.close()
        raise RunDirectoryInUse(
            f"{run_dir} is in use: another process is training in it (it holds "
            f"{LOCK_FILE}); wait until it ends, or start a new run"
        ) from None
    return file
