"""Saturated bottleneck outputs: the rule at its edges, how outputs are named, and a fit whose
saturated units the monitor names in its warning, its verdict, its summary and metrics.csv."""

from __future__ import annotations

import csv
import json
import warnings
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from hqnn_lightning.models.bottleneck import SideBySide
from hqnn_lightning.quantum.module import QuantumModule
from hqnn_lightning.run.saturation import (
    SATURATED_BELOW,
    OutputLayout,
    SaturationCheck,
    SaturationWarning,
    output_layout,
    saturated_outputs,
)
from hqnn_lightning.run.trainability import TrainabilityMonitor
from tests.models.test_quantum_modules import CosineBottleneck
from tests.run.test_trainability import fit, tiny


def epochs(*spreads: tuple[float, ...]) -> list[dict[str, float]]:
    """A monitor's history with the given per-output spreads, one tuple per epoch."""
    return [
        {"epoch": epoch} | {f"trainability/output_std/{i}": s for i, s in enumerate(values)}
        for epoch, values in enumerate(spreads)
    ]


class TestTheRule:
    def test_below_the_threshold_in_each_of_the_last_epochs(self):
        history = epochs((0.3, 0.3, 0.3), (0.01, 0.3, 0.01), (0.01, 0.3, 0.01), (0.01, 0.3, 0.0))
        assert saturated_outputs(history, below=0.02, epochs=3) == [0, 2]

    def test_the_threshold_itself_is_not_below_it(self):
        history = epochs((0.02, 0.0199999), (0.02, 0.0199999))
        assert saturated_outputs(history, below=0.02, epochs=2) == [1]

    def test_one_epoch_above_among_the_last_clears_it(self):
        history = epochs((0.01,), (0.5,), (0.01,), (0.01,))
        assert saturated_outputs(history, below=0.02, epochs=3) == []
        assert saturated_outputs(history, below=0.02, epochs=2) == [0]

    def test_a_run_shorter_than_the_epochs_is_judged_on_all_of_them(self):
        assert saturated_outputs(epochs((0.01, 0.1)), below=0.02, epochs=3) == [0]
        assert saturated_outputs(epochs((0.5, 0.1), (0.01, 0.1)), below=0.02, epochs=3) == []

    def test_no_spread_recorded_judges_nothing(self):
        assert saturated_outputs([], below=0.02, epochs=3) == []
        assert saturated_outputs([{"epoch": 0}], below=0.02, epochs=3) == []

    @pytest.mark.parametrize(("below", "count"), [(0.0, 3), (0.02, 0)])
    def test_bad_bounds_are_refused_naming_the_options(self, below, count):
        with pytest.raises(ValueError, match="saturated_below must be positive and"):
            TrainabilityMonitor(saturated_below=below, saturated_epochs=count)


class TestNames:
    def test_one_head_names_the_wires(self):
        layout = OutputLayout("qubit")
        assert layout.phrase([2, 5], 6, 0.02, 3) == (
            "qubits 2 and 5 of 6 saturated (output spread below 0.02 in each of the last 3 epochs)"
        )
        assert layout.phrase([4], 6, 0.02, 1) == (
            "qubit 4 of 6 saturated (output spread below 0.02 in its only epoch)"
        )

    def test_several_heads_name_the_head_and_the_index_in_it(self):
        layout = OutputLayout("unit", heads=2)
        assert layout.describe(7, 12) == {"unit": 7, "head": 1, "index": 1, "kind": "unit"}
        assert layout.phrase([0, 1, 7], 12, 0.02, 3).startswith(
            "units 0 of head 0, 1 of head 0 and 1 of head 1 of 12 saturated"
        )

    def test_the_models_say_what_their_outputs_are(self):
        hybrid, control = tiny("hybrid_tiny"), tiny("hybrid_control_tiny", n_heads=2)
        assert output_layout(hybrid.monitored_parts(), hybrid.hparams) == OutputLayout("qubit")
        assert output_layout(control.monitored_parts(), control.hparams) == OutputLayout("unit", 2)
        quanv = tiny("quanv_tiny")  # no bottleneck: the filter models are not judged
        assert output_layout(quanv.monitored_parts(), quanv.hparams) is None

    @pytest.mark.parametrize(("readout", "expected"), [("zz", "output"), ("probs", None)])
    def test_a_circuit_read_out_outside_minus_one_one_is_not_judged(self, readout, expected):
        circuit = QuantumModule()
        circuit.circuit = SimpleNamespace(readout=readout)
        layout = output_layout({"bottleneck": circuit}, {"n_heads": 1})
        assert layout == (expected and OutputLayout(expected))

    def test_a_researchers_module_without_a_read_out_is_read_as_z(self):
        model = CosineBottleneck(num_classes=3, in_channels=3)
        assert output_layout(model.monitored_parts(), model.hparams) == OutputLayout("qubit")


def saturate(model: nn.Module, units: list[int]) -> None:
    """Drives ``units`` of a control's ``tanh(Linear)`` heads to +1 for every image: a bias of
    20 leaves tanh' below 1e-16, so training does not bring them back."""
    layers = model.classical if isinstance(model.classical, SideBySide) else [model.classical]
    per_head = model.hparams.n_qubits
    with torch.no_grad():
        for unit in units:
            linear = layers[unit // per_head][0]
            linear.weight[unit % per_head].zero_()
            linear.bias[unit % per_head] = 20.0


def test_a_fit_names_its_saturated_units_in_the_warning_verdict_summary_and_csv(tmp_path):
    model = tiny("hybrid_control_tiny", n_heads=2, lr=1e-2)  # 2 heads of 2 tanh units
    saturate(model, [1, 2])
    monitor = TrainabilityMonitor(saturated_epochs=2)
    with pytest.warns(SaturationWarning) as caught:
        metrics = fit(model, monitor, tmp_path, epochs=3)
    saturation = [w for w in caught if issubclass(w.category, SaturationWarning)]
    assert len(saturation) == 1  # once, at the end of the second epoch
    message = str(saturation[0].message)
    assert "\n" not in message
    assert message.startswith("HybridControl has units 1 of head 0 and 0 of head 1 of 4 saturated")
    assert "--weight-decay" in message and "docs/trainability.md" in message

    summary = json.loads(json.dumps(monitor.summary()))  # what results.json holds
    assert summary["saturation_warned_at_epoch"] == 1
    assert [(o["unit"], o["head"], o["index"], o["kind"]) for o in summary["saturated"]] == [
        (1, 0, 1, "unit"),
        (2, 1, 0, "unit"),
    ]
    assert all(o["spread"] < SATURATED_BELOW for o in summary["saturated"])
    assert (summary["saturated_below"], summary["saturated_epochs"]) == (SATURATED_BELOW, 2)
    assert "units 1 of head 0 and 0 of head 1 of 4 saturated" in monitor.verdict

    rows = [row for row in csv.DictReader(metrics.open()) if row["train/loss"]]
    for row in rows:
        spreads = [float(row[f"trainability/output_std/{unit}"]) for unit in range(4)]
        assert spreads[1] < SATURATED_BELOW and spreads[2] < SATURATED_BELOW
        assert spreads[0] > SATURATED_BELOW and spreads[3] > SATURATED_BELOW


def test_a_healthy_fit_names_none(tmp_path):
    monitor = TrainabilityMonitor()
    with warnings.catch_warnings():
        warnings.simplefilter("error", SaturationWarning)
        fit(tiny("hybrid_control_tiny", lr=1e-2), monitor, tmp_path, epochs=3)
    assert monitor.saturated == [] and monitor.summary()["saturation_warned_at_epoch"] is None
    assert "saturated" not in monitor.verdict


def test_the_warning_travels_in_the_checkpoint_state(tmp_path):
    model = tiny("hybrid_control_tiny", lr=1e-2)
    saturate(model, [0])
    monitor = TrainabilityMonitor(saturated_epochs=1)
    with pytest.warns(SaturationWarning):
        fit(model, monitor, tmp_path, epochs=1)
    resumed = TrainabilityMonitor(saturated_epochs=1)
    resumed._set_state(monitor.state_dict())
    assert resumed.summary()["saturation_warned_at_epoch"] == 0


def test_a_batch_of_one_image_adds_no_spread():
    monitor = TrainabilityMonitor()
    monitor._recording = True
    monitor._record_spread(nn.Identity(), (), torch.ones(1, 3))
    assert monitor._spread_count == 0
    monitor._record_spread(nn.Identity(), (), torch.ones(2, 3))
    assert monitor._spread_count == 1


def test_check_warns_only_once_enough_epochs_are_there_during_fit():
    check = SaturationCheck(below=0.02, epochs=3)
    check.layout = OutputLayout("qubit")
    history = epochs((0.01,), (0.01,))
    check.warn(history, "HybridVQC", early=True)
    assert check.warned_at is None
    with pytest.warns(SaturationWarning, match="in each of the last 2 epochs"):
        check.warn(history, "HybridVQC", early=False)  # fit's end: a shorter run is judged
    assert check.warned_at == 1
