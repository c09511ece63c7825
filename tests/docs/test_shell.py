"""The runner of documented commands (`tests.docs.shell`) runs what a shell would, and fails
when the command fails; ``HQNN_SMOKE_BATCHES`` caps a run only when it is set."""

from __future__ import annotations

import csv
import json

import pytest

from hqnn_lightning.run.smoke import SMOKE_VARIABLE, smoke_trainer_arguments
from tests.docs.shell import _make_commands, prepare, run_command

ECHO = 'python -c "import sys; print(sys.argv[1:])"'


def test_python_c_gets_its_arguments_and_shell_variables(tmp_path):
    variables: dict[str, str] = {}
    directory = prepare(tmp_path)
    assert run_command("C=runs/x", variables, directory) == ""
    assert run_command(f"{ECHO} $C 'a b' # comment", variables, directory) == "['runs/x', 'a b']\n"


def test_a_failing_command_fails(tmp_path):
    with pytest.raises(AssertionError, match="exited with 3"):
        run_command('python -c "raise SystemExit(3)"', {}, prepare(tmp_path))


def test_a_placeholder_path_is_the_file_an_earlier_command_wrote(tmp_path):
    directory = prepare(tmp_path)
    checkpoint = directory / "runs" / "hybrid-digits-seed0-1" / "checkpoints" / "best-epoch4.ckpt"
    checkpoint.parent.mkdir(parents=True)
    checkpoint.touch()
    printed = run_command(
        f"{ECHO} runs/hybrid-digits-seed0-.../checkpoints/best-epoch9.ckpt", {}, directory
    )
    assert printed == "['runs/hybrid-digits-seed0-1/checkpoints/best-epoch4.ckpt']\n"
    with pytest.raises(AssertionError, match="matches 0 files"):
        run_command(f"{ECHO} runs/quanv-.../last.ckpt", {}, directory)


def test_make_runs_the_commands_of_its_target():
    assert _make_commands(["run", "ARGS=--max-epochs 3"]) == [
        "python experiments/run.py --config experiments/configs/digits_hybrid.yaml --max-epochs 3"
    ]


def test_other_programs_are_not_run(tmp_path):
    with pytest.raises(Exception, match="wandb is not run"):
        run_command("wandb sync runs/x", {}, prepare(tmp_path))


def test_smoke_batches_cap_a_run_only_when_set(monkeypatch):
    monkeypatch.delenv(SMOKE_VARIABLE, raising=False)
    assert smoke_trainer_arguments(30) == {"max_epochs": 30}
    monkeypatch.setenv(SMOKE_VARIABLE, "2")
    assert smoke_trainer_arguments(30) == {
        "max_epochs": 1,
        "limit_train_batches": 2,
        "limit_val_batches": 2,
        "limit_test_batches": 2,
    }
    monkeypatch.setenv(SMOKE_VARIABLE, "two")
    with pytest.raises(SystemExit, match="HQNN_SMOKE_BATCHES=two: give a positive number"):
        smoke_trainer_arguments(30)


@pytest.mark.slow
def test_the_runner_trains_one_capped_epoch_under_smoke_batches(tmp_path, monkeypatch):
    monkeypatch.setenv(SMOKE_VARIABLE, "1")
    directory = prepare(tmp_path)
    run_command(
        "python experiments/run.py --model hybrid_tiny --max-epochs 5 --logger csv", {}, directory
    )
    (results,) = directory.glob("runs/hybrid_tiny-digits-seed0-*/results.json")
    with open(results.parent / "csv" / "metrics.csv") as metrics:
        steps = {int(row["step"]) for row in csv.DictReader(metrics)}
    assert json.loads(results.read_text())["epochs"] == 1
    assert max(steps) == 1  # one training step: validation and test are logged after it
