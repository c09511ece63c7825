"""Several searches in one process (``experiments/tune.py --models``), and spread over the
processes given the same list (`hqnn_lightning.run.search_queue`, issue 27 item 1)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from hqnn_lightning.run import final_runs
from hqnn_lightning.run.lock import try_lock, waiting_lock
from hqnn_lightning.run.search_queue import OWNER_FILE, model_argvs, next_search
from tests.run.test_search_faults import ROOT, TINY, runs_of, tune_main
from tests.run.test_search_processes import environment

COMMON = [option for option in TINY if option not in ("--model", "classical_tiny")]


def test_each_entry_is_a_model_and_its_own_options_after_the_common_ones() -> None:
    argvs = model_argvs(["classical", "hybrid --n-qubits 8"], ["--data", "digits"])
    assert argvs == [
        ["--data", "digits", "--model", "classical"],
        ["--data", "digits", "--model", "hybrid", "--n-qubits", "8"],
    ]


@pytest.mark.parametrize(
    ("models", "run_argv", "message"),
    [
        (["--n-qubits 8"], [], '--models "--n-qubits 8": each entry starts with a model'),
        ([""], [], '--models "": each entry starts with a model'),
        (["hybrid"], ["--model", "classical"], "--models: give each model in --models"),
        (["hybrid"], ["--model=classical"], "--models: give each model in --models"),
    ],
)
def test_entries_without_a_model_or_a_model_after_the_separator_are_refused(
    models: list[str], run_argv: list[str], message: str
) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(")):
        model_argvs(models, run_argv)


def test_a_process_takes_the_first_search_no_other_process_owns(tmp_path: Path) -> None:
    searches = [tmp_path / name for name in ("a", "b", "c")]
    with next_search(searches) as first:
        assert first == 0 and try_lock(searches[0] / OWNER_FILE) is None  # owned
        with next_search(searches) as second, next_search(searches) as third:
            assert (second, third) == (1, 2)
            with next_search(searches) as joined:
                assert joined == 0  # every one owned: join the first
        assert next_search_index(searches[1:]) == 0  # b and c are free again
    with try_lock(searches[0] / OWNER_FILE) as free:
        assert free is not None


def next_search_index(searches: list[Path]) -> int:
    with next_search(searches) as index:
        return index


@pytest.mark.slow
def test_models_in_one_process_give_what_one_command_a_model_gives(tmp_path: Path) -> None:
    search = ["--trials", "2", "--space", "lr=1e-3:1e-1:log"]
    models = ["classical_tiny", "classical_tiny --weight-decay 0.1"]
    together = tune_main(
        [*search, "--models", *models, "--", *COMMON, "--output-dir", str(tmp_path / "together")]
    )
    for (record, finals), model in zip(together, models, strict=True):
        argv = [*search, "--", *COMMON, "--model", *model.split()]
        [(alone, alone_finals)] = tune_main([*argv, "--output-dir", str(tmp_path / "alone")])
        assert [(t["params"], t["value"]) for t in record["trials"]] == [
            (t["params"], t["value"]) for t in alone["trials"]
        ]
        assert record["best"] == alone["best"]
        metrics = [
            json.loads((Path(run["run_dir"]) / "results.json").read_text())
            for run in (*finals, *alone_finals)
        ]
        assert metrics[0]["test/acc_top1"] == metrics[1]["test/acc_top1"]
    assert together[0][0]["config"]["weight_decay"] != together[1][0]["config"]["weight_decay"]


@pytest.mark.slow
def test_two_processes_given_the_same_models_run_each_trial_and_seed_once(
    tmp_path: Path,
) -> None:
    tune_py = str(ROOT / "experiments" / "tune.py")
    search = ["--trials", "2", "--space", "lr=1e-3:1e-1:log"]
    models = ["classical_tiny", "classical_tiny --weight-decay 0.1", "hybrid_control_tiny"]
    options = [*COMMON, "--seeds", "[0,1]", "--output-dir", str(tmp_path)]
    command = [sys.executable, tune_py, *search, "--models", *models, "--", *options]
    processes = [
        subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment()
        )
        for _ in range(2)
    ]
    ended = [process.communicate(timeout=300) for process in processes]
    assert [process.returncode for process in processes] == [0, 0], ended
    tuning_dirs = sorted((tmp_path / "tuning").iterdir())
    assert len(tuning_dirs) == 3
    for tuning_dir in tuning_dirs:
        assert [len(runs) for runs in runs_of(tuning_dir).values()] == [1, 1]
    finals = [path for path in tmp_path.iterdir() if path.name != "tuning"]
    assert len(finals) == 3 * 2  # each model's two seeds, each trained once


def test_a_worker_trains_the_free_seeds_before_waiting_for_one_another_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    claims = tmp_path / "search"
    claims.mkdir()
    other = try_lock(claims / ".final-seed0.lock")  # another worker trains seed 0
    argv = [*TINY, "--seeds", "[0,1,2]", "--output-dir", str(tmp_path / "out")]
    waited = []

    @contextmanager
    def waiting(path: Path) -> Iterator[None]:
        waited.append((Path(path).name, sorted(seeds_trained(tmp_path / "out"))))
        other.close()  # the other worker stops without finishing seed 0
        with waiting_lock(path):
            yield

    train_seeds, held = final_runs._train_seeds, []

    def training(*args, **kwargs):  # which seeds are claimed while each trains
        held.append([seed for seed in (1, 2) if not free(claims / f".final-seed{seed}.lock")])
        return train_seeds(*args, **kwargs)

    monkeypatch.setattr(final_runs, "waiting_lock", waiting)
    monkeypatch.setattr(final_runs, "_train_seeds", training)
    results = final_runs.train_final_runs(argv, claims)
    assert waited == [(".final-seed0.lock", [1, 2])]
    assert held == [[], [1], [2], []]  # the reuse check, then one seed claimed at a time
    assert [result["seed"] for result in results] == [0, 1, 2]
    assert sorted(seeds_trained(tmp_path / "out")) == [0, 1, 2]


def seeds_trained(output_dir: Path) -> list[int]:
    """The seeds of the finished runs in ``output_dir``."""
    return [
        json.loads((run / "results.json").read_text())["seed"]
        for run in output_dir.iterdir()
        if (run / "results.json").is_file()
    ]


def free(path: Path) -> bool:
    """Whether no one holds the lock of ``path``."""
    lock = try_lock(path)
    if lock is not None:
        lock.close()
    return lock is not None
