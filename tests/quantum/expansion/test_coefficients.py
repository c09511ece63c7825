import numpy as np
import pennylane as qml
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from hqnn_lightning.quantum import (
    QuanvolutionFilterCircuit,
    TrainableQuanvolutionFilterCircuit,
    quanvolution_filter_qnode,
)
from hqnn_lightning.quantum.expansion.coefficients import (
    evaluate_expansion,
    expansion_coefficients,
    expansion_support,
)

filters = st.tuples(
    st.integers(1, 3), st.integers(1, 3), st.integers(0, 2**16)
)  # kernel_size, n_layers, seed


def qnode_values(kernel_size, n_layers, seed, pixels, weights=None):
    qnode, _ = quanvolution_filter_qnode(kernel_size, n_layers, seed)
    if weights is None:
        return torch.stack(qnode(pixels), -1)
    circuit = QuanvolutionFilterCircuit(kernel_size, n_layers, seed)

    @qml.qnode(qml.device("default.qubit", wires=circuit.n_qubits), interface="torch")
    def with_weights(x, w):
        qml.AngleEmbedding(np.pi * x, wires=range(circuit.n_qubits), rotation="Y")
        qml.RandomLayers(w, wires=range(circuit.n_qubits), seed=seed)
        return [qml.expval(qml.PauliZ(q)) for q in range(circuit.n_qubits)]

    return torch.stack(with_weights(pixels, weights), -1)


@settings(max_examples=25, deadline=None)
@given(filters, st.integers(0, 2**16))
def test_expansion_equals_the_qnode(filter_args, data_seed):
    kernel_size, n_layers, seed = filter_args
    circuit = QuanvolutionFilterCircuit(kernel_size, n_layers, seed)
    generator = torch.Generator().manual_seed(data_seed)
    # Pixels beyond [0, 1] too: the expansion holds for any angle.
    pixels = 3 * torch.rand(8, circuit.n_qubits, generator=generator, dtype=torch.float64) - 1
    expected = qnode_values(kernel_size, n_layers, seed, pixels)
    coefficients = expansion_coefficients(circuit)
    assert coefficients.shape == (circuit.n_qubits, 3**circuit.n_qubits)
    assert coefficients.dtype == torch.float64
    torch.testing.assert_close(
        evaluate_expansion(coefficients, pixels), expected, atol=1e-10, rtol=0
    )


@settings(max_examples=10, deadline=None)
@given(filters, st.integers(0, 2**16))
def test_gradient_in_the_angles_equals_the_qnode(filter_args, data_seed):
    kernel_size, n_layers, seed = filter_args
    circuit = TrainableQuanvolutionFilterCircuit(kernel_size, n_layers, seed)
    generator = torch.Generator().manual_seed(data_seed)
    pixels = torch.rand(5, circuit.n_qubits, generator=generator, dtype=torch.float64)
    cotangent = torch.randn(5, circuit.n_qubits, generator=generator, dtype=torch.float64)
    angles = 2 * np.pi * torch.rand(circuit.random_weights.shape, generator=generator)
    ours = angles.double().clone().requires_grad_(True)
    theirs = angles.double().clone().requires_grad_(True)
    values = evaluate_expansion(expansion_coefficients(circuit, ours), pixels)
    (values * cotangent).sum().backward()
    reference = qnode_values(kernel_size, n_layers, seed, pixels, theirs)
    (reference * cotangent).sum().backward()
    torch.testing.assert_close(values, reference, atol=1e-10, rtol=0)
    torch.testing.assert_close(ours.grad, theirs.grad, atol=1e-10, rtol=0)


def test_terms_outside_a_light_cone_are_exactly_zero():
    # One layer of 9 gates on 9 qubits leaves most qubits outside each output's light cone.
    coefficients = expansion_coefficients(QuanvolutionFilterCircuit(3, 1, 0))
    nonzero = (coefficients != 0).sum(1)
    assert (nonzero < 3**4).all()
    # Every output depends on its own pixel at least, so no row is empty.
    assert (nonzero > 0).all()


@settings(max_examples=10, deadline=None)
@given(filters, st.integers(0, 2**16))
def test_support_holds_every_coefficient_at_any_angles(filter_args, angle_seed):
    circuit = TrainableQuanvolutionFilterCircuit(*filter_args)
    angles = np.random.default_rng(angle_seed).uniform(-7, 7, circuit.random_weights.shape)
    coefficients = expansion_coefficients(circuit, torch.as_tensor(angles)).numpy()
    support = expansion_support(circuit)
    assert np.abs(coefficients[~support]).max(initial=0) < 1e-13
    assert support.any(axis=1).all()
