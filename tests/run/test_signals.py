"""SIGTERM, which SLURM and Kubernetes send before they stop a job: the run stops after the
current batch with its checkpoints kept, exits with 143, and says which seeds to run again."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from hqnn_lightning.run.seeds import SIGTERM_EXIT_CODE, stopped_by_sigterm

# Runs the CLI with a callback that sends SIGTERM to its own process at the end of a given
# training step of the first run, so the signal always lands at the same point.
SIGTERM_AT_STEP = """
import os, signal, sys
import lightning

from hqnn_lightning.run.cli import main

step = int(sys.argv[1])

class SigtermAtStep(lightning.Callback):
    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if trainer.global_step == step:
            os.kill(os.getpid(), signal.SIGTERM)

class Trainer(lightning.Trainer):
    def __init__(self, *args, callbacks=(), **kwargs):
        super().__init__(*args, callbacks=[*callbacks, SigtermAtStep()], **kwargs)

lightning.Trainer = Trainer
main(sys.argv[2:])
"""


def run_until_sigterm(step: int, argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", SIGTERM_AT_STEP, str(step), *argv],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
@pytest.mark.parametrize("checkpoint_every", [3, None])
def test_sigterm_mid_epoch_exits_143_keeps_its_step_and_names_the_seeds_to_run_again(
    checkpoint_every, tmp_path
):
    output_dir = tmp_path / "runs"
    argv = ["--model", "hybrid_tiny", "--seeds", "[0,1]", "--max-epochs", "2", "--logger", "csv"]
    argv += ["--progress-bar", "false", "--output-dir", str(output_dir)]
    if checkpoint_every:
        argv += ["--checkpoint-every-n-steps", str(checkpoint_every)]
    finished = run_until_sigterm(5, argv)
    assert finished.returncode == SIGTERM_EXIT_CODE == 143, finished.stderr
    assert "Traceback" not in finished.stderr
    error = finished.stderr.strip().splitlines()[-1]
    (run_dir,) = output_dir.iterdir()  # seed 1 never started
    assert run_dir.name.startswith("hybrid_tiny-digits-seed0-")
    assert not (run_dir / "results.json").exists()
    assert error.startswith("error: SIGTERM stopped seed 0 of --seeds [0, 1] (seed 1 did not")
    # Written as the signal stopped the fit, at the step it stopped at, with or without
    # step checkpoints (whose last was at step 3).
    checkpoint = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["global_step"] == 5
    assert error.endswith(
        f"its last checkpoint is kept in {run_dir}/checkpoints/last.ckpt. To continue, run "
        f"the same command with --resume {run_dir} in place of --seeds, then with --seeds [1]"
    )


@pytest.mark.parametrize(
    ("seeds", "stopped", "run_dir", "several", "message"),
    [
        (
            [3],
            3,
            Path("runs/r"),
            False,
            "SIGTERM stopped the run of seed 3; its last checkpoint is kept in "
            "runs/r/checkpoints/last.ckpt. To continue, run the same command with --resume runs/r",
        ),
        (
            [3],
            3,
            None,
            False,
            "SIGTERM stopped the run of seed 3 before its first checkpoint; to continue, run the "
            "same command again",
        ),
        (
            [0, 1, 2, 5],
            1,
            Path("runs/r"),
            True,
            "SIGTERM stopped seed 1 of --seeds [0, 1, 2, 5] (seed 0 finished; seeds 2, 5 did not "
            "start); its last checkpoint is kept in runs/r/checkpoints/last.ckpt. To continue, "
            "run the same command with --resume runs/r in place of --seeds, then with --seeds "
            "[2, 5]",
        ),
        (
            [0, 1],
            1,
            None,
            True,
            "SIGTERM stopped seed 1 of --seeds [0, 1] (seed 0 finished) before its first "
            "checkpoint; to continue, run the same command with --seeds [1]",
        ),
    ],
)
def test_the_sigterm_message_names_what_to_run_again(seeds, stopped, run_dir, several, message):
    assert stopped_by_sigterm(seeds, stopped, run_dir, several) == message


def test_the_exit_code_is_the_shells_for_sigterm():
    assert SIGTERM_EXIT_CODE == 128 + signal.SIGTERM
