import csv
import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import wandb
import yaml

from hqnn_lightning.run.cli import main
from hqnn_lightning.run.options import build_parser
from hqnn_lightning.run.seeds import format_results
from tests.run.wandb_records import config, history, read_records

ROOT = Path(__file__).resolve().parents[2]
TINY_RUN = ["--model", "hybrid_tiny", "--max-epochs", "1", "--logger", "csv"]


def test_help_all_documents_every_option():
    result = subprocess.run(
        [sys.executable, str(ROOT / "experiments" / "run.py"), "--help-all"],
        capture_output=True,
        text=True,
        check=True,
    )
    options = [
        action.option_strings[0].replace("_", "-")
        for action in build_parser()._actions
        if action.option_strings and action.dest != "help"
    ]
    assert len(options) > 25
    for option in options:
        assert option in result.stdout
    for phrase in ("hybrid", "digits", "lightning.qubit", "wandb"):
        assert phrase in result.stdout


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--model", "qcnn"], "--model qcnn: no such model; give one of classical"),
        (["--data", "mnist"], "--data mnist: no such dataset; give one of combined, digits"),
        (["--q-device", "ibm.fake"], "unknown quantum device 'ibm.fake'"),
        (["--model", "classical_tiny", "--n-qubits", "4"], "does not take n_qubits"),
        (["--model", "hybrid_tiny", "--n-qubits", "40"], "between 1 and 28 qubits"),
        (["--logger", "mlflow"], "--logger mlflow: expected one of 'wandb', 'csv', 'tensorboard'"),
        (["--data-dir", "/data"], "dataset 'digits' does not take data_dir"),
    ],
)
def test_bad_options_stop_before_training_with_a_clear_message(argv, message, capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--output-dir", str(tmp_path)])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


@pytest.mark.slow
def test_tiny_run_writes_results_config_metrics_and_checkpoint(tmp_path, capsys):
    (results,) = main([*TINY_RUN, "--seed", "3", "--output-dir", str(tmp_path)])
    run_dir = Path(results["run_dir"])

    assert run_dir.parent == tmp_path
    assert json.loads((run_dir / "results.json").read_text()) == results
    # hybrid_tiny: 2 layers on 2 qubits, 3 angles each, mirrored (identity blocks)
    assert results["params_quantum"] == 2 * (2 * 2 * 3) and results["epochs"] == 1
    for key in ("val/acc_top1", "val/acc_top5", "test/acc_top1", "test/acc_top5"):
        assert 0 <= results[key] <= 1
    assert (run_dir / results["best_checkpoint"]).is_file()
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()
    assert "val/acc_top1" in (run_dir / "csv" / "metrics.csv").read_text()

    saved = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert saved["model"] == "hybrid_tiny" and saved["seed"] == 3
    assert build_parser().parse_args(["--config", str(run_dir / "config.yaml")]).seed == 3

    printed = capsys.readouterr().out
    assert format_results(results) in printed
    assert "| hybrid_tiny | " in printed


def test_last_checkpoint_is_the_last_epoch_not_the_best(tmp_path):
    # Seed 3 of hybrid_tiny peaks at epoch 0 of 4; Lightning 2.6's save_last would leave
    # last.ckpt there (see EpochCheckpoint).
    argv = [*TINY_RUN, "--max-epochs", "4", "--seed", "3", "--output-dir", str(tmp_path)]
    (results,) = main(argv)
    checkpoints = Path(results["run_dir"]) / "checkpoints"
    best = torch.load(
        checkpoints.parent / results["best_checkpoint"], map_location="cpu", weights_only=True
    )
    last = torch.load(checkpoints / "last.ckpt", map_location="cpu", weights_only=False)
    assert best["epoch"] < 3
    assert last["epoch"] == 3 and last["global_step"] == 4 * best["global_step"] // (
        best["epoch"] + 1
    )
    assert sorted(path.name for path in checkpoints.iterdir()) == sorted(
        ["last.ckpt", Path(results["best_checkpoint"]).name]
    )


@pytest.mark.slow
def test_same_seed_gives_the_same_metrics_and_the_run_records_its_environment(tmp_path):
    argv = [*TINY_RUN, "--deterministic", "true", "--seed", "4", "--gradient-clip-val", "1.0"]
    (first,) = main([*argv, "--output-dir", str(tmp_path / "a")])
    (second,) = main([*argv, "--output-dir", str(tmp_path / "b")])
    metrics = [key for key in first if key.startswith(("val/", "test/"))]
    assert len(metrics) == 10  # loss, top-1, top-5, macro F1 and its class count, val and test
    assert [first[key] for key in metrics] == [second[key] for key in metrics]

    recorded = json.loads((Path(first["run_dir"]) / "environment.json").read_text())
    assert recorded["versions"]["torch"] == importlib.metadata.version("torch")
    assert recorded["versions"]["pennylane"] and recorded["versions"]["lightning"]
    git = recorded["git"]
    assert git is None or (len(git["commit"]) == 40 and isinstance(git["dirty"], bool))


def test_options_come_from_yaml_and_the_command_line_wins(tmp_path):
    config = tmp_path / "experiment.yaml"
    config.write_text("model: quanv\nn-qubits: 4\nmax_epochs: 7\nwandb_tags: [study, digits]\n")
    parsed = build_parser().parse_args(["--config", str(config), "--max-epochs", "2"])
    assert (parsed.model, parsed.n_qubits, parsed.max_epochs) == ("quanv", 4, 2)
    assert parsed.wandb_tags == ["study", "digits"]


@pytest.mark.slow
def test_wandb_runs_offline_and_its_files_hold_the_metrics(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("NETRC", str(tmp_path / ".netrc"))
    monkeypatch.setenv("WANDB_SILENT", "true")
    argv = [*TINY_RUN[:-1], "wandb", "--max-epochs", "2", "--wandb-tags", "[study,digits]"]
    argv += ["--wandb-log-model", "true"]
    (results,) = main([*argv, "--output-dir", str(tmp_path / "runs")])
    run_dir = Path(results["run_dir"])
    (offline_run,) = (run_dir / "wandb").glob("offline-run-*")
    assert f"wandb sync {offline_run}" in capsys.readouterr().out
    (run_file,) = offline_run.glob("run-*.wandb")
    wandb.teardown()  # waits for W&B's writer process to flush the run file and stop

    records = read_records(run_file)
    kinds = [record.WhichOneof("record_type") for record in records]
    assert "exit" in kinds  # the run was finished
    artifacts = [
        record.artifact for record in records if record.WhichOneof("record_type") == "artifact"
    ]
    assert artifacts and {artifact.type for artifact in artifacts} == {"model"}  # log-model
    run = next(record.run for record in records if record.WhichOneof("record_type") == "run")
    assert list(run.tags) == ["study", "digits"]
    assert config(run_file)["model"] == "hybrid_tiny"
    logged = history(run_file)
    val_top1 = [row["val/acc_top1"] for row in logged if "val/acc_top1" in row]
    csv_rows = list(csv.DictReader((run_dir / "csv" / "metrics.csv").open()))
    assert val_top1 == [float(row["val/acc_top1"]) for row in csv_rows if row["val/acc_top1"]]
    assert len(val_top1) == 3  # two epochs, then the best checkpoint's validation
    assert sum("train/loss" in row for row in logged) == 2
    images = {key.rsplit("/", 1)[0] for row in logged for key in row if key.endswith("/_type")}
    assert images == {"test/confusion_matrix"}  # digits has no augmentation figure

    matrix = np.loadtxt(run_dir / "confusion_matrix.csv", delimiter=",")
    assert matrix.shape == (10, 10) and matrix.sum() == 270  # the digits test split
    assert np.trace(matrix) / matrix.sum() == pytest.approx(results["test/acc_top1"])
    assert (run_dir / "confusion_matrix.png").stat().st_size > 5000


@pytest.mark.slow
def test_car_subset_run_with_augmentation_figure(tmp_path):
    from tests.data.car_files import write_folders

    data_dir = write_folders(tmp_path / "cars", per_class=10, test_per_class=2)
    (results,) = main(
        [
            "--model",
            "quanv_tiny",
            "--data",
            "stanford_cars",
            "--data-dir",
            str(data_dir),
            "--num-classes",
            "3",
            "--val-fraction",
            "0.2",
            "--image-size",
            "16",
            "--max-epochs",
            "1",
            "--logger",
            "csv",
            "--cache-dir",
            str(tmp_path / "cache"),
            "--output-dir",
            str(tmp_path / "runs"),
        ]
    )
    run_dir = Path(results["run_dir"])
    assert (run_dir / "augmentation.png").stat().st_size > 1000
    assert results["params_quantum"] == 0 and 0 <= results["test/acc_top1"] <= 1
    saved = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert saved["num_classes"] == 3 and saved["data"] == "stanford_cars"


@pytest.mark.parametrize("shown", [True, False])
def test_progress_bar_can_be_turned_off(shown, tmp_path, capsys):
    argv = [*TINY_RUN, "--fast-dev-run", "true", "--output-dir", str(tmp_path)]
    main([*argv, "--progress-bar", str(shown).lower()])
    captured = capsys.readouterr()
    assert ("it/s" in captured.out + captured.err) == shown
