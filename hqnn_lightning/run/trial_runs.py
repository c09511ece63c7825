"""One trial of a hyperparameter search as a run of ``experiments/run.py``, and what a search
that stopped (``kill -9``, SIGTERM, Ctrl-C, a full disk) left in the trial's directory.

Each worker of a search runs its trials one after the other, so a worker that stops leaves
at most one trial unfinished: its point's directory ``trials/trialK`` holds a run without
``results.json``. When the point is claimed again (`hqnn_lightning.run.search_study`), that
run is continued from its ``checkpoints/last.ckpt`` (``--resume``, as the runner resumes any
run); one without a checkpoint is removed and the trial runs again. A run that
finished but that the stopped search had not recorded yet is counted as it is. Every run kept
must have the trial's values in its ``config.yaml``; any other is removed.
"""

from __future__ import annotations

import csv
import json
import math
import shutil
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import yaml

from hqnn_lightning.run.callbacks import NonFiniteLossError
from hqnn_lightning.run.cli import main as run_main
from hqnn_lightning.run.disk_full import DISK_FULL
from hqnn_lightning.run.resumption import CONFIG_FILE, LAST_CHECKPOINT
from hqnn_lightning.run.seeds import SIGTERM_EXIT_CODE
from hqnn_lightning.run.training import MONITOR

RESULTS_FILE = "results.json"


@dataclass(frozen=True)
class TrialRun:
    """A trial's run, done.

    Args:
        value: Its best validation top-1, `MONITOR`.
        run_dir: Its run directory.
        diverged: Its training loss stopped being finite; ``value`` is then the best of the
            epochs it validated (0 without any).
    """

    value: float
    run_dir: Path
    diverged: bool


@dataclass(frozen=True)
class LeftOver:
    """What a stopped search left in a trial's directory, and what is done with it.

    Args:
        finished: A run that finished: it is the trial's run.
        resumed: An unfinished run with a checkpoint: the trial continues it.
        removed: Runs removed (no checkpoint, or not of this trial's values).
    """

    finished: Path | None = None
    resumed: Path | None = None
    removed: tuple[Path, ...] = ()

    def describe(self, trial: str) -> str | None:
        """What was done, as a clause naming the runs (``None`` when nothing was left)."""
        parts = []
        if self.finished:
            parts.append(f"{trial}'s finished run {self.finished} is counted as it is")
        if self.resumed:
            parts.append(f"{trial}'s unfinished run {self.resumed} resumes from its checkpoint")
        if self.removed:
            removed = ", ".join(map(str, self.removed))
            parts.append(f"{trial}'s unfinished run without a checkpoint was removed ({removed})")
        return "; ".join(parts) or None


def left_over(trial_dir: Path, values: dict[str, float | int], seed: int) -> LeftOver:
    """Sorts out the runs in ``trial_dir`` (`LeftOver`): the first finished run of the trial's
    ``values`` and ``seed`` is kept; else the newest one with a last checkpoint is kept to be
    resumed. The others are removed, except finished ones."""
    if not trial_dir.is_dir():
        return LeftOver()
    runs = sorted(path for path in trial_dir.iterdir() if path.is_dir())
    ours = [run for run in runs if _has_values(run, values, seed)]
    finished = [run for run in ours if (run / RESULTS_FILE).is_file()]
    if finished:
        return LeftOver(finished=finished[0])
    resumable = [run for run in ours if (run / LAST_CHECKPOINT).is_file()]
    resumed = resumable[-1] if resumable else None
    removed = tuple(run for run in runs if run != resumed)
    for run in removed:
        shutil.rmtree(run)
    return LeftOver(resumed=resumed, removed=removed)


class TrialStopped(Exception):
    """A trial's run was stopped by Ctrl-C, SIGTERM or a full disk; the search stops too.

    Args:
        reason: What stopped it (``"SIGTERM"``, ``"no space left on device writing PATH"``).
        status: The status the command exits with (130, `SIGTERM_EXIT_CODE`, 1).
        advice: What to do before running the command again (``"free space, then "``).
    """

    def __init__(self, reason: str, status: int, advice: str = "") -> None:
        super().__init__(reason)
        self.reason, self.status, self.advice = reason, status, advice


def run_trial(argv: list[str], trial_dir: Path, resumed: Path | None) -> TrialRun:
    """Runs ``argv`` (its ``--output-dir`` is ``trial_dir``), or continues ``resumed``.

    Raises:
        TrialStopped: Ctrl-C, SIGTERM or a full disk stopped the run; the runner's own
            ``error:`` line, whose advice is for a lone run, is not printed.
        SystemExit: as the runner exits otherwise, except for a training loss that stops
            being finite (`TrialRun.diverged`).
    """
    if resumed is not None:
        argv = [*argv, "--resume", str(resumed)]
    errors, stop = _HeldErrors(sys.stderr), None
    try:
        with redirect_stderr(errors), _sigint_handler_kept():
            (results,) = run_main(argv)
        return TrialRun(float(results[MONITOR]), Path(results["run_dir"]), False)
    except (SystemExit, KeyboardInterrupt) as error:
        stop = _stop(error)
        if stop is not None:
            raise stop from None
        # The runner exits 1 for a NaN loss, a full disk and Lightning's Ctrl-C alike; the
        # exception it was handling tells them apart.
        if not isinstance(error.__context__, NonFiniteLossError):
            raise
    finally:
        if stop is None:
            errors.release()
    (run_dir,) = (path for path in trial_dir.iterdir() if path.is_dir())
    return TrialRun(_best_validated(run_dir / "csv" / "metrics.csv"), run_dir, True)


def _stop(error: SystemExit | KeyboardInterrupt) -> TrialStopped | None:
    """The `TrialStopped` of the runner's exit ``error``, ``None`` for any other exit."""
    cause = error if isinstance(error, KeyboardInterrupt) else error.__context__
    if isinstance(cause, KeyboardInterrupt):
        return TrialStopped("Ctrl-C", 128 + signal.SIGINT)
    if isinstance(error, SystemExit) and error.code == SIGTERM_EXIT_CODE:
        return TrialStopped("SIGTERM", SIGTERM_EXIT_CODE)
    if isinstance(cause, OSError) and cause.errno in DISK_FULL:
        reason = (cause.strerror or "no space left on device").lower()
        where = f" writing {cause.filename}" if cause.filename else ""
        return TrialStopped(reason + where, 1, "free space, then ")
    return None


@contextmanager
def _sigint_handler_kept() -> Iterator[None]:
    """Puts back the Ctrl-C handler after the block: Lightning ignores Ctrl-C after the
    first one stops a fit."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    handler = signal.getsignal(signal.SIGINT)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, handler)


class _HeldErrors:
    """Standard error that holds back the lines starting with ``error:`` (the runner's last
    word) until `release`, and passes everything else through at once.

    Args:
        stream: The real standard error.
    """

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.held: list[str] = []
        self._holding = False
        self._line_start = True

    def write(self, text: str) -> int:
        if self._holding or (self._line_start and text.startswith("error: ")):
            self.held.append(text)
            self._holding = not text.endswith("\n")
        else:
            self.stream.write(text)
        self._line_start = text.endswith("\n")
        return len(text)

    def release(self) -> None:
        """Writes the held lines."""
        self.stream.write("".join(self.held))
        self.held.clear()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def finished_trial(run_dir: Path) -> TrialRun:
    """The trial whose run ``run_dir`` finished, from its ``results.json``."""
    results = json.loads((run_dir / RESULTS_FILE).read_text())
    return TrialRun(float(results[MONITOR]), run_dir, False)


def _saved_options(run_dir: Path) -> dict | None:
    """``run_dir``'s ``config.yaml`` as a mapping; ``None`` when it cannot be read (a run
    killed before it wrote it) or is not a mapping."""
    try:
        config = yaml.safe_load((run_dir / CONFIG_FILE).read_text())
    except (OSError, yaml.YAMLError):
        return None
    return config if isinstance(config, dict) else None


def _has_values(run_dir: Path, values: dict[str, float | int], seed: int) -> bool:
    """Whether ``run_dir``'s ``config.yaml`` holds ``values`` and ``seed`` (``False`` when it
    cannot be read)."""
    config = _saved_options(run_dir)
    expected = {**values, "seed": seed}
    return config is not None and all(config.get(k) == v for k, v in expected.items())


def tested_when_started(run_dir: Path) -> bool:
    """Whether ``run_dir``'s run tests its best checkpoint, as its ``config.yaml`` says: a
    trial that a search started before trials skipped the test set (its options have no
    ``test``) is continued as it started, since ``--resume`` keeps a run's options."""
    config = _saved_options(run_dir)
    return config is not None and config.get("test", True) is not False


def _best_validated(metrics: Path) -> float:
    """The best `MONITOR` of the epochs a run's ``csv/metrics.csv`` records, 0 without any."""
    if not metrics.is_file():
        return 0.0
    with metrics.open(newline="") as file:
        values = [float(row[MONITOR]) for row in csv.DictReader(file) if row.get(MONITOR)]
    return max((value for value in values if math.isfinite(value)), default=0.0)
