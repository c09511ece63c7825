"""The torch backend runs what a circuit emits: random circuits, subclasses of the library's
and a circuit written from scratch agree with a ``default.qubit`` QNode to 1e-10 in float64,
in values and in gradients with respect to inputs and weights."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from hqnn_lightning.quantum import QuantumLayer, TorchStatevectorLayer, make_device, make_layer
from hqnn_lightning.quantum.statevector.program import compile_circuit

from .emitted_circuits import PhaseEncodingCircuit, PixelFilter, RingCircuit, random_circuits

EXACT = {"atol": 1e-10, "rtol": 0.0}


def draw(seed, *shape, low=-2 * torch.pi, high=2 * torch.pi):
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(*shape, generator=generator, dtype=torch.float64) * (high - low) + low


def outputs_and_gradients(layer, inputs, seed):
    inputs = inputs.detach().clone().requires_grad_()
    layer.zero_grad(set_to_none=True)
    out = layer(inputs)
    (out * draw(seed, *out.shape, low=-1.0, high=1.0)).sum().backward()
    # An unused weight: None on TorchLayer, zeros on the torch layer.
    grads = [torch.zeros_like(p) if p.grad is None else p.grad for p in layer.parameters()]
    return [out.detach(), inputs.grad, *grads]


def assert_agrees_with_default_qubit(circuit, method="auto", batch=3, seed=0):
    reference = QuantumLayer(circuit, init="uniform").double()
    layer = TorchStatevectorLayer(circuit, method=method, init="uniform").double()
    layer.load_state_dict(reference.state_dict())
    inputs = draw(seed, batch, circuit.n_qubits)
    expected = outputs_and_gradients(reference, inputs, seed + 1)
    got = outputs_and_gradients(layer, inputs, seed + 1)
    assert got[0].shape == expected[0].shape
    for a, b in zip(got, expected, strict=True):
        torch.testing.assert_close(a, b, **EXACT)


@settings(max_examples=120, deadline=None)
@given(
    circuit=random_circuits(),
    method=st.sampled_from(["auto", "unitary", "gates"]),
    seed=st.integers(0, 9),
)
def test_random_circuits_agree_with_default_qubit(circuit, method, seed):
    if method == "unitary" and compile_circuit(circuit).reencodes:
        method = "gates"
    assert_agrees_with_default_qubit(circuit, method, seed=seed)


@pytest.mark.parametrize("method", ["unitary", "gates"])
def test_input_free_body_runs_either_way(method):
    # One encoding, then weight gates only: the unitary method applies.
    circuit = PixelFilter()
    assert_agrees_with_default_qubit(circuit, method)


@pytest.mark.parametrize("n_qubits", [2, 3, 5])
def test_a_subclass_overriding_call_runs_its_own_gates(n_qubits):
    # Before issue 25 the backend rebuilt the parent's circuit from the fields.
    circuit = RingCircuit(n_qubits=n_qubits, q_depth=2, identity_blocks=False)
    assert_agrees_with_default_qubit(circuit, batch=4)


@pytest.mark.parametrize("method", ["unitary", "gates"])
def test_a_subclass_overriding_its_encoding_runs_it(method):
    circuit = PhaseEncodingCircuit(n_qubits=4, q_depth=2, identity_blocks=False)
    assert_agrees_with_default_qubit(circuit, method, batch=4)


def test_make_layer_runs_a_subclass_on_torch():
    circuit = RingCircuit(n_qubits=3, q_depth=1, identity_blocks=False)
    layer = make_layer(circuit, make_device("torch", 3), init="uniform")
    assert isinstance(layer, TorchStatevectorLayer)
    assert layer(draw(0, 2, 3).float()).shape == (2, 5)


def test_past_the_fused_wires_with_dense_gates_and_reuploading():
    # 9 qubits: the "gates" method fuses wires 5-8 and 1-4 and applies wire 0 alone; the ring
    # of CRZ gates is dense steps, the inputs re-enter after each layer.
    circuit = RingCircuit(n_qubits=9, q_depth=2, identity_blocks=False)
    assert_agrees_with_default_qubit(circuit, "gates", batch=2)
