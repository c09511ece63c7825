"""`hybrid_study`: the study's code's head and circuit, checked against PennyLane's templates as
that code builds them, its controls, and the head options every hybrid and control takes."""

from __future__ import annotations

import math
from pathlib import Path

import pennylane as qml
import pytest
import torch
from torch import nn

from hqnn_lightning.models import MODELS, HybridControl, HybridVQC, create_model
from hqnn_lightning.quantum import TorchStatevectorLayer, VariationalClassifierCircuit
from hqnn_lightning.report import control_comparisons, group_runs
from hqnn_lightning.run.cli import main
from tests.quantum.statevector.test_statevector import EXACT, draw, values_and_gradients
from tests.report.test_report import record
from tests.run.test_bad_input import cli_error


def tiny(name: str, seed: int = 0, **kwargs) -> nn.Module:
    torch.manual_seed(seed)
    return create_model(name, num_classes=10, in_channels=1, image_size=8, **kwargs).eval()


def images(batch: int = 5) -> torch.Tensor:
    return torch.rand(batch, 1, 8, 8, generator=torch.Generator().manual_seed(1))


def study_qnode(n_wires: int):
    """The study's circuit as its code builds it: PennyLane's templates with their defaults."""

    @qml.qnode(qml.device("default.qubit", wires=n_wires), interface="torch")
    def circuit(inputs, weights):
        qml.AngleEmbedding(inputs, wires=range(n_wires))
        qml.StronglyEntanglingLayers(weights, wires=range(n_wires))
        return [qml.expval(qml.PauliZ(wire)) for wire in range(n_wires)]

    return circuit


class StudyLayer(nn.Module):
    """`study_qnode` with its ``(2, n, 3)`` weights, as a layer ``(B, n) -> (B, n)``."""

    def __init__(self, n_wires: int, weights: torch.Tensor) -> None:
        super().__init__()
        self.qnode = study_qnode(n_wires)
        self.weights = nn.Parameter(weights.clone())

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return torch.stack(self.qnode(inputs, self.weights), dim=-1)


class TestDefaultHeadUnchanged:
    @pytest.mark.parametrize("name", ["hybrid_tiny", "hybrid_control_tiny"])
    def test_explicit_defaults_build_the_same_parameters_and_logits(self, name):
        default = tiny(name)
        explicit = tiny(name, projection_hidden=0, angle_scale=math.pi / 2)
        assert list(default.state_dict()) == list(explicit.state_dict())
        assert {"projection.weight", "projection.bias"} <= set(default.state_dict())
        assert isinstance(default.projection, nn.Linear)
        with torch.no_grad():
            assert torch.equal(default(images()), explicit(images()))

    def test_the_angles_are_tanh_times_half_pi_by_default(self):
        model = tiny("hybrid_tiny")
        features = torch.randn(3, model.num_features)
        with torch.no_grad():
            angles = torch.tanh(model.projection(features)) * (math.pi / 2)
            expected = model.classifier(model.quantum(angles))
            assert torch.equal(model.classify_features(features), expected)

    def test_hparams_record_the_head_options(self):
        hparams = tiny("hybrid_study_tiny").hparams
        assert hparams.projection_hidden == 8 and hparams.angle_scale == math.pi
        assert tiny("hybrid_tiny").hparams.angle_scale == math.pi / 2

    @pytest.mark.parametrize(
        ("options", "message"),
        [
            ({"projection_hidden": -1}, "projection_hidden must be a positive width"),
            ({"angle_scale": 0.0}, "angle_scale must be a positive, finite number of radians"),
        ],
    )
    def test_bad_values_are_refused_in_one_line(self, options, message):
        with pytest.raises(ValueError, match=message):
            tiny("hybrid_control_tiny", **options)

    def test_the_runner_refuses_them_in_one_line(self, tmp_path, capsys):
        error = cli_error(["--model", "hybrid_tiny", "--angle-scale", "-1"], tmp_path, capsys)
        assert "angle_scale must be a positive, finite number of radians" in error


@pytest.fixture(scope="module")
def model() -> HybridVQC:
    torch.manual_seed(0)
    return create_model("hybrid_study", num_classes=196, arch="resnet18", image_size=32)


class TestStudyModel:
    def test_head_is_the_studys(self, model):
        first, relu, second = model.projection
        assert (first.in_features, first.out_features) == (model.num_features, 128)
        assert isinstance(relu, nn.ReLU)
        assert (second.in_features, second.out_features) == (128, 6)
        assert (model.classifier.in_features, model.classifier.out_features) == (6, 196)
        assert model.angle_scale == math.pi and model.shortcut is None

    def test_angles_are_tanh_times_pi(self, model):
        seen = []
        hook = model.quantum.register_forward_pre_hook(lambda _, args: seen.append(args[0]))
        features = 10 * torch.randn(4, model.num_features)
        with torch.no_grad():
            model.classify_features(features)
            expected = torch.tanh(model.projection(features)) * math.pi
        hook.remove()
        torch.testing.assert_close(seen[0], expected, rtol=0, atol=0)
        assert seen[0].abs().max() > math.pi / 2  # beyond the library's range

    def test_circuit_is_the_studys_with_uniform_weights(self, model):
        layer = model.quantum
        assert isinstance(layer, TorchStatevectorLayer)
        assert layer.circuit == VariationalClassifierCircuit(
            6, 2, "strong", "rx", identity_blocks=False, readout="z"
        )
        (weights,) = layer.parameters()
        assert weights.shape == qml.StronglyEntanglingLayers.shape(n_layers=2, n_wires=6)
        assert weights.min() >= 0 and weights.max() < 2 * math.pi
        assert weights.std() > 1.0  # uniform on [0, 2 pi): std 1.81, not a small normal

    def test_circuit_equals_the_studys_qnode_in_values_and_gradients(self, model):
        layer = TorchStatevectorLayer(model.quantum.circuit, init="uniform").double()
        with torch.no_grad():
            layer.weights.copy_(draw(3, 2, 6, 3, low=0.0))
        reference = StudyLayer(6, layer.weights.detach())
        inputs = draw(4, 5, 6, low=-math.pi, high=math.pi)
        cotangent = draw(5, 5, 6, low=-1.0, high=1.0)
        expected = values_and_gradients(reference, inputs, cotangent)
        actual = values_and_gradients(layer, inputs, cotangent)
        for got, want in zip(actual[:2], expected[:2], strict=True):
            torch.testing.assert_close(got, want, **EXACT)
        torch.testing.assert_close(actual[2][0], expected[2][0], **EXACT)

    def test_controls_share_the_head_and_pair_in_the_report(self, model):
        assert MODELS.controls()["hybrid_study"] == (
            "hybrid_study_control",
            "hybrid_study_separable",
            "hybrid_study_fourier",
        )
        control = create_model("hybrid_study_control", num_classes=196, arch="resnet18")
        separable = create_model("hybrid_study_separable", num_classes=196, arch="resnet18")
        assert isinstance(control, HybridControl) and control.angle_scale == math.pi
        for other in (control, separable):
            assert [tuple(p.shape) for p in other.projection.parameters()] == [
                tuple(p.shape) for p in model.projection.parameters()
            ]
        linear, _ = control.classical
        assert (linear.in_features, linear.out_features) == (6, 6)
        assert separable.quantum.circuit == VariationalClassifierCircuit(
            6, 2, "separable", "rx", identity_blocks=False
        )
        runs = [
            record(name, seed, 0.5, arch="efficientnet_lite0", freeze_backbone=True)
            for name in ("hybrid_study", "hybrid_study_control", "hybrid_study_separable")
            for seed in (0, 1)
        ]
        pairs = [(c.group.model, c.control.model) for c in control_comparisons(group_runs(runs))]
        assert pairs == [
            ("hybrid_study", "hybrid_study_control"),
            ("hybrid_study", "hybrid_study_separable"),
        ]


def test_the_runner_trains_hybrid_study_on_digits(tmp_path: Path) -> None:
    argv = ["--model", "hybrid_study", "--max-epochs", "1", "--batch-size", "64"]
    argv += ["--logger", "csv", "--progress-bar", "false", "--output-dir", str(tmp_path)]
    (results,) = main(argv)
    assert results["epochs"] == 1 and 0 <= results["test/acc_top1"] <= 1
    (config,) = tmp_path.glob("*/config.yaml")
    path = next(tmp_path.glob("*/checkpoints/*.ckpt"))
    hparams = torch.load(path, weights_only=False)["hyper_parameters"]
    assert hparams["projection_hidden"] == 128 and hparams["angle_scale"] == math.pi
    assert hparams["encoding"] == "rx" and hparams["identity_blocks"] is False
    restored = HybridVQC.load_from_checkpoint(path)
    assert isinstance(restored.projection, nn.Sequential) and restored.angle_scale == math.pi
    assert "model: hybrid_study" in config.read_text()
