"""Multi-process training with Lightning's strategies, on 2 CPU processes (gloo)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from hqnn_lightning.data.sampling import EpochShuffleSampler
from hqnn_lightning.run import distributed

ROOT = Path(__file__).resolve().parents[2]
MODELS = ("hybrid_tiny", "quanv_tiny")
RUNNER = [
    str(ROOT / "experiments" / "run.py"),
    "--model",
    "hybrid_tiny",
    "--data",
    "synthetic",
    "--image-size",
    "4",
    "--logger",
    "csv",
    "--accelerator",
    "cpu",
    "--devices",
    "2",
]


def run(argv, tmp_path, timeout=300):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    for key in ("RANK", "LOCAL_RANK", "NODE_RANK", "WORLD_SIZE", "SLURM_NTASKS", "SLURM_PROCID"):
        env.pop(key, None)
    return subprocess.run(
        [sys.executable, *argv],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def seeded_order(epoch: int) -> list[int]:
    """Epoch ``epoch``'s order of the 48 training samples of ddp_fit's data, in one process."""
    sampler = EpochShuffleSampler(range(48), seed=0)
    sampler.set_epoch(epoch)
    return list(sampler)


@pytest.fixture(scope="module", params=["ddp", "ddp_spawn"])
def ddp_fits(request, tmp_path_factory):
    """Runs ddp_fit under the strategy; returns ``{name: [rank 0's record, rank 1's]}``."""
    strategy = request.param
    # spawn pickles the model: a QuantumLayer on lightning.qubit rebuilds its QNode.
    specs = ["hybrid_tiny", "quanv_tiny"] if strategy == "ddp" else ["hybrid_tiny:lightning.qubit"]
    out = tmp_path_factory.mktemp(strategy)
    result = run(["-m", "tests.distributed.ddp_fit", str(out), strategy, *specs], out)
    assert result.returncode == 0, result.stderr[-3000:]
    models = [spec.partition(":")[0] for spec in specs]
    return {
        name: [torch.load(out / f"{name}-rank{r}.pt") for r in (0, 1)]
        for model in models
        for name in (model, f"{model}-resumed")
    }


@pytest.mark.slow
def test_the_ranks_train_on_disjoint_shards_that_cover_the_seeded_order(ddp_fits):
    for model in (name for name in ddp_fits if not name.endswith("-resumed")):
        ranks = ddp_fits[model]
        assert [rank["world"] for rank in ranks] == [2, 2]
        before, after = ranks[0]["before"], ranks[0]["after"]
        assert any(not torch.equal(after[k], before[k]) for k in after), f"{model} did not train"
        assert "quantum.weights" in after or model != "hybrid_tiny"
        for epoch in (0, 1):
            shards = [rank["epochs"][epoch] for rank in ranks]
            assert len(shards[0]) == len(shards[1]) == 24
            assert not set(shards[0]) & set(shards[1]), f"{model}: the ranks share samples"
            # Rank r takes every other index of the one-process order, from r on.
            interleaved = [index for pair in zip(*shards, strict=True) for index in pair]
            assert interleaved == seeded_order(epoch), model
        assert ranks[0]["epochs"][0] != ranks[0]["epochs"][1]


@pytest.mark.slow
def test_a_mid_epoch_checkpoint_resumes_each_rank_where_it_stopped(ddp_fits):
    for model in (name for name in ddp_fits if not name.endswith("-resumed")):
        for whole, resumed in zip(ddp_fits[model], ddp_fits[f"{model}-resumed"], strict=True):
            # The checkpoint came after the first batch (8 samples) of epoch 1.
            assert resumed["epochs"] == {1: whole["epochs"][1][8:]}


@pytest.mark.slow
def test_the_runner_trains_on_two_processes_into_one_run_directory(tmp_path):
    argv = [
        *RUNNER,
        "--max-epochs",
        "1",
        "--strategy",
        "ddp",
        "--output-dir",
        str(tmp_path / "runs"),
    ]
    result = run(argv, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    (run_dir,) = (tmp_path / "runs").iterdir()
    results = json.loads((run_dir / "results.json").read_text())
    assert results["epochs"] == 1 and 0 <= results["test/acc_top1"] <= 1
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()
    assert not (run_dir / "test_predictions.csv").exists()  # each process holds only its share
    assert result.stdout.count("| model |") == 1  # the table is printed by rank 0 only
    assert result.stdout.count("Trainability: ") == 1
    assert "sync_dist=True" not in result.stderr  # the metrics are equal on every rank already
    (epoch,) = results["trainability"]["epochs"]  # figures over both processes' batches
    assert epoch["trainability/output_std/mean"] > 0


@pytest.mark.slow
def test_results_count_the_epochs_that_ddp_spawn_trained(tmp_path):
    """ddp_spawn's processes train; the main process's trainer stays at epoch 0."""
    argv = [*RUNNER, "--max-epochs", "2", "--strategy", "ddp_spawn", "--output-dir", str(tmp_path)]
    result = run([*argv, "--monitor-trainability", "false"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    (run_dir,) = tmp_path.glob("hybrid_tiny-*")
    results = json.loads((run_dir / "results.json").read_text())
    assert results["epochs"] == 2 and results["seconds_per_epoch"] > 0


class TestRunDirectory:
    def test_a_single_process_gets_a_new_directory_and_passes_it_on(self, tmp_path, monkeypatch):
        monkeypatch.setenv(distributed.RUN_DIR_VARIABLE, "")  # restored after the test
        for key in ("SLURM_NTASKS", "WORLD_SIZE", "TORCHELASTIC_RUN_ID"):
            monkeypatch.delenv(key, raising=False)
        first = distributed.run_directory(tmp_path, "hybrid-digits-seed0")
        assert os.environ[distributed.RUN_DIR_VARIABLE] == str(first)
        assert distributed.run_directory(tmp_path, "hybrid-digits-seed0") == first
        monkeypatch.setenv(distributed.RUN_DIR_VARIABLE, "")
        assert distributed.run_directory(tmp_path, "hybrid-digits-seed0") != first

    @pytest.mark.parametrize(
        ("env", "expected"),
        [
            ({"SLURM_NTASKS": "8", "SLURM_JOB_ID": "4242"}, "job4242"),
            ({"WORLD_SIZE": "4", "TORCHELASTIC_RUN_ID": "abc"}, "jobabc"),
        ],
    )
    def test_the_processes_of_a_job_share_its_directory(self, tmp_path, monkeypatch, env, expected):
        monkeypatch.setenv(distributed.RUN_DIR_VARIABLE, "")  # restored after the test
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        path = distributed.run_directory(tmp_path, "quanv-digits-seed0")
        assert path == tmp_path / f"quanv-digits-seed0-{expected}" and path.is_dir()
        monkeypatch.setenv(distributed.RUN_DIR_VARIABLE, "")
        assert distributed.run_directory(tmp_path, "quanv-digits-seed0") == path

    @pytest.mark.parametrize(
        ("env", "zero"),
        [
            ({}, True),
            ({"RANK": "0"}, True),
            ({"RANK": "3"}, False),
            ({"SLURM_PROCID": "1"}, False),
            ({"LOCAL_RANK": "1"}, False),
            ({"NODE_RANK": "1", "LOCAL_RANK": "0"}, False),
        ],
    )
    def test_global_zero_from_the_launchers_variables(self, monkeypatch, env, zero):
        for key in ("RANK", "SLURM_PROCID", "LOCAL_RANK", "NODE_RANK"):
            monkeypatch.delenv(key, raising=False)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        assert distributed.is_global_zero() is zero
