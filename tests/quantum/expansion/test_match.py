"""The expansion runs a circuit only when it provably computes it, judged on the operations
the circuit emits; any other circuit goes to the state-vector simulation."""

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pennylane as qml
import pytest
import torch

from hqnn_lightning.quantum import (
    QuantumLayer,
    QuanvolutionFilterCircuit,
    QuanvolutionLayer,
    TorchStatevectorLayer,
    TrainableQuanvolutionFilterCircuit,
    make_device,
    make_layer,
)
from hqnn_lightning.quantum.expansion.layer import ExpansionQuanvolution
from hqnn_lightning.quantum.expansion.match import expansion_mismatch
from hqnn_lightning.quantum.statevector.program import compile_circuit

from ..statevector.emitted_circuits import PixelFilter

EXACT = {"atol": 1e-10, "rtol": 0.0}


@dataclass(frozen=True)
class RXFilter(QuanvolutionFilterCircuit):
    """A subclass of the library's filter that encodes with RX: not the expansion's form."""

    def __call__(self, inputs: Any) -> list[Any]:
        wires = range(self.n_qubits)
        qml.AngleEmbedding(np.pi * inputs, wires=wires, rotation="X")
        qml.RandomLayers(self.random_weights, wires=wires, seed=self.seed)
        return [qml.expval(qml.PauliZ(wire)) for wire in wires]


@dataclass(frozen=True)
class Variant:
    """Four wires, ``RY(scale * x + offset)`` on each, a CNOT, then ``readout``."""

    scale: float = np.pi
    offset: float = 0.0
    readout: str = "z"
    reupload: bool = False
    n_qubits: int = 4
    n_outputs: int = 4
    weight_shapes: ClassVar[dict] = {}

    def __call__(self, inputs: Any) -> list[Any]:
        for wire in range(4):
            qml.RY(self.scale * inputs[..., wire] + self.offset, wires=wire)
        qml.CNOT([0, 1])
        if self.reupload:
            qml.RZ(inputs[..., 2], wires=3)
        if self.readout == "probs":
            return [qml.probs(wires=[0, 1]), qml.expval(qml.PauliZ(2)), qml.expval(qml.PauliZ(3))]
        if self.readout == "reversed":
            return [qml.expval(qml.PauliZ(wire)) for wire in reversed(range(4))]
        return [qml.expval(qml.PauliZ(wire)) for wire in range(4)]


@pytest.mark.parametrize(
    ("circuit", "reason"),
    [
        (QuanvolutionFilterCircuit(2, 1, 0), None),
        (TrainableQuanvolutionFilterCircuit(3, 2, 5), None),
        (PixelFilter(), None),
        (Variant(), None),
        (RXFilter(2, 1, 0), "wire 0 does not open with RY"),
        (Variant(scale=1.0), "wire 0 does not open with RY"),
        (Variant(offset=0.1), "wire 0 does not open with RY"),
        (Variant(readout="probs"), "does not return <Z> of every wire"),
        (Variant(readout="reversed"), "does not return <Z> of every wire"),
        (Variant(reupload=True), "an input enters again after its RY"),
    ],
)
def test_the_expansion_is_chosen_only_where_it_holds(circuit, reason):
    mismatch = expansion_mismatch(compile_circuit(circuit))
    assert mismatch is None if reason is None else reason in mismatch
    layer = make_layer(circuit, make_device("torch", circuit.n_qubits), init="uniform")
    expected = ExpansionQuanvolution if reason is None else TorchStatevectorLayer
    assert isinstance(layer, expected)


@pytest.mark.parametrize("circuit", [RXFilter(2, 1, 3), Variant(readout="probs"), PixelFilter()])
def test_either_layer_computes_the_circuit(circuit):
    torch.manual_seed(0)
    layer = make_layer(circuit, make_device("torch", 4), init="uniform").double()
    reference = QuantumLayer(circuit, init="uniform").double()
    reference.load_state_dict(layer.state_dict())
    pixels = torch.rand(2, 3, 4, dtype=torch.float64, requires_grad=True)
    torch.testing.assert_close(layer(pixels), reference(pixels), **EXACT)
    (grad,) = torch.autograd.grad(layer(pixels).sum(), pixels)
    (want,) = torch.autograd.grad(reference(pixels).sum(), pixels)
    torch.testing.assert_close(grad, want, **EXACT)


def test_the_quanvolution_slides_a_state_vector_filter_over_patches():
    quanvolution = QuanvolutionLayer(kernel_size=2, stride=1, seed=3).double()
    images = torch.rand(2, 3, 5, 5, dtype=torch.float64)
    expected = quanvolution(images)
    # The same circuit, on the state vector: a subclass that emits the same gates.
    quanvolution.filter = make_layer(quanvolution.circuit, "torch", "uniform", method="auto")
    assert isinstance(quanvolution.filter, TorchStatevectorLayer)
    torch.testing.assert_close(quanvolution(images), expected, **EXACT)


def test_constructing_the_expansion_for_another_circuit_names_the_reason():
    with pytest.raises(ValueError, match="does not hold for RXFilter: wire 0 does not open"):
        ExpansionQuanvolution(RXFilter(2, 1, 0))
