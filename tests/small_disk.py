"""Runs a command with one directory on a real, small filesystem, so that a test meets a full
disk as a user does: ``ENOSPC`` from ``write``, ``SIGBUS`` from a memory map of a sparse file.

The directory becomes a tmpfs of the given size in a private user and mount namespace
(``unshare --user --map-root-user --mount``), which needs no privileges where unprivileged
user namespaces are allowed; `SMALL_DISKS` says whether they are, and tests skip without them.
The tmpfs vanishes with the command, so its contents are copied out after it ends.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

_SCRIPT = """
set -u
disk=$1 before=$2 after=$3 size=$4
shift 4
mount -t tmpfs -o "size=$size" tmpfs "$disk" || exit 97
cp -a "$before/." "$disk/" || exit 98
"$@"
status=$?
cp -a "$disk/." "$after/"
exit $status
"""


def _small_disks_work() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        [
            "unshare",
            "--user",
            "--map-root-user",
            "--mount",
            "sh",
            "-c",
            'd=$(mktemp -d) && mount -t tmpfs -o size=64k tmpfs "$d" && umount "$d" && rmdir "$d"',
        ],
        capture_output=True,
    )
    return probe.returncode == 0


SMALL_DISKS = _small_disks_work()

needs_small_disks = pytest.mark.skipif(
    not SMALL_DISKS,
    reason="needs unprivileged user and mount namespaces (unshare) for a small tmpfs",
)


def run_on_small_disk(
    command: Sequence[str],
    disk: Path,
    size_bytes: int,
    *,
    contents: Path | None = None,
    after: Path,
    timeout: float = 300,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Runs ``command`` while ``disk`` (an existing directory) is a fresh tmpfs of
    ``size_bytes`` bytes holding a copy of ``contents`` (if given), then copies what ``disk``
    holds at the end into ``after`` (an existing directory).

    Returns:
        The finished process, stdout and stderr captured as text.
    """
    empty = after / ".nothing"
    empty.mkdir(exist_ok=True)
    source = contents if contents is not None else empty
    result = subprocess.run(
        [
            "unshare",
            "--user",
            "--map-root-user",
            "--mount",
            "sh",
            "-c",
            _SCRIPT,
            "small-disk",
            str(disk),
            str(source),
            str(after),
            str(size_bytes),
            *command,
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    empty.rmdir()
    if result.returncode in (97, 98):
        raise RuntimeError(f"could not prepare the small disk at {disk}: {result.stderr}")
    return result
