"""Searches as processes: two workers of one search started together, on the default journal
and on SQLite (issue 27 item 2), a real full disk, a real ``kill -9`` (issue 26 item 4)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from hqnn_lightning.run.tuning import tune
from tests.run.test_search_faults import (
    ROOT,
    SPACE,
    TINY,
    error_lines,
    runs_of,
    tune_main,
)
from tests.small_disk import needs_small_disks, run_on_small_disk


def tune_command(output_dir: Path, trials: int = 2, storage: str | None = None) -> list[str]:
    """``experiments/tune.py``: ``trials`` trials of ``TINY`` into ``output_dir``."""
    tune_py = str(ROOT / "experiments" / "tune.py")
    options = [*TINY, "--output-dir", str(output_dir)]
    search = ["--trials", str(trials), "--space", "lr=1e-3:1e-1:log"]
    search += ["--storage", storage] if storage else []
    return [sys.executable, tune_py, *search, "--", *options]


def environment() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "OMP_WAIT_POLICY": "PASSIVE"}


@pytest.mark.slow
@pytest.mark.parametrize("storage", [None, "sqlite:///{dir}/search.db"])
def test_two_workers_share_the_search_and_choose_what_one_worker_chooses(
    tmp_path: Path, storage: str | None
) -> None:
    storage = storage and storage.format(dir=tmp_path)
    commands = [
        subprocess.Popen(
            tune_command(tmp_path / "out", 3, storage),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environment(),
        )
        for _ in range(2)
    ]
    ended = [command.communicate(timeout=300) for command in commands]
    assert [command.returncode for command in commands] == [0, 0], ended
    # each trial ran in one of the two, once: its line is printed by the worker that ran it
    lines = [line for out, _ in ended for line in out.splitlines() if line.startswith("trial")]
    assert sorted(line.split()[0] for line in lines) == ["trial0", "trial1", "trial2"]
    (tuning_dir,) = (tmp_path / "out" / "tuning").iterdir()
    assert [len(runs) for runs in runs_of(tuning_dir).values()] == [1, 1, 1]
    record = json.loads((tuning_dir / "tuning.json").read_text())
    alone = tune(TINY, SPACE, 3, tmp_path / "alone")
    assert [(trial["params"], trial["value"]) for trial in record["trials"]] == [
        (trial["params"], trial["value"]) for trial in alone["trials"]
    ]
    assert record["best"] == alone["best"] and record["failed"] == 0
    finals = [path for path in (tmp_path / "out").iterdir() if path.name.startswith("classical")]
    assert len(finals) == 1  # seed 0, trained by one worker, reused by the other


@needs_small_disks
@pytest.mark.slow
def test_a_search_on_a_disk_that_fills_ends_in_one_line_and_continues_with_space(
    tmp_path: Path,
) -> None:
    disk, full, freed = tmp_path / "disk", tmp_path / "full", tmp_path / "freed"
    for folder in (disk, full, freed):
        folder.mkdir()
    command = tune_command(disk)  # a run takes about 590 kB: trial0 fits, trial1 does not
    stopped = run_on_small_disk(command, disk, 900_000, after=full, env=environment())
    assert stopped.returncode == 1, stopped.stderr
    (line,) = error_lines(stopped.stderr)
    assert line.startswith("error: no space left on device writing ")
    assert line.endswith(
        "during trial1 (1 of 2 trials finished, recorded in tuning.json); free space, then "
        "run the same command again to continue it"
    )
    assert not list(full.rglob("*.partial"))

    again = run_on_small_disk(
        command, disk, 8_000_000, contents=full, after=freed, env=environment()
    )
    assert again.returncode == 0, again.stderr
    assert "Continuing the search in" in again.stdout
    (tuning_dir,) = (freed / "tuning").iterdir()
    assert [len(runs) for runs in runs_of(tuning_dir).values()] == [1, 1]
    assert len(json.loads((tuning_dir / "tuning.json").read_text())["trials"]) == 2


# experiments/tune.py, killed with SIGKILL when trial1 starts its second epoch (after its
# first epoch's checkpoint), so the kill always lands at the same point.
KILLED_IN_TRIAL1 = """
import os, signal, sys

from hqnn_lightning.run.callbacks import StopOnNonFiniteLoss

sys.path.insert(0, sys.argv[1])
from tune import main

fits = []

def count_fits(self, trainer, pl_module):
    fits.append(trainer)

def kill_in_trial1(self, trainer, pl_module):
    if len(fits) == 2 and trainer.current_epoch == 1:
        os.kill(os.getpid(), signal.SIGKILL)

StopOnNonFiniteLoss.on_train_start = count_fits  # a callback of every run
StopOnNonFiniteLoss.on_train_epoch_start = kill_in_trial1
main(sys.argv[2:])
"""


@pytest.mark.slow
def test_kill_9_in_a_trial_then_the_same_command_gives_the_unstopped_values(
    tmp_path: Path, capsys
) -> None:
    two_epochs = [*TINY, "--max-epochs", "2", "--checkpoint-interval", "0"]
    argv = ["--trials", "2", "--space", "lr=1e-3:1e-1:log", "--", *two_epochs]
    argv += ["--output-dir", str(tmp_path / "out")]
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_IN_TRIAL1, str(ROOT / "experiments"), *argv],
        capture_output=True,
        text=True,
        env=environment(),
        timeout=300,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    [(record, _)] = tune_main(argv)
    out = capsys.readouterr().out
    assert "1 of 2 trials finished before this command" in out
    assert "trial1, left running by a process that ended, marked failed and run again" in out
    assert "trial1's unfinished run" in out and "resumes from its checkpoint" in out
    assert record["failed"] == 1
    unstopped = tune(two_epochs, SPACE, 2, tmp_path / "unstopped")
    assert [(trial["params"], trial["value"]) for trial in record["trials"]] == [
        (trial["params"], trial["value"]) for trial in unstopped["trials"]
    ]
