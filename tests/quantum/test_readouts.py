"""The read-outs (`READOUTS`: ``z``, ``zz``, ``probs``) on every exact path: the torch
state-vector backend and `QuantumLayer` (``TorchLayer``) against a bare PennyLane QNode on
``default.qubit`` whose measurements are written out here, in values and gradients."""

from __future__ import annotations

import pennylane as qml
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from hqnn_lightning.quantum import (
    ENCODINGS,
    ENTANGLERS,
    READOUTS,
    ExpansionQuanvolution,
    QuantumLayer,
    QuanvolutionFilterCircuit,
    TorchStatevectorLayer,
    VariationalClassifierCircuit,
    make_device,
    make_layer,
)
from hqnn_lightning.quantum.expansion.match import expansion_mismatch
from hqnn_lightning.quantum.statevector.program import compile_circuit
from tests.quantum.statevector.test_statevector import EXACT, draw

WIDTHS = {"z": 6, "zz": 6 + 15, "probs": 64}
"""Each built-in read-out's width at 6 qubits."""


def written_out(readout: str, n: int) -> list:
    """The read-out's measurements as the docs state them, queued in a QNode."""
    if readout == "probs":
        return [qml.probs(wires=range(n))]
    singles = [qml.expval(qml.PauliZ(i)) for i in range(n)]
    if readout == "zz":
        pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
        return singles + [qml.expval(qml.PauliZ(i) @ qml.PauliZ(j)) for i, j in pairs]
    return singles


def reference(circuit, readout: str, inputs, weights):
    """``circuit``'s gates (as it emits them), then the written-out read-out, on a QNode on
    ``default.qubit``: ``(B, n_outputs)`` in float64, differentiable by backprop."""
    n = circuit.n_qubits

    @qml.qnode(qml.device("default.qubit", wires=n), interface="torch", diff_method="backprop")
    def qnode(inputs, weights):
        for operation in qml.tape.make_qscript(circuit)(inputs, **weights).operations:
            qml.apply(operation)
        return written_out(readout, n)

    result = qnode(inputs, weights)
    if isinstance(result, list | tuple):
        result = torch.stack([r.reshape(len(inputs), -1) for r in result], -1).flatten(1)
    return result.reshape(len(inputs), -1)


def gradients(outputs, inputs, weights, cotangent):
    """Outputs and the gradients of ``sum(outputs * cotangent)`` w.r.t. inputs and each
    weight, by name."""
    tensors = [inputs, *weights.values()]
    grads = torch.autograd.grad((outputs * cotangent).sum(), tensors)
    return outputs.detach(), grads[0], dict(zip(weights, grads[1:], strict=True))


def layer_gradients(layer, inputs, cotangent):
    inputs = inputs.detach().clone().requires_grad_()
    weights = dict(layer.named_parameters())
    return gradients(layer(inputs), inputs, weights, cotangent)


class TestWidthsAndOrder:
    @pytest.mark.parametrize(("readout", "width"), sorted(WIDTHS.items()))
    def test_widths(self, readout, width):
        assert READOUTS.get(readout).n_outputs(6) == width
        assert VariationalClassifierCircuit(6, 2, readout=readout).n_outputs == width

    @pytest.mark.parametrize("device", ["torch", "default.qubit"])
    def test_the_stated_order_on_a_known_basis_state(self, device):
        # init="identity" makes the trainable part the identity, so RY(pi) on wire 0 alone
        # leaves |100>: Z = (-1, 1, 1), pairs (0,1), (0,2), (1,2) = (-1, -1, 1), and the
        # probability 1 at index 4 = 0b100 (wire 0 the most significant bit).
        inputs = torch.tensor([[torch.pi, 0.0, 0.0]], dtype=torch.float64)
        expected = {
            "zz": [-1.0, 1.0, 1.0, -1.0, -1.0, 1.0],
            "probs": [0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0],
        }
        for readout, values in expected.items():
            circuit = VariationalClassifierCircuit(3, 2, encoding="ry", readout=readout)
            layer = make_layer(circuit, make_device(device, 3), init="identity").double()
            with torch.no_grad():
                outputs = layer(inputs)
            torch.testing.assert_close(outputs, torch.tensor([values]).double(), **EXACT)


@st.composite
def circuits(pick) -> VariationalClassifierCircuit:
    """Small circuits over every encoding, entangler, depth, structure and read-out."""
    q_depth = pick(st.integers(1, 2))
    structure = pick(st.sampled_from(["blocks", "reupload", "neither"]))
    return VariationalClassifierCircuit(
        pick(st.integers(1, 4)),
        q_depth,
        pick(st.sampled_from(sorted(ENTANGLERS))),
        pick(st.sampled_from(ENCODINGS.names())),
        reupload=structure == "reupload",
        identity_blocks=structure == "blocks" and q_depth > 1,
        readout=pick(st.sampled_from(READOUTS.names())),
    )


class TestAgreesWithAQNode:
    @settings(max_examples=40, deadline=None)
    @given(
        circuit=circuits(),
        method=st.sampled_from(["auto", "gates"]),  # auto: the unitary but with re-uploading
        batch=st.integers(1, 3),
        seed=st.integers(0, 2**31 - 1),
    )
    def test_values_and_gradients(self, circuit, method, batch, seed):
        readout, n_qubits = circuit.readout, circuit.n_qubits
        weights = {
            name: draw(seed + k, *shape, low=0.0).requires_grad_()
            for k, (name, shape) in enumerate(circuit.weight_shapes.items())
        }
        inputs = draw(seed + 7, batch, n_qubits).requires_grad_()
        cotangent = draw(seed + 8, batch, circuit.n_outputs, low=-1.0, high=1.0)
        expected = gradients(
            reference(circuit, readout, inputs, weights), inputs, weights, cotangent
        )
        torch_layer = TorchStatevectorLayer(circuit, method=method, init="uniform").double()
        pennylane_layer = QuantumLayer(circuit, init="uniform").double()
        for layer in (torch_layer, pennylane_layer):
            layer.load_state_dict({name: w.detach() for name, w in weights.items()})
            actual = layer_gradients(layer, inputs, cotangent)
            torch.testing.assert_close(actual[0], expected[0], **EXACT)
            torch.testing.assert_close(actual[1], expected[1], **EXACT)
            for name, grad in expected[2].items():
                torch.testing.assert_close(actual[2][name], grad, **EXACT)


class PixelFilterWithPairs(QuanvolutionFilterCircuit):
    """A quanvolution filter (``RY(pi x)`` opening each wire) that reads out ``zz``: all the
    expansion needs but its ``<Z>`` read-out."""

    def __call__(self, inputs):
        super().__call__(inputs)
        return READOUTS.get("zz").measurements(qml.wires.Wires(range(self.n_qubits)))

    @property
    def n_outputs(self):
        return READOUTS.get("zz").n_outputs(self.n_qubits)


def test_the_expansion_backend_refuses_other_readouts_and_the_statevector_runs_them():
    # The expansion computes <Z> of every wire only; a filter it would otherwise take, read out
    # in zz, goes to the state-vector backend, never to a <Z> computation.
    circuit = PixelFilterWithPairs(kernel_size=2, n_layers=1, seed=3)
    assert "does not return <Z> of every wire" in expansion_mismatch(compile_circuit(circuit))
    assert isinstance(
        make_layer(QuanvolutionFilterCircuit(2, 1, 3), "torch"), ExpansionQuanvolution
    )
    layer = make_layer(circuit, "torch").double()
    assert isinstance(layer, TorchStatevectorLayer)
    inputs = draw(5, 3, 4, low=0.0, high=1.0).requires_grad_()
    cotangent = draw(6, 3, circuit.n_outputs, low=-1.0, high=1.0)
    expected = gradients(reference(circuit, "zz", inputs, {}), inputs, {}, cotangent)
    actual = layer_gradients(layer, inputs, cotangent)
    for got, want in zip(actual[:2], expected[:2], strict=True):
        torch.testing.assert_close(got, want, **EXACT)


@pytest.mark.parametrize("readout", ["zz", "probs"])
def test_finite_shots_estimate_each_readout(readout):
    # With shots, default.qubit samples the read-out: each value is a mean of 400 samples, so
    # within 5 standard errors (0.25 at most for a value in [-1, 1]) of the exact one.
    circuit = VariationalClassifierCircuit(3, 2, readout=readout)
    exact = QuantumLayer(circuit, init="uniform").double()
    sampled = QuantumLayer(circuit, make_device("default.qubit", 3, shots=400)).double()
    sampled.load_state_dict(exact.state_dict())
    inputs = draw(11, 2, 3)
    with torch.no_grad():
        estimate, value = sampled(inputs), exact(inputs)
    assert estimate.shape == value.shape == (2, circuit.n_outputs)
    assert (estimate - value).abs().max() < 0.25
    if readout == "probs":
        torch.testing.assert_close(estimate.sum(-1), torch.ones(2).double(), **EXACT)


def test_a_device_that_cannot_compute_a_readout_refuses_it_in_one_line():
    # lightning.qubit's adjoint differentiation takes expectation values only: probs would
    # fail on the first call, so the layer refuses it when built, naming --readout; the
    # expectation values of z and zz it computes, and parameter-shift computes probs too.
    probs = VariationalClassifierCircuit(3, 2, readout="probs")
    with pytest.raises(ValueError, match=r"cannot compute probs\(wires=\[0, 1, 2\]\)") as error:
        QuantumLayer(probs, "lightning.qubit")
    assert "\n" not in str(error.value) and "--readout" in str(error.value)
    for readout in ("z", "zz"):
        QuantumLayer(VariationalClassifierCircuit(3, 2, readout=readout), "lightning.qubit")
    shifted = QuantumLayer(probs, "lightning.qubit", diff_method="parameter-shift")
    with torch.no_grad():
        torch.testing.assert_close(shifted(torch.zeros(1, 3)).sum(), torch.tensor(1.0))
