"""One run directory for all processes of a multi-process run (DDP, SLURM, torchrun).

Lightning's ``ddp`` strategy starts the other processes by running the same command again,
and SLURM and torchrun start every process themselves; each would otherwise name its own
run directory by the time it started. Here the global-zero process creates the directory and
passes it on through `RUN_DIR_VARIABLE` (inherited by the processes Lightning starts),
and the processes of a SLURM or torchrun job name it after the job, which they share.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

RUN_DIR_VARIABLE = "HQNN_LIGHTNING_RUN_DIR"
"""Set by the process that created a run directory, for the processes it starts."""


def is_global_zero() -> bool:
    """Whether this process is rank 0 of its run, from what its launcher set: ``RANK``
    (torchrun), ``SLURM_PROCID`` (srun), or ``NODE_RANK`` and ``LOCAL_RANK`` (Lightning's
    ``ddp`` launcher); a single process is rank 0."""
    for key in ("RANK", "SLURM_PROCID"):
        if key in os.environ:
            return int(os.environ[key]) == 0
    return all(int(os.environ.get(key, 0)) == 0 for key in ("NODE_RANK", "LOCAL_RANK"))


def job_id() -> str | None:
    """The id that every process of a multi-process SLURM or torchrun job shares, else
    ``None``."""
    if int(os.environ.get("SLURM_NTASKS", 1)) > 1 and "SLURM_JOB_ID" in os.environ:
        return os.environ["SLURM_JOB_ID"]
    run_id = os.environ.get("TORCHELASTIC_RUN_ID")
    if int(os.environ.get("WORLD_SIZE", 1)) > 1 and run_id not in (None, "", "none"):
        return run_id
    return None


def new_directory(parent: Path, name: str) -> Path:
    """Creates ``parent/name``, or ``name-1``, ``name-2``, ... when it exists already."""
    attempt = 0
    while True:
        path = parent / (name if attempt == 0 else f"{name}-{attempt}")
        try:
            path.mkdir(parents=True)
            return path
        except FileExistsError:
            attempt += 1


def run_directory(parent: Path, name: str) -> Path:
    """The run's directory under ``parent``, the same in every process of the run.

    A process started by Lightning's launcher takes the one in `RUN_DIR_VARIABLE`; the
    processes of a SLURM or torchrun job use ``name-job<id>``; otherwise a new
    ``name-<date>-<time>`` (``-1``, ``-2``, ... when taken) is created and recorded in
    `RUN_DIR_VARIABLE` for the processes this one starts.
    """
    inherited = os.environ.get(RUN_DIR_VARIABLE)
    if inherited:
        return Path(inherited)
    job = job_id()
    if job is not None:
        path = parent / f"{name}-job{job}"
        path.mkdir(parents=True, exist_ok=True)
    else:
        path = new_directory(parent, f"{name}-{time.strftime('%Y%m%d-%H%M%S')}")
    os.environ[RUN_DIR_VARIABLE] = str(path)
    return path
