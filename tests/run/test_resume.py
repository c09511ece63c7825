"""``--resume``: a killed run continues to the weights and metrics of one never stopped."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import lightning as L
import pytest
import torch

from hqnn_lightning.models import QuanvNet, create_model
from hqnn_lightning.run.cli import main
from hqnn_lightning.run.lock import LOCK_FILE, run_directory_lock
from hqnn_lightning.run.options import build_parser
from hqnn_lightning.run.resume import resumed_config
from hqnn_lightning.run.resumption import Resumption, find_resumption
from hqnn_lightning.run.seeds import SIGTERM_EXIT_CODE
from tests.run.cli_errors import error_line
from tests.run.test_signals import run_until_sigterm

# Digits has 20 training batches of 64 per epoch; checkpoints every 7 steps and at every
# epoch's end (--checkpoint-interval 0).
MID_EPOCH = 28  # epoch 1, batch 8: resumes from the step checkpoint of step 28
EPOCH_START = 40  # epoch 2, batch 0: resumes from the end-of-epoch checkpoint of epoch 1
TINY_FIT = [
    "--model",
    "hybrid_tiny",
    "--max-epochs",
    "3",
    "--logger",
    "csv",
    "--deterministic",
    "true",
    "--seed",
    "5",
    "--checkpoint-every-n-steps",
    "7",
    "--checkpoint-interval",
    "0",
]

# Runs the CLI with a callback that, once the checkpoint of a given step is written, says so
# through a marker file and waits to be killed: the kill always lands at the same point.
PAUSING_RUN = """
import signal, sys
from pathlib import Path
import lightning

from hqnn_lightning.run.cli import main

step, marker = int(sys.argv[1]), Path(sys.argv[2])

class WaitForKill(lightning.Callback):
    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.global_step == step:
            marker.write_text(str(batch_idx))
            signal.pause()

class Trainer(lightning.Trainer):
    def __init__(self, *args, callbacks=(), **kwargs):
        super().__init__(*args, callbacks=[*callbacks, WaitForKill()], **kwargs)

lightning.Trainer = Trainer
main(sys.argv[3:])
"""


def kill_after(step: int, argv: list[str], tmp_path: Path) -> tuple[Path, int]:
    """Runs ``argv`` in a subprocess, SIGKILLs it once the checkpoint of ``step`` is written,
    and returns its run directory and the index in its epoch of the batch it was killed at."""
    marker = tmp_path / "paused"
    process = subprocess.Popen(
        [sys.executable, "-c", PAUSING_RUN, str(step), str(marker), *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            if process.poll() is not None:
                pytest.fail(
                    f"the run ended before it was killed:\n{process.stderr.read().decode()}"
                )
            if time.monotonic() > deadline:
                pytest.fail("the run did not reach the step to kill it at")
            time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
        process.stderr.close()
    assert process.returncode == -signal.SIGKILL
    (run_dir,) = (tmp_path / "killed").iterdir()
    return run_dir, int(marker.read_text())


def metric_rows(run_dir: Path) -> list[dict[str, str]]:
    """The rows of ``metrics.csv``, without the wall-clock column."""
    with (run_dir / "csv" / "metrics.csv").open(newline="") as file:
        rows = list(csv.DictReader(file))
    for row in rows:
        row.pop("time/epoch_seconds")
    return rows


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    (results,) = main([*TINY_FIT, "--output-dir", str(tmp_path_factory.mktemp("whole"))])
    return results


def assert_same_as_uninterrupted(resumed: dict, run_dir: Path, uninterrupted: dict) -> None:
    """The resumed run's final weights, optimizer and scheduler states, metrics, CSV rows and
    trainability figures are those of the run never stopped."""
    assert resumed["run_dir"] == str(run_dir)
    whole_dir = Path(uninterrupted["run_dir"])

    final = [torch.load(d / "checkpoints" / "last.ckpt") for d in (whole_dir, run_dir)]
    assert final[0]["global_step"] == final[1]["global_step"] == 60
    assert final[0]["state_dict"].keys() == final[1]["state_dict"].keys()
    differing = [
        name
        for name, value in final[0]["state_dict"].items()
        if not torch.equal(value, final[1]["state_dict"][name])
    ]
    assert differing == []
    for a, b in zip(
        final[0]["optimizer_states"][0]["state"].values(),
        final[1]["optimizer_states"][0]["state"].values(),
        strict=True,
    ):
        assert all(torch.equal(a[key], b[key]) for key in a)
    assert final[0]["lr_schedulers"] == final[1]["lr_schedulers"]

    metrics = [key for key in uninterrupted if key.startswith(("val/", "test/"))]
    assert [uninterrupted[key] for key in metrics] == [resumed[key] for key in metrics]
    assert metric_rows(whole_dir) == metric_rows(run_dir)
    # The trainability monitor's sums, figures and warning travelled in the checkpoint.
    assert resumed["trainability"] == uninterrupted["trainability"]


@pytest.mark.slow
@pytest.mark.parametrize(("step", "batch_in_epoch"), [(MID_EPOCH, 8), (EPOCH_START, 0)])
def test_a_killed_run_resumes_to_the_uninterrupted_result(
    step, batch_in_epoch, uninterrupted, tmp_path
):
    argv = [*TINY_FIT, "--output-dir", str(tmp_path / "killed")]
    killed_dir, killed_at = kill_after(step, argv, tmp_path)
    assert killed_at == batch_in_epoch
    assert not (killed_dir / "results.json").exists()

    (resumed,) = main([*TINY_FIT, "--output-dir", str(tmp_path / "killed"), "--resume", "last"])
    assert_same_as_uninterrupted(resumed, killed_dir, uninterrupted)
    environment = json.loads((killed_dir / "environment.json").read_text())
    assert environment["resumed"][0]["checkpoint"].endswith("last.ckpt")


@pytest.mark.slow
def test_a_run_whose_epoch_ends_the_interval_skipped_resumes_to_the_uninterrupted_result(
    uninterrupted, tmp_path
):
    argv = [*TINY_FIT, "--checkpoint-interval", "1e6", "--output-dir", str(tmp_path / "killed")]
    killed_dir, _ = kill_after(EPOCH_START, argv, tmp_path)
    last = torch.load(killed_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert last["global_step"] == 35  # the last step checkpoint: epoch 1's end was not written

    (resumed,) = main([*argv, "--resume", "last"])
    assert_same_as_uninterrupted(resumed, killed_dir, uninterrupted)


@pytest.mark.slow
def test_a_run_stopped_by_sigterm_resumes_from_its_batch_to_the_uninterrupted_result(
    uninterrupted, tmp_path
):
    argv = [*TINY_FIT, "--output-dir", str(tmp_path / "stopped")]
    stopped = run_until_sigterm(MID_EPOCH + 2, argv)  # 2 steps after the last step checkpoint
    assert stopped.returncode == SIGTERM_EXIT_CODE, stopped.stderr
    (run_dir,) = (tmp_path / "stopped").iterdir()
    last = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert last["global_step"] == MID_EPOCH + 2

    (resumed,) = main([*argv, "--resume", "last"])
    assert_same_as_uninterrupted(resumed, run_dir, uninterrupted)


@pytest.mark.slow
def test_a_resumed_wandb_run_logs_into_the_same_run_id(tmp_path, monkeypatch):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    argv = ["--model", "hybrid_tiny", "--max-epochs", "1", "--logger", "wandb"]
    (first,) = main([*argv, "--output-dir", str(tmp_path)])
    run_dir = Path(first["run_dir"])
    run_id = (run_dir / "wandb_run_id").read_text().strip()

    (resumed,) = main([*argv, "--output-dir", str(tmp_path), "--resume", str(run_dir)])
    assert resumed["run_dir"] == str(run_dir)
    offline_runs = sorted((run_dir / "wandb").glob("offline-run-*"))
    assert len(offline_runs) == 2
    # W&B names an offline run's directory by its start second and id, with "-1" added when
    # the resumed run starts within the same second as the first.
    pattern = rf"offline-run-\d{{8}}_\d{{6}}-{run_id}(-\d+)?"
    assert all(re.fullmatch(pattern, path.name) for path in offline_runs), offline_runs


class TestFindResumption:
    def make_run(self, output_dir: Path, name: str) -> Path:
        run_dir = output_dir / name
        (run_dir / "checkpoints").mkdir(parents=True)
        (run_dir / "config.yaml").write_text("model: hybrid_tiny\n")
        (run_dir / "checkpoints" / "last.ckpt").write_bytes(b"")
        return run_dir

    def test_last_is_the_most_recently_saved_run_of_that_model_data_and_seed(self, tmp_path):
        older = self.make_run(tmp_path, "hybrid-digits-seed0-20260101-120000")
        newer = self.make_run(tmp_path, "hybrid-digits-seed0-20260101-110000")
        self.make_run(tmp_path, "hybrid-digits-seed1-20260101-130000")
        os.utime(older / "checkpoints" / "last.ckpt", ns=(1, 1))
        found = find_resumption("last", tmp_path, "hybrid-digits-seed0-")
        assert found == Resumption(newer, newer / "checkpoints" / "last.ckpt")

    def test_a_run_directory_or_a_checkpoint_in_it(self, tmp_path):
        run_dir = self.make_run(tmp_path, "quanv-digits-seed0-20260101-120000")
        best = run_dir / "checkpoints" / "best-epoch3.ckpt"
        best.write_bytes(b"")
        assert find_resumption(str(run_dir), tmp_path, "x").checkpoint == (
            run_dir / "checkpoints" / "last.ckpt"
        )
        assert find_resumption(str(best), tmp_path, "x") == Resumption(run_dir.resolve(), best)

    def test_a_checkpoint_outside_a_run_directory(self, tmp_path):
        (tmp_path / "a" / "b").mkdir(parents=True)
        (tmp_path / "a" / "b" / "model.ckpt").write_bytes(b"")
        with pytest.raises(FileNotFoundError, match="not in a run directory's checkpoints/"):
            find_resumption(str(tmp_path / "a" / "b" / "model.ckpt"), tmp_path, "x")


def test_the_fixed_quanvolution_filter_is_rebuilt_exactly_from_the_checkpoint(tmp_path):
    """The fixed filter has no weights in the state_dict: its gates and angles come from
    filter_seed, a hyper-parameter the checkpoint holds, and not from the global RNG."""
    model = create_model("quanv_tiny", num_classes=10, in_channels=1, image_size=8, filter_seed=7)
    trainer = L.Trainer(logger=False, enable_progress_bar=False, enable_checkpointing=False)
    trainer.strategy.connect(model)
    trainer.save_checkpoint(tmp_path / "model.ckpt")
    torch.manual_seed(12345)
    loaded = QuanvNet.load_from_checkpoint(tmp_path / "model.ckpt")
    images = torch.rand(2, 1, 8, 8)
    assert loaded.hparams.filter_seed == 7
    assert torch.equal(loaded.quanvolution(images), model.quanvolution(images))


# A finished one-epoch run, copied by each test below that changes or resumes it.
FINISHED = [
    "--model",
    "hybrid_tiny",
    "--max-epochs",
    "1",
    "--logger",
    "csv",
    "--progress-bar",
    "false",
]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    output_dir = tmp_path_factory.mktemp("finished")
    (results,) = main([*FINISHED, "--output-dir", str(output_dir)])
    return Path(results["run_dir"])


def copy_run(run_dir: Path, output_dir: Path, name: str | None = None) -> Path:
    """A copy of ``run_dir`` under ``output_dir`` whose checkpoints name their own place, as
    those of a run trained there do."""
    copy = Path(shutil.copytree(run_dir, output_dir / (name or run_dir.name)))
    old, new = str(run_dir.resolve()), str(copy.resolve())
    for path in (copy / "checkpoints").glob("*.ckpt"):
        checkpoint = torch.load(path, weights_only=True)
        for state in checkpoint["callbacks"].values():
            if "dirpath" in state:
                for key in ("dirpath", "best_model_path", "kth_best_model_path"):
                    state[key] = state[key].replace(old, new)
                best = state["best_k_models"]
                state["best_k_models"] = {key.replace(old, new): best[key] for key in best}
        torch.save(checkpoint, path)
    return copy


def cli_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Runs the CLI on ``argv``, checks it exits with 2 and no traceback, and returns the
    line after ``error:``."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "usage:" not in err
    return error_line(err).removeprefix("error: ")


class TestResumeLastComparesTheWholeConfiguration:
    def resumed_run_dir(self, argv: list[str]) -> Path:
        parser = build_parser()
        _, resumption = resumed_config(parser, argv, parser.parse_args(argv))
        return resumption.run_dir

    def test_a_newer_run_that_set_an_option_left_at_its_default_is_another_run(
        self, finished_run, tmp_path
    ):
        same = copy_run(finished_run, tmp_path, "hybrid_tiny-digits-seed0-a")
        other = copy_run(finished_run, tmp_path, "hybrid_tiny-digits-seed0-b")
        with (other / "config.yaml").open("a") as file:
            file.write("lr: 0.01\n")
        os.utime(same / "checkpoints" / "last.ckpt", ns=(1, 1))  # the other run is newer
        argv = [*FINISHED, "--output-dir", str(tmp_path), "--resume", "last"]
        assert self.resumed_run_dir(argv) == same
        # A default written out is the same run as one left out (hybrid_tiny has 2 qubits).
        assert self.resumed_run_dir([*argv, "--n-qubits", "2"]) == same
        assert self.resumed_run_dir([*argv, "--lr", "0.01"]) == other

    def test_no_run_of_these_options_names_the_closest_ones_differences(
        self, finished_run, tmp_path, capsys
    ):
        run_dir = copy_run(finished_run, tmp_path)
        with (run_dir / "config.yaml").open("a") as file:
            file.write("lr: 0.01\n")
        results = (run_dir / "results.json").read_text()
        error = cli_error([*FINISHED, "--output-dir", str(tmp_path), "--resume", "last"], capsys)
        assert error.startswith(
            f"--resume last: no run directory {tmp_path}/hybrid_tiny-digits-seed0-* was started "
            f"with this command's options (defaults included); the closest, {run_dir.name}, "
            "differs in lr=0.001 (run: 0.01)."
        )
        assert (run_dir / "results.json").read_text() == results


class TestTheRunRecordsItsData:
    def test_a_new_run_records_its_classes(self, finished_run):
        record = json.loads((finished_run / "dataset.json").read_text())
        assert record == {
            "class_names": [str(digit) for digit in range(10)],
            "num_classes": 10,
            "image_size": 8,
            "num_channels": 1,
        }

    def test_other_classes_or_image_size_are_refused_before_anything_runs(
        self, finished_run, tmp_path, capsys
    ):
        run_dir = copy_run(finished_run, tmp_path)
        record = json.loads((run_dir / "dataset.json").read_text())
        record["class_names"][:2] = ["cat", "dog"]
        record["image_size"] = 16
        (run_dir / "dataset.json").write_text(json.dumps(record))
        results = (run_dir / "results.json").read_text()
        error = cli_error(["--resume", str(run_dir)], capsys)
        assert error == (
            f"this command's data is not the data {run_dir} trained on (dataset.json): "
            "image_size 8 (run: 16); classes the run did not have: 0, 1; the run's classes "
            "missing: cat, dog. Point --data-dir at the run's data, or start a new run"
        )
        assert (run_dir / "results.json").read_text() == results

    def test_a_run_from_before_the_record_resumes_with_a_warning(self, finished_run, tmp_path):
        run_dir = copy_run(finished_run, tmp_path)
        (run_dir / "dataset.json").unlink()
        with pytest.warns(UserWarning, match="has no dataset.json"):
            (results,) = main(["--resume", str(run_dir)])
        assert results["run_dir"] == str(run_dir)


@pytest.mark.parametrize("old_place", ["moved away", "still there, with other weights"])
def test_a_moved_or_copied_run_tests_its_own_best_checkpoint(old_place, finished_run, tmp_path):
    original = copy_run(finished_run, tmp_path / "old")
    (best,) = (original / "checkpoints").glob("best-*.ckpt")
    run_dir = Path(shutil.copytree(original, tmp_path / "new" / original.name))
    if old_place == "moved away":
        shutil.rmtree(original)
    else:
        checkpoint = torch.load(best, weights_only=True)
        checkpoint["state_dict"] = {
            name: torch.zeros_like(value) for name, value in checkpoint["state_dict"].items()
        }
        torch.save(checkpoint, best)
    before = json.loads((finished_run / "results.json").read_text())

    (results,) = main(["--resume", str(run_dir)])
    assert results["test/acc_top1"] == before["test/acc_top1"]
    assert results["best_checkpoint"] == f"checkpoints/{best.name}"
    assert json.loads((run_dir / "results.json").read_text())["best_checkpoint"] == (
        f"checkpoints/{best.name}"
    )


LOCK_HOLDER = """
import fcntl, signal, sys
lock = open(sys.argv[1], "a")
fcntl.flock(lock, fcntl.LOCK_EX)
print("locked", flush=True)
signal.pause()
"""


def test_a_run_being_trained_in_is_not_resumed_twice(finished_run, tmp_path, capsys, monkeypatch):
    run_dir = copy_run(finished_run, tmp_path)
    holder = subprocess.Popen(
        [sys.executable, "-c", LOCK_HOLDER, str(run_dir / LOCK_FILE)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline() == "locked\n"
        results = (run_dir / "results.json").read_text()
        error = cli_error(["--resume", str(run_dir)], capsys)
        assert error == (
            f"{run_dir} is in use: another process is training in it (it holds .lock); wait "
            "until it ends, or start a new run"
        )
        assert (run_dir / "results.json").read_text() == results
        with monkeypatch.context() as ranks:
            ranks.setenv("LOCAL_RANK", "1")  # a DDP process other than global rank 0
            with run_directory_lock(run_dir):
                pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        holder.stdout.close()
    with run_directory_lock(run_dir):  # released by the OS when its holder is killed
        pass


class Payload:
    """Unpickling it would create the file ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


@pytest.mark.parametrize("forced", ["0", "1"])
@pytest.mark.parametrize("crafted", ["last", "best"])
def test_a_crafted_checkpoint_is_refused_without_running_its_code(
    crafted, forced, finished_run, tmp_path, capsys, monkeypatch
):
    # torch lets this variable turn weights_only off only where a load leaves it unset.
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", forced)
    run_dir = copy_run(finished_run, tmp_path)
    marker = tmp_path / "code-ran"
    (path,) = (run_dir / "checkpoints").glob(f"{crafted}*.ckpt")
    checkpoint = torch.load(path, weights_only=True)
    torch.save({**checkpoint, "payload": Payload(marker)}, path)
    error = cli_error(["--resume", str(run_dir)], capsys)
    assert error.startswith(
        f"{path} holds objects other than tensors and plain values, so it was not written by "
        "this library and is not loaded ("
    )
    assert not marker.exists()


@pytest.mark.parametrize(
    ("name", "corrupt", "message"),
    [
        ("config.yaml", lambda text: text[: len(text) // 2], "is truncated"),
        ("config.yaml", lambda text: "model: [hybrid\n", "is truncated or corrupt: "),
        ("environment.json", lambda text: text[:30], "is truncated or corrupt: "),
        ("dataset.json", lambda text: "", "is truncated or corrupt: "),
        ("wandb_run_id", lambda text: "\x00\x01 ''\n", "is corrupt: it holds"),
    ],
)
def test_a_truncated_or_corrupt_run_file_is_named(
    name, corrupt, message, finished_run, tmp_path, capsys
):
    run_dir = copy_run(finished_run, tmp_path)
    path = run_dir / name
    path.write_text(corrupt(path.read_text() if path.exists() else ""))
    error = cli_error(["--resume", str(run_dir)], capsys)
    assert error.startswith(f"{path} {message}")


def test_a_truncated_checkpoint_is_named(finished_run, tmp_path, capsys):
    run_dir = copy_run(finished_run, tmp_path)
    path = run_dir / "checkpoints" / "last.ckpt"
    path.write_bytes(path.read_bytes()[:1000])
    error = cli_error(["--resume", str(run_dir)], capsys)
    assert error.startswith(f"{path} is not a readable checkpoint: ")
