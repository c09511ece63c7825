"""``--resume``: a run killed mid-epoch continues to the weights and metrics of one never stopped."""

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

KILL_AFTER_STEP = 28  # epoch 1, batch 8 of digits' 20 training batches of 64
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

# Runs the CLI with a callback that, once the checkpoint of KILL_AFTER_STEP is written, says so
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


def kill_mid_epoch(argv: list[str], tmp_path: Path) -> Path:
    """Runs ``argv`` in a subprocess, SIGKILLs it after step KILL_AFTER_STEP's checkpoint, and
    returns its run directory."""
    marker = tmp_path / "paused"
    process = subprocess.Popen(
        [sys.executable, "-c", PAUSING_RUN, str(KILL_AFTER_STEP), str(marker), *argv],
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
        assert marker.read_text() != "0"  # in the middle of an epoch
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
        process.stderr.close()
    assert process.returncode == -signal.SIGKILL
    (run_dir,) = (tmp_path / "killed").iterdir()
    return run_dir


def metric_rows(run_dir: Path) -> list[dict[str, str]]:
    """The rows of ``metrics.csv``, without the wall-clock column."""
    with (run_dir / "csv" / "metrics.csv").open(newline="") as file:
        rows = list(csv.DictReader(file))
    for row in rows:
        row.pop("time/epoch_seconds")
    return rows


@pytest.mark.slow
def test_a_run_killed_mid_epoch_resumes_to_the_uninterrupted_result(tmp_path):
    (uninterrupted,) = main([*TINY_FIT, "--output-dir", str(tmp_path / "whole")])
    killed_dir = kill_mid_epoch([*TINY_FIT, "--output-dir", str(tmp_path / "killed")], tmp_path)
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
