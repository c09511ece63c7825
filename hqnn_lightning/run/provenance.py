"""What produced a run: the command line, the Python and package versions, the git commit.

Written as ``environment.json`` in every run directory; a resumed run appends its own under
``resumed``.
"""

from __future__ import annotations

import importlib.metadata
import json
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from hqnn_lightning.utils.files import read_json_object, write_text_atomically

ENVIRONMENT_FILE = "environment.json"

RECORDED_PACKAGES = (
    "hqnn_lightning",
    "torch",
    "torchvision",
    "lightning",
    "torchmetrics",
    "pennylane",
    "pennylane_lightning",
    "numpy",
    "wandb",
)
"""Packages whose versions each run records in ``environment.json``."""


def environment() -> dict[str, Any]:
    """The command line, the Python and package versions, and the git commit of the library
    (with ``dirty`` when its files differ from that commit)."""
    versions = {"python": platform.python_version()}
    versions.update({package: _version(package) for package in RECORDED_PACKAGES})
    return {"argv": sys.argv, "versions": versions, "git": _git_state()}


def write_environment(path: Path) -> None:
    """Writes `environment` as JSON to ``path``, whole or not at all."""
    write_text_atomically(path, json.dumps(environment(), indent=2))


def record_resumption(path: Path, checkpoint: Path) -> None:
    """Appends `environment` (what resumed the run) and ``checkpoint`` to the ``resumed``
    list of the run's ``environment.json`` at ``path``.

    Raises:
        ValueError: ``path`` is truncated or corrupt; the message names it.
    """
    recorded = read_json_object(path) if path.is_file() else {}
    recorded.setdefault("resumed", []).append({**environment(), "checkpoint": str(checkpoint)})
    write_text_atomically(path, json.dumps(recorded, indent=2))


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _git_state() -> dict[str, Any] | None:
    """The commit of the checkout holding this package, or ``None`` outside one."""
    package = Path(__file__).resolve().parents[1]
    try:
        top, commit = subprocess.run(
            ["git", "rev-parse", "--show-toplevel", "HEAD"],
            cwd=package,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        if Path(top).resolve() != package.parent:  # an installed copy inside another repository
            return None
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=package,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return {"commit": commit, "dirty": bool(status.strip())}
