"""Models from parts: a circuit object from a script in `HybridVQC(circuit=...)` and
`QuanvNet(filter=...)`, checked against the options that build the library's circuits, and
recorded in hparams as a description that checkpoints do not hold."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import lightning as L
import pennylane as qml
import pytest
import torch

from hqnn_lightning.models import MODELS, HybridVQC, QuanvNet, create_model
from hqnn_lightning.quantum import QuanvolutionFilterCircuit, VariationalClassifierCircuit
from hqnn_lightning.quantum.circuits import CircuitDescription

SMALL = {"num_classes": 4, "arch": "small_cnn", "in_channels": 1, "image_size": 8}
CIRCUIT = VariationalClassifierCircuit(3, 2, encoding="ry")


@dataclass(frozen=True)
class TwoReadouts(CircuitDescription):
    """A researcher's circuit: ``n_qubits`` inputs, one RY each and a CNOT chain, ``<Z>`` of
    the first two wires only: ``(B, n_qubits) -> (B, 2)``."""

    n_qubits: int = 3
    n_outputs: ClassVar[int] = 2

    @property
    def weight_shapes(self) -> dict[str, tuple[int, ...]]:
        return {"weights": (self.n_qubits,)}

    def __call__(self, inputs: Any, weights: Any) -> list[Any]:
        wires = range(self.n_qubits)
        qml.AngleEmbedding(inputs, wires=wires, rotation="Y")
        for wire in wires:
            qml.RY(weights[wire], wires=wire)
        for wire in wires[:-1]:
            qml.CNOT(wires=[wire, wire + 1])
        return [qml.expval(qml.PauliZ(0)), qml.expval(qml.PauliZ(1))]


def save(model: L.LightningModule, path) -> None:
    trainer = L.Trainer(logger=False, enable_progress_bar=False, enable_model_summary=False)
    trainer.strategy.connect(model)
    trainer.save_checkpoint(path)


def images(batch: int = 2) -> torch.Tensor:
    return torch.rand(batch, 1, 8, 8, generator=torch.Generator().manual_seed(0))


class TestHybridCircuit:
    def test_the_width_comes_from_the_circuit(self):
        model = HybridVQC(**SMALL, circuit=CIRCUIT, q_init="normal")
        assert model.quantum.circuit == CIRCUIT
        assert model.projection.out_features == model.classifier.in_features == 3
        assert model(images()).shape == (2, 4)

    def test_the_classifier_takes_the_circuits_outputs(self):
        model = HybridVQC(
            **SMALL, circuit=TwoReadouts(), q_init="normal", q_device="default.qubit", n_heads=2
        )
        assert model.projection.out_features == 2 * 3
        assert model.classifier.in_features == 2 * 2
        assert model(images()).shape == (2, 4)

    def test_options_of_the_library_circuit_are_refused_beside_it(self):
        with pytest.raises(ValueError, match=r"and q_depth=4, encoding='rx', which build"):
            HybridVQC(**SMALL, circuit=CIRCUIT, q_depth=4, encoding="rx")
        with pytest.raises(ValueError, match=r"n_qubits=5.*the circuit gives n_qubits=3"):
            HybridVQC(**SMALL, circuit=CIRCUIT, n_qubits=5)
        agreeing = HybridVQC(**SMALL, circuit=CIRCUIT, n_qubits=3, q_init="normal")
        assert agreeing.projection.out_features == 3

    def test_hparams_describe_the_circuit_in_place_of_the_library_options(self):
        model = HybridVQC(**SMALL, circuit=CIRCUIT, q_init="normal")
        for recorded in (model.hparams, model.hparams_initial):  # the checkpoint's, the loggers'
            assert recorded["circuit"] == repr(CIRCUIT)
            assert not {"n_qubits", "q_depth", "encoding", "identity_blocks"} & set(recorded)
            assert recorded["q_init"] == "normal" and recorded["arch"] == "small_cnn"
        library = create_model("hybrid_tiny", num_classes=4, in_channels=1, image_size=8)
        assert library.hparams["circuit"] is None and library.hparams["n_qubits"] == 2

    def test_a_checkpoint_needs_the_circuit_passed_again(self, tmp_path):
        model = HybridVQC(**SMALL, circuit=CIRCUIT, q_init="normal").eval()
        save(model, tmp_path / "model.ckpt")
        with pytest.raises(ValueError, match=r"load_from_checkpoint\(path, circuit=\.\.\.\)$"):
            HybridVQC.load_from_checkpoint(tmp_path / "model.ckpt")
        loaded = HybridVQC.load_from_checkpoint(tmp_path / "model.ckpt", circuit=CIRCUIT).eval()
        torch.testing.assert_close(loaded(images()), model(images()))

    def test_it_is_an_argument_from_a_script_not_an_option_of_the_runner(self):
        assert "circuit" not in MODELS.accepted_arguments("hybrid")
        assert "filter" not in MODELS.accepted_arguments("quanv")
        model = create_model("hybrid", **SMALL, circuit=CIRCUIT, q_init="normal")
        assert model.quantum.circuit == CIRCUIT


class TestQuanvFilter:
    FILTER = QuanvolutionFilterCircuit(kernel_size=3, n_layers=2, seed=4)

    def test_the_patch_side_comes_from_the_filter(self):
        model = QuanvNet(num_classes=4, in_channels=1, image_size=8, filter=self.FILTER)
        assert model.quanvolution.circuit == self.FILTER
        assert model.quanvolution.kernel_size == 3
        assert model.feature_shape == (9, 3, 3)
        assert model(images()).shape == (2, 4)
        assert model.hparams["filter"] == repr(self.FILTER)
        assert not {"kernel_size", "n_layers", "filter_seed"} & set(model.hparams)

    def test_each_patch_gives_the_filters_outputs(self):
        model = QuanvNet(
            num_classes=4,
            in_channels=1,
            image_size=8,
            filter=TwoReadouts(n_qubits=4),
            q_device="default.qubit",
            stride=2,
        )
        assert model.quanvolution.kernel_size == 2 and model.trainable_filter
        assert model.feature_shape == (2, 4, 4)  # two values per 2x2 patch, not four
        assert model(images()).shape == (2, 4)

    def test_options_of_the_random_filter_are_refused_beside_it(self):
        with pytest.raises(ValueError, match=r"and n_layers=3, which build"):
            QuanvNet(num_classes=4, image_size=8, filter=self.FILTER, n_layers=3)
        with pytest.raises(ValueError, match="has 3 qubits: a filter takes the k \\* k pixels"):
            QuanvNet(num_classes=4, image_size=8, filter=TwoReadouts())
        assert QuanvNet(num_classes=4, image_size=8, filter=self.FILTER, kernel_size=3)

    def test_a_trainable_filter_object_cannot_be_precomputed(self):
        single = VariationalClassifierCircuit(1, 1, identity_blocks=False)  # 1x1, with weights
        with pytest.raises(ValueError, match="precompute_features needs a fixed filter"):
            QuanvNet(
                num_classes=4, in_channels=1, image_size=8, filter=single, precompute_features=True
            )

    def test_a_checkpoint_needs_the_filter_passed_again(self, tmp_path):
        model = QuanvNet(num_classes=4, in_channels=1, image_size=8, filter=self.FILTER).eval()
        save(model, tmp_path / "model.ckpt")
        with pytest.raises(ValueError, match=r"QuanvNet.load_from_checkpoint\(path, filter="):
            QuanvNet.load_from_checkpoint(tmp_path / "model.ckpt")
        loaded = QuanvNet.load_from_checkpoint(tmp_path / "model.ckpt", filter=self.FILTER)
        torch.testing.assert_close(loaded.eval()(images()), model(images()))


def test_device_options_stay_a_dict_in_hparams():
    options = {"noise": "depolarizing", "noise_strength": 0.01}
    model = create_model(
        "hybrid_tiny",
        num_classes=4,
        in_channels=1,
        image_size=8,
        q_device="default.mixed",
        q_device_options=options,
    )
    assert model.hparams["q_device_options"] == options
    assert model.hparams_initial["q_device_options"] == options
