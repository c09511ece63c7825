"""hybrid_fourier: the Fourier features, the claim that they span the circuit's outputs, the
parameter counts, the report's pairing and one epoch through the runner."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from hqnn_lightning.models import MODELS, HybridFourier, create_model
from hqnn_lightning.models.fourier_features import (
    MAX_FOURIER_FEATURES,
    FourierFeatures,
    default_order,
    feature_count,
)
from hqnn_lightning.report import control_comparisons, group_runs
from hqnn_lightning.run.cli import main
from tests.report.test_report import record
from tests.run.test_bad_input import cli_error


def tiny(name: str, **kwargs) -> torch.nn.Module:
    return create_model(name, num_classes=4, in_channels=1, image_size=8, **kwargs)


def angles(samples: int, n_qubits: int, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return (
        torch.rand(samples, n_qubits, generator=generator, dtype=torch.float64) * 2 - 1
    ) * math.pi


def test_features_are_the_products_of_cos_and_sin() -> None:
    x = angles(5, 2)
    c, s = x.cos(), x.sin()
    expected = [c[:, 0], s[:, 0], c[:, 1], s[:, 1]]
    expected += [c[:, 0] * c[:, 1], c[:, 0] * s[:, 1], s[:, 0] * c[:, 1], s[:, 0] * s[:, 1]]
    torch.testing.assert_close(FourierFeatures(2, 1, 2)(x), torch.stack(expected, dim=-1))
    twice = FourierFeatures(2, 2, 1)(x)
    first = [c[:, 0], s[:, 0], (2 * x[:, 0]).cos(), (2 * x[:, 0]).sin()]
    torch.testing.assert_close(twice[:, :4], torch.stack(first, dim=-1))


@pytest.mark.parametrize(
    ("n_qubits", "degree", "order", "count"),
    [(2, 1, 2, 8), (6, 1, 1, 12), (6, 1, 2, 72), (6, 1, 6, 728), (3, 2, 3, 124)],
)
def test_feature_count(n_qubits: int, degree: int, order: int, count: int) -> None:
    assert feature_count(n_qubits, degree, order) == count
    assert FourierFeatures(n_qubits, degree, order).n_features == count


def test_default_order_is_the_whole_span_up_to_eight_qubits() -> None:
    assert [default_order(n, 1) for n in (4, 6, 8, 10, 12)] == [4, 6, 8, 4, 3]
    assert default_order(5, 2) == 5 and default_order(6, 2) < 6
    assert feature_count(8, 1, 8) == MAX_FOURIER_FEATURES


def least_squares_residual(circuit_layer: torch.nn.Module, features: FourierFeatures) -> float:
    """Largest residual of the circuit's outputs fitted by a bias and a linear map of the
    features, on 400 random angles in ``(-pi, pi)``, float64."""
    x = angles(400, features.n_qubits, seed=1)
    with torch.no_grad():
        outputs = circuit_layer(x)
        design = torch.cat([torch.ones(len(x), 1, dtype=x.dtype), features(x)], dim=-1)
    assert outputs.dtype == torch.float64 and design.shape[1] < len(x)
    solution = torch.linalg.lstsq(design, outputs, driver="gelsd").solution
    return float((design @ solution - outputs).abs().max())


# (circuit options of hybrid_tiny, the order of the twin's features, whether they span it)
SPANS = [
    ({"n_qubits": 3, "entangler": "strong"}, 3, True),
    ({"n_qubits": 3, "entangler": "strong"}, 2, False),  # misses the three-qubit products
    ({"n_qubits": 3, "entangler": "basic"}, 3, True),
    ({"n_qubits": 3, "entangler": "separable"}, 1, True),  # a product state: <Z_i> of x_i
    ({"n_qubits": 2, "entangler": "strong", "reupload": True, "identity_blocks": False}, 2, True),
]


@pytest.mark.parametrize(("circuit", "order", "spans"), SPANS)
def test_the_circuits_outputs_lie_in_the_twins_span(circuit, order, spans) -> None:
    hybrid = tiny("hybrid_tiny", q_depth=2, q_init="uniform", **circuit)
    twin = tiny("hybrid_fourier_tiny", q_depth=2, fourier_order=order, **circuit)
    features = twin.fourier[0]
    assert twin.spans_circuit == (order == circuit["n_qubits"])
    residual = least_squares_residual(hybrid.quantum, features)
    assert residual < 1e-10 if spans else residual > 1e-3


def test_a_missing_frequency_leaves_the_reuploading_circuit_outside() -> None:
    options = {"n_qubits": 2, "q_depth": 2, "reupload": True, "identity_blocks": False}
    hybrid = tiny("hybrid_tiny", q_init="uniform", **options)
    assert tiny("hybrid_fourier_tiny", **options).fourier[0].degree == 2
    assert least_squares_residual(hybrid.quantum, FourierFeatures(2, 2, 2)) < 1e-10
    assert least_squares_residual(hybrid.quantum, FourierFeatures(2, 1, 2)) > 1e-3


def test_it_has_the_hybrids_shape_and_says_where_its_parameters_differ() -> None:
    hybrid = create_model("hybrid", num_classes=7, arch="small_cnn", image_size=8)
    twin = create_model("hybrid_fourier", num_classes=7, arch="small_cnn", image_size=8)
    assert isinstance(twin, HybridFourier) and twin.spans_circuit
    assert twin.projection.out_features == hybrid.projection.out_features == 6
    assert twin.classifier.in_features == hybrid.classifier.in_features == 6
    assert twin.circuit_parameters == 108 and twin.twin_parameters == (728 + 1) * 6
    assert not twin.matches_circuit_parameters
    separable = tiny("hybrid_fourier_tiny", n_qubits=6, q_depth=3, fourier_order=1)
    assert separable.twin_parameters == (12 + 1) * 6 and not separable.spans_circuit
    # One qubit, one Rot: 3 angles, as many as cos x, sin x and the bias to one output.
    options = {"n_qubits": 1, "q_depth": 1, "entangler": "separable", "identity_blocks": False}
    matched = tiny("hybrid_fourier_tiny", **options)
    assert matched.circuit_parameters == matched.twin_parameters == 3
    assert matched.matches_circuit_parameters


def test_heads_take_their_own_slice() -> None:
    model = tiny("hybrid_fourier_tiny", n_heads=3)
    assert model.projection.out_features == model.classifier.in_features == 6
    x = torch.rand(4, 6)
    moved = x.clone()
    moved[:, 2:4] += 0.5
    changed = (model.bottleneck_layer()(x) - model.bottleneck_layer()(moved)).abs().sum(0) > 1e-9
    assert changed.tolist() == [False, False, True, True, False, False]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"fourier_order": 0}, "fourier_order must be between 1 and n_qubits=2, got 0"),
        ({"fourier_order": 3}, "fourier_order must be between 1 and n_qubits=2, got 3"),
        (
            {"n_qubits": 12, "fourier_order": 4},
            "fourier_order=4 gives 9,968 features at n_qubits=12 and frequencies up to 1, "
            "more than 6,560: give at most --fourier-order 3",
        ),
        ({"reupload": True}, "identity blocks"),
    ],
)
def test_bad_orders_are_refused_in_one_line(options, message) -> None:
    with pytest.raises(ValueError, match=message):
        tiny("hybrid_fourier_tiny", **options)


def test_it_is_every_hybrids_control_and_pairs_with_its_circuit_in_the_report() -> None:
    assert MODELS.controls()["hybrid"][-1] == "hybrid_fourier"
    assert MODELS.controls()["hybrid_study"][-1] == "hybrid_study_fourier"
    study = create_model("hybrid_study_fourier", num_classes=3, arch="small_cnn", image_size=8)
    assert study.circuit_parameters == 36 and study.angle_scale == math.pi
    runs = [
        record("hybrid", 0, 0.5, q_depth=2, encoding="ry"),
        record("hybrid", 0, 0.5, q_depth=3, encoding="ry"),
        record("hybrid_fourier", 0, 0.4, q_depth=3),
    ]
    pairs = [(c.group.label, c.control.model) for c in control_comparisons(group_runs(runs))]
    assert pairs == [("hybrid encoding=ry q_depth=3", "hybrid_fourier")]


def test_the_runner_trains_hybrid_fourier_tiny_on_digits(tmp_path: Path, capsys) -> None:
    argv = ["--model", "hybrid_fourier_tiny", "--fourier-order", "1", "--max-epochs", "1"]
    argv += ["--batch-size", "64", "--logger", "csv", "--progress-bar", "false"]
    (results,) = main([*argv, "--output-dir", str(tmp_path)])
    assert results["epochs"] == 1 and 0 <= results["test/acc_top1"] <= 1
    path = next(tmp_path.glob("*/checkpoints/*.ckpt"))
    restored = HybridFourier.load_from_checkpoint(path)
    assert restored.hparams.fourier_order == 1 and restored.fourier[0].order == 1
    error = cli_error(["--model", "hybrid_fourier_tiny", "--fourier-order", "5"], tmp_path, capsys)
    assert "fourier_order must be between 1 and n_qubits=2, got 5" in error
