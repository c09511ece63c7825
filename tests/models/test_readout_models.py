"""The read-out option (``readout``: ``z``, ``zz``, ``probs``) in the hybrid and its controls:
the classifier takes the read-out's width, the controls follow it, the default ``z`` builds the
models as before, and the runner trains with each."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml
from torch import nn

from hqnn_lightning.models import HybridControl, HybridVQC
from hqnn_lightning.models.hybrid import circuit_parameters
from hqnn_lightning.quantum import READOUTS
from hqnn_lightning.run.cli import main
from tests.models.test_study_model import images, tiny
from tests.run.test_bad_input import cli_error

HYBRIDS = ["hybrid_tiny", "hybrid_separable_tiny"]
CONTROLS = ["hybrid_control_tiny", "hybrid_control_matched_tiny"]
WIDTH_AT_2 = {"z": 2, "zz": 3, "probs": 4}
"""Each read-out's width on ``*_tiny``'s 2 qubits."""


def count(model: nn.Module) -> int:
    """Trainable parameters of ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def bottleneck_width(model: nn.Module) -> int:
    """Outputs of the bottleneck layer on a batch of 3 angle vectors."""
    angles = torch.rand(3, model.projection.out_features)
    with torch.no_grad():
        return model.bottleneck_layer()(angles).shape[-1]


@pytest.mark.parametrize("name", HYBRIDS + CONTROLS)
@pytest.mark.parametrize("readout", sorted(WIDTH_AT_2))
@pytest.mark.parametrize("n_heads", [1, 2])
def test_the_classifier_takes_heads_times_the_readouts_width(name, readout, n_heads):
    model = tiny(name, readout=readout, n_heads=n_heads)
    width = n_heads * WIDTH_AT_2[readout]
    assert READOUTS.get(readout).n_outputs(2) == WIDTH_AT_2[readout]
    assert model.projection.out_features == n_heads * 2
    assert bottleneck_width(model) == model.classifier.in_features == width
    with torch.no_grad():
        assert model(images()).shape == (5, 10)
    assert model.hparams.readout == readout


@pytest.mark.parametrize("readout", ["zz", "probs"])
def test_hybrid_control_is_tanh_of_a_linear_from_qubits_to_the_readouts_width(readout):
    model = tiny("hybrid_control", n_qubits=4, readout=readout)
    (linear, tanh) = model.classical
    width = READOUTS.get(readout).n_outputs(4)
    assert (linear.in_features, linear.out_features) == (4, width) and isinstance(tanh, nn.Tanh)
    assert width == {"zz": 4 + 6, "probs": 16}[readout]


@pytest.mark.parametrize(("n_qubits", "readout"), [(6, "z"), (6, "zz"), (4, "probs"), (6, "probs")])
def test_the_matched_control_has_the_circuits_parameters(n_qubits, readout):
    # Linear(n, h), Linear(h, m): (n + m + 1) h + m parameters, h chosen nearest the
    # circuit's; at 6 qubits probs (m = 64) has more even at h = 1.
    circuit = circuit_parameters(n_qubits, 3)
    model = tiny(
        "hybrid_control_matched", n_qubits=n_qubits, readout=readout, bottleneck_parameters=circuit
    )
    head = sum(p.numel() for p in model.classical.parameters())
    hybrid = tiny("hybrid", n_qubits=n_qubits, q_depth=3, readout=readout)
    width = READOUTS.get(readout).n_outputs(n_qubits)
    hidden = model.classical[0].out_features
    assert sum(p.numel() for p in hybrid.quantum.parameters()) == circuit
    assert model.classical[2].out_features == width
    if hidden > 1:
        assert abs(head - circuit) <= (n_qubits + width + 1) / 2
    else:
        assert head == n_qubits + 2 * width + 1 > circuit
    # Everything else (projection, classifier) is the same shape in the two models.
    assert count(model) - count(hybrid) == head - circuit


@pytest.mark.parametrize(
    "name", ["hybrid_tiny", "hybrid_control_tiny", "hybrid_control_matched_tiny"]
)
def test_the_default_z_builds_the_same_model_as_leaving_it_out(name):
    default, explicit = tiny(name), tiny(name, readout="z")
    assert list(default.state_dict()) == list(explicit.state_dict())
    for key, value in default.state_dict().items():
        assert torch.equal(value, explicit.state_dict()[key]), key
    with torch.no_grad():
        assert torch.equal(default(images()), explicit(images()))


def test_an_unknown_readout_is_refused_by_the_control_too():
    with pytest.raises(ValueError, match="unknown read-out 'xx'; known: probs, z, zz"):
        tiny("hybrid_control_tiny", readout="xx")


def test_the_runner_refuses_a_readout_the_device_cannot_compute(tmp_path, capsys):
    argv = ["--model", "hybrid_tiny", "--readout", "probs", "--q-device", "lightning.qubit"]
    error = cli_error(argv, tmp_path, capsys)
    assert "lightning.qubit with diff_method='adjoint' cannot compute probs" in error
    assert "--readout" in error and "Traceback" not in error


@pytest.mark.slow
@pytest.mark.parametrize(("readout", "width"), [("zz", 3), ("probs", 4)])
def test_the_runner_trains_hybrid_tiny_with_each_readout_on_digits(tmp_path: Path, readout, width):
    argv = ["--model", "hybrid_tiny", "--readout", readout, "--max-epochs", "1"]
    argv += ["--batch-size", "64", "--logger", "csv", "--progress-bar", "false"]
    (results,) = main([*argv, "--output-dir", str(tmp_path)])
    assert results["epochs"] == 1 and 0 <= results["test/acc_top1"] <= 1
    (config,) = tmp_path.glob("*/config.yaml")
    assert yaml.safe_load(config.read_text())["readout"] == readout
    path = next(tmp_path.glob("*/checkpoints/*.ckpt"))
    assert torch.load(path, weights_only=False)["hyper_parameters"]["readout"] == readout
    restored = HybridVQC.load_from_checkpoint(path)
    assert restored.classifier.in_features == width
    assert not isinstance(restored, HybridControl)
