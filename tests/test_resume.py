"""``--resume``: a killed run continues to the weights and metrics of one never stopped."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from hqnn_lightning.cli import main

# Digits has 20 training batches of 64 per epoch; checkpoints every 7 steps and at epoch ends.
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
]

# Runs the CLI with a callback that, once the checkpoint of a given step is written, says so
# through a marker file and waits to be killed: the kill always lands at the same point.
PAUSING_RUN = """
import signal, sys
from pathlib import Path
import lightning

from hqnn_lightning.cli import main

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
    assert resumed["run_dir"] == str(killed_dir)
    whole_dir = Path(uninterrupted["run_dir"])

    final = [torch.load(d / "checkpoints" / "last.ckpt") for d in (whole_dir, killed_dir)]
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
    assert metric_rows(whole_dir) == metric_rows(killed_dir)
    environment = json.loads((killed_dir / "environment.json").read_text())
    assert environment["resumed"][0]["checkpoint"].endswith("last.ckpt")
