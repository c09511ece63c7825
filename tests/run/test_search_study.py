"""A search's study in Optuna storage: its points are the sampler's, whatever the number of
workers; workers claim each point once, and the point of a worker that ended runs again
(issue 27 item 2). Without training: the trials are told values by hand."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import optuna
import pytest

from hqnn_lightning.run.search_space import parse_space
from hqnn_lightning.run.search_study import (
    Claim,
    SearchStudy,
    candidate_points,
    open_storage,
    open_study,
    storage_name,
)

SPACE = parse_space(["lr=1e-4:3e-2:log", "weight_decay=1e-6:1e-1:log"])
DEFINITION = {
    "space": ["lr", "weight_decay"],
    "seed": 0,
    "n_trials": 3,
    "pruner": "none",
    "config": {"model": "classical_tiny", "data": "digits"},
}
RECORD = {"space": [{"name": "lr"}, {"name": "weight_decay"}]}


def worker(tuning_dir: Path, storage: str | None = None) -> SearchStudy:
    """A worker of the search in ``tuning_dir``, with its own connection to the storage."""
    opened = open_storage(storage, tuning_dir)
    study, _ = open_study(opened, "search", DEFINITION, optuna.pruners.NopPruner())
    return SearchStudy(study, opened, candidate_points(SPACE, 0, 3), tuning_dir)


def finish(search: SearchStudy, claim: Claim, value: float) -> dict[str, float]:
    """Runs ``claim``'s trial as a search does, with ``value``; returns its values."""
    values = {parameter.name: parameter.suggest(claim.trial) for parameter in SPACE}
    for key, attr in {"value": value, "diverged": False, "run_dir": "run"}.items():
        claim.trial.set_user_attr(key, attr)
    search.study.tell(claim.trial, value)
    claim.lock.close()
    return values


def test_the_points_are_those_one_process_gets_from_the_sampler() -> None:
    sampler = optuna.samplers.QMCSampler(seed=3, scramble=True)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    offered: list[dict[str, float]] = []

    def objective(trial: optuna.Trial) -> float:
        offered.append({parameter.name: parameter.suggest(trial) for parameter in SPACE})
        return 0.0

    study.optimize(objective, n_trials=5)
    assert [point.params for point in candidate_points(SPACE, 3, 5)] == offered
    assert len({point.params["lr"] for point in candidate_points(SPACE, 3, 5)}) == 5


@pytest.mark.parametrize("storage", [None, "sqlite:///{dir}/search.db"])
def test_workers_claim_each_point_once_and_a_dead_workers_point_runs_again(
    tmp_path: Path, storage: str | None
) -> None:
    storage = storage and storage.format(dir=tmp_path)
    first, second = worker(tmp_path, storage), worker(tmp_path, storage)
    points = [point.params for point in first.points]
    with first.turn():
        zero = first.claim()
    with second.turn():
        one = second.claim()
    assert (zero.point, one.point) == (0, 1)
    assert finish(first, zero, 0.5) == points[0]
    one.lock.close()  # the second worker ends (kill -9) without telling its trial
    again = first.claim()
    assert (again.point, first.ended) == (1, [1])
    assert [trial.state for trial in first.study.get_trials()][:2] == [
        optuna.trial.TrialState.COMPLETE,
        optuna.trial.TrialState.FAIL,
    ]
    two = second.claim()
    assert two.point == 2
    assert first.claim() is None  # point 2 runs in a live worker, point 1 in this one
    assert finish(second, two, 0.9) == points[2]
    assert finish(first, again, 0.7) == points[1]
    assert first.claim() is None and second.claim() is None
    summary = second.summary(RECORD)
    assert [trial["number"] for trial in summary["trials"]] == [0, 1, 2]
    assert [trial["params"] for trial in summary["trials"]] == points
    assert summary["failed"] == 1 and summary["best"]["number"] == 2


HOLD_THE_LOCK = """
import fcntl, sys
lock = open(sys.argv[1], "a")
fcntl.flock(lock, fcntl.LOCK_EX)
print("held", flush=True)
sys.stdin.read()
"""


def test_a_trial_whose_worker_lives_in_another_process_is_left_running(tmp_path: Path) -> None:
    search = worker(tmp_path)
    claim = search.claim()
    claim.lock.close()
    with subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_LOCK, str(search.trial_dir(0) / ".lock")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:  # the worker of trial0, alive
        assert holder.stdout.readline() == "held\n"
        assert search.claim().point == 1
        holder.stdin.close()
    assert search.ended == []
    assert search.study.get_trials()[0].state == optuna.trial.TrialState.RUNNING


def test_a_point_enqueued_by_a_worker_that_ended_is_failed_and_claimed(tmp_path: Path) -> None:
    search = worker(tmp_path)
    search.study.enqueue_trial(search.points[1].params, user_attrs={"point": 1})
    claim = search.claim()
    assert claim.point == 0 and claim.trial.number == 1
    assert search.study.get_trials()[0].state == optuna.trial.TrialState.FAIL


def test_a_study_of_another_search_is_refused(tmp_path: Path) -> None:
    opened = open_storage(None, tmp_path)
    open_study(opened, "search", DEFINITION, optuna.pruners.NopPruner())
    with pytest.raises(FileExistsError, match="^the Optuna study search holds another search"):
        open_study(opened, "search", {**DEFINITION, "n_trials": 4}, optuna.pruners.NopPruner())


def test_a_storage_optuna_cannot_open_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="^--storage nosuch://db: Optuna cannot open it") as error:
        open_storage("nosuch://db", tmp_path)
    assert "\n" not in str(error.value)
    assert storage_name("postgresql://me:secret@host/db", tmp_path) == (
        "postgresql://me:***@host/db"
    )
    assert storage_name(None, tmp_path) == str(tmp_path / "optuna.journal")
