import copy
import pickle

import pennylane as qml
import pytest
import torch

from hqnn_lightning.quantum import (
    QuantumLayer,
    VariationalClassifierCircuit,
    variational_classifier_qnode,
)


@pytest.fixture
def circuit():
    return VariationalClassifierCircuit(3, 2, "strong", "ry", identity_blocks=False)


def inputs(*shape):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)


class TestQuantumLayer:
    def test_equals_a_direct_qnode_call(self, circuit):
        # float64: in float32 the batch and the per-sample calls round differently (~2e-7).
        layer = QuantumLayer(circuit, init="uniform").double()
        qnode, weight_shapes = variational_classifier_qnode(
            n_qubits=3, q_depth=2, encoding="ry", identity_blocks=False
        )
        assert weight_shapes == {"weights": tuple(layer.weights.shape)}
        x = inputs(4, 3).double()
        expected = torch.stack([torch.stack(qnode(sample, layer.weights)) for sample in x])
        torch.testing.assert_close(layer(x), expected)

    def test_whole_batch_is_one_simulation(self, circuit):
        layer = QuantumLayer(circuit, init="uniform")
        with qml.Tracker(layer.qnode.device) as tracker:
            layer(inputs(32, 3))
        assert tracker.totals["simulations"] == 1
        assert tracker.totals["executions"] == 32

    def test_keeps_leading_dimensions(self, circuit):
        assert QuantumLayer(circuit, init="uniform")(inputs(2, 5, 3)).shape == (2, 5, 3)

    def test_outputs_are_expectation_values(self, circuit):
        out = QuantumLayer(circuit, init="uniform")(inputs(16, 3) * 6)
        assert out.abs().max() <= 1 + 1e-12

    def test_gradients_reach_weights_and_inputs(self, circuit):
        layer = QuantumLayer(circuit, init="uniform")
        x = inputs(4, 3).requires_grad_()
        layer(x).pow(2).sum().backward()
        assert layer.weights.grad is not None and layer.weights.grad.abs().sum() > 0
        assert x.grad is not None and x.grad.abs().sum() > 0

    def test_rejects_the_wrong_number_of_features(self, circuit):
        with pytest.raises(ValueError, match="takes 3 features"):
            QuantumLayer(circuit, init="uniform")(inputs(4, 5))

    def test_lightning_matches_default_qubit_in_values_and_gradients(self, circuit):
        reference = QuantumLayer(circuit, init="uniform")
        lightning = QuantumLayer(circuit, init="uniform", device="lightning.qubit")
        lightning.load_state_dict(reference.state_dict())
        x = inputs(5, 3)
        for layer in (reference, lightning):
            layer(x).sum().backward()
        torch.testing.assert_close(lightning(x), reference(x))
        torch.testing.assert_close(lightning.weights.grad, reference.weights.grad)

    @pytest.mark.parametrize("device", ["default.qubit", "lightning.qubit"])
    def test_pickles_and_deep_copies(self, circuit, device):
        layer = QuantumLayer(circuit, init="uniform", device=device)
        x = inputs(3, 3)
        for clone in (pickle.loads(pickle.dumps(layer)), copy.deepcopy(layer)):
            torch.testing.assert_close(clone(x), layer(x))
            assert clone.quantum_device == layer.quantum_device
            clone(x).sum().backward()
            assert clone.weights.grad is not None

    def test_finite_shots_estimate_the_exact_values_and_train(self, circuit):
        exact = QuantumLayer(circuit, init="uniform")
        sampled = QuantumLayer(circuit, init="uniform", shots=20_000, seed=1)
        sampled.load_state_dict(exact.state_dict())
        x = inputs(4, 3)
        # 20,000 shots: the standard error of <Z> is at most 1/sqrt(20000) ~ 0.007.
        torch.testing.assert_close(sampled(x), exact(x), atol=0.05, rtol=0)
        sampled(x).sum().backward()
        assert sampled.weights.grad.abs().sum() > 0

    def test_repr_shows_circuit_and_device(self, circuit):
        text = repr(QuantumLayer(circuit, init="uniform", device="lightning.qubit"))
        assert "n_qubits=3" in text and "lightning.qubit" in text and "adjoint" in text
