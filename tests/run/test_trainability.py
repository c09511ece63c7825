"""The trainability monitor: its figures, its warning on a model that cannot learn, its silence
on one that learns, and what it writes into a real run's metrics.csv and results.json."""

from __future__ import annotations

import csv
import json
import math
import warnings
from pathlib import Path

import lightning as L
import pytest
import torch
from lightning.pytorch.loggers import CSVLogger
from torch import nn

from hqnn_lightning.data import SyntheticImageDataModule
from hqnn_lightning.models import create_model
from hqnn_lightning.run.cli import main
from hqnn_lightning.run.options import build_parser, logistics_options
from hqnn_lightning.run.trainability import (
    LOSS_KEY,
    PlateauWarning,
    TrainabilityMonitor,
    batch_spread,
    gradient_norm,
    wants_monitor,
)
from tests.models.test_quantum_modules import CosineBottleneck

BOTTLENECK_PARTS = ["backbone", "projection", "bottleneck", "classifier"]


def tiny(name: str, **kwargs) -> nn.Module:
    torch.manual_seed(0)
    return create_model(name, num_classes=3, in_channels=3, image_size=8, **kwargs)


def test_gradient_norm_is_the_l2_norm_of_every_gradient_element():
    layer = nn.Linear(3, 2)
    layer.weight.grad = torch.tensor([[1.0, -2.0, 0.0], [0.5, 0.0, 3.0]])
    layer.bias.grad = torch.tensor([-1.0, 2.0])
    by_hand = math.sqrt(1 + 4 + 0.25 + 9 + 1 + 4)
    assert gradient_norm(layer.parameters()).item() == pytest.approx(by_hand, rel=1e-6)
    layer.bias.grad = None  # a parameter without a gradient is left out
    assert gradient_norm(layer.parameters()).item() == pytest.approx(math.sqrt(14.25), rel=1e-6)
    assert gradient_norm(nn.Linear(2, 2).parameters()) is None


def test_batch_spread_is_the_std_over_the_batch_of_each_unit():
    outputs = torch.tensor([[1.0, 5.0], [3.0, 5.0]])  # unit 0 spreads by 1, unit 1 not at all
    assert batch_spread(outputs).tolist() == [1.0, 0.0]
    maps = torch.zeros(2, 2, 2, 2)  # (B, channels, H', W'): averaged over the positions
    maps[1, 0] = torch.tensor([[2.0, 2.0], [0.0, 0.0]])
    assert batch_spread(maps).tolist() == [0.5, 0.0]


class TestMonitoredParts:
    def test_a_hybrid_and_its_control_name_the_same_parts(self):
        hybrid, control = tiny("hybrid_tiny"), tiny("hybrid_control_tiny")
        assert list(hybrid.monitored_parts()) == list(control.monitored_parts())
        assert list(hybrid.monitored_parts()) == BOTTLENECK_PARTS
        assert hybrid.monitored_parts()["bottleneck"] is hybrid.quantum
        assert control.monitored_parts()["bottleneck"] is control.classical

    def test_precomputed_features_leave_the_backbone_out_and_residual_adds_the_shortcut(self):
        model = tiny("hybrid_tiny", freeze_backbone=True, precompute_features=True, residual=True)
        assert list(model.monitored_parts()) == [*BOTTLENECK_PARTS[1:], "shortcut"]

    @pytest.mark.parametrize("name", ["quanv_tiny", "quanv_control_tiny"])
    def test_filter_models_name_their_filter_head_and_classifier(self, name):
        assert list(tiny(name).monitored_parts()) == ["filter", "head", "classifier"]
        cached = tiny(name, precompute_features=True)
        assert list(cached.monitored_parts()) == ["head", "classifier"]

    def test_the_classical_baseline_names_none_so_the_runner_leaves_the_monitor_off(self):
        assert not wants_monitor(tiny("classical_tiny", arch="small_cnn"))
        assert wants_monitor(tiny("hybrid_control_tiny"))


def fit(model: nn.Module, monitor: TrainabilityMonitor, tmp_path: Path, epochs: int) -> Path:
    """Fits ``model`` on the 3-class synthetic images with ``monitor``; returns metrics.csv."""
    L.seed_everything(0)
    trainer = L.Trainer(
        max_epochs=epochs,
        accelerator="cpu",
        logger=CSVLogger(tmp_path, name="", version="csv"),
        callbacks=[monitor],
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(model, datamodule=SyntheticImageDataModule(seed=0))
    return tmp_path / "csv" / "metrics.csv"


def test_warns_once_on_a_model_that_cannot_learn(tmp_path):
    model = tiny("hybrid_control_tiny", lr=0.0)
    nn.init.zeros_(model.classifier.weight)  # constant logits, and lr=0 keeps them so
    nn.init.zeros_(model.classifier.bias)
    monitor = TrainabilityMonitor(patience=2)
    with pytest.warns(PlateauWarning) as caught:
        fit(model, monitor, tmp_path, epochs=4)
    plateau = [w for w in caught if issubclass(w.category, PlateauWarning)]
    assert len(plateau) == 1  # once, at the end of the second epoch, not at every later one
    message = str(plateau[0].message)
    assert "\n" not in message and "has not left its initial plateau" in message
    assert "--lr" in message and "docs/trainability.md" in message
    assert monitor.warned_at == 1
    assert [figures[LOSS_KEY] for figures in monitor.history] == pytest.approx([0.0] * 4, abs=1e-6)
    # Zero classifier weights pass no gradient back: the parts before it get a zero norm.
    assert monitor.history[-1]["trainability/grad_norm/bottleneck"] == 0.0
    assert monitor.history[-1]["trainability/grad_norm/classifier"] > 0
    assert monitor.learned is False
    assert monitor.verdict.startswith(
        "did not leave its initial plateau: in all its 4 epochs, its train loss stayed above"
    )


def test_a_hybrids_warning_names_the_circuit_options(tmp_path):
    model = tiny("hybrid_tiny", lr=0.0)
    nn.init.zeros_(model.classifier.weight)
    nn.init.zeros_(model.classifier.bias)
    with pytest.warns(
        PlateauWarning,
        match="--encoding hadamard_ry, --identity-blocks true with --q-init identity",
    ):
        fit(model, TrainabilityMonitor(patience=1), tmp_path, epochs=1)


def test_a_researchers_quantum_module_is_monitored_as_the_circuit(tmp_path):
    # Found by the QuantumModule marker, not by a name or a library class.
    model = CosineBottleneck(num_classes=3, in_channels=3, lr=0.0)
    nn.init.zeros_(model.classifier.weight)
    nn.init.zeros_(model.classifier.bias)
    monitor = TrainabilityMonitor(patience=1)
    with pytest.warns(PlateauWarning, match="gradients reaching the circuit .*--q-lr"):
        fit(model, monitor, tmp_path, epochs=1)
    assert monitor.parts == BOTTLENECK_PARTS
    assert monitor.history[-1]["trainability/output_std/mean"] > 0


def test_stays_silent_on_a_model_that_learns_and_logs_every_figure(tmp_path):
    monitor = TrainabilityMonitor()
    with warnings.catch_warnings():
        warnings.simplefilter("error", PlateauWarning)
        metrics = fit(tiny("hybrid_control_tiny", lr=1e-2), monitor, tmp_path, epochs=3)
    assert monitor.warned_at is None and monitor.learned is True
    assert monitor.verdict.startswith("learned: the train loss fell ")

    rows = [row for row in csv.DictReader(metrics.open()) if row["train/loss"]]
    assert [int(row["epoch"]) for row in rows] == [0, 1, 2]
    for row, figures in zip(rows, monitor.history, strict=True):
        for part in BOTTLENECK_PARTS:
            assert float(row[f"trainability/grad_norm/{part}"]) > 0
        spreads = [float(row[f"trainability/output_std/{unit}"]) for unit in (0, 1)]
        assert float(row["trainability/output_std/mean"]) == pytest.approx(sum(spreads) / 2)
        # The loss figure is the logged train/loss minus ln 3, read back from the same row.
        loss = float(row["train/loss"]) - math.log(3)
        assert float(row[LOSS_KEY]) == pytest.approx(loss, abs=1e-6)
        assert figures[LOSS_KEY] == pytest.approx(loss, abs=1e-6)


def test_a_fixed_filter_has_no_gradient_norm_but_its_output_spread_is_recorded(tmp_path):
    monitor = TrainabilityMonitor()
    fit(tiny("quanv_control_tiny"), monitor, tmp_path, epochs=1)
    (figures,) = monitor.history
    assert {key for key in figures if "grad_norm" in key} == {
        "trainability/grad_norm/head",
        "trainability/grad_norm/classifier",
    }
    channels = [key for key in figures if key.startswith("trainability/output_std/")]
    assert len(channels) == 3 * 2**2 + 1  # one per output channel of the 2x2 filter, and the mean


@pytest.mark.parametrize(
    ("kwargs", "message"), [({"margin": 1.0}, "margin"), ({"patience": 0}, "patience")]
)
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TrainabilityMonitor(**kwargs)


def test_the_option_is_logistics_so_the_report_does_not_group_by_it():
    assert "monitor_trainability" in logistics_options()
    assert build_parser().parse_args([]).monitor_trainability is True
    assert (
        build_parser().parse_args(["--monitor-trainability", "false"]).monitor_trainability is False
    )


TINY_RUN = ["--model", "hybrid_tiny", "--data", "synthetic", "--max-epochs", "2", "--logger", "csv"]


@pytest.mark.slow
def test_a_real_run_writes_the_figures_to_metrics_csv_and_the_verdict_to_results(tmp_path, capsys):
    (results,) = main([*TINY_RUN, "--output-dir", str(tmp_path / "on")])
    run_dir = Path(results["run_dir"])
    header = next(csv.reader((run_dir / "csv" / "metrics.csv").open()))
    expected = {f"trainability/grad_norm/{part}" for part in BOTTLENECK_PARTS}
    expected |= {"trainability/output_std/mean", "trainability/output_std/0", LOSS_KEY}
    assert expected <= set(header)

    trainability = json.loads((run_dir / "results.json").read_text())["trainability"]
    assert trainability == results["trainability"]
    assert trainability["parts"] == BOTTLENECK_PARTS
    assert [figures["epoch"] for figures in trainability["epochs"]] == [0, 1]
    assert trainability["ln_classes"] == pytest.approx(math.log(3))
    # The saturated qubits: a list (empty or not) of outputs below the threshold.
    assert all(output["spread"] < 0.02 for output in trainability["saturated"])
    assert trainability["saturated_below"] == 0.02
    assert f"Trainability: {trainability['verdict']}\n" in capsys.readouterr().out

    (off,) = main(
        [*TINY_RUN, "--output-dir", str(tmp_path / "off"), "--monitor-trainability", "false"]
    )
    assert "trainability" not in off
    assert "trainability" not in (Path(off["run_dir"]) / "csv" / "metrics.csv").read_text()
    assert "Trainability:" not in capsys.readouterr().out
