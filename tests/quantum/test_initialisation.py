import math

import numpy as np
import pytest
import torch

from hqnn_lightning.quantum import (
    ENTANGLERS,
    QuantumLayer,
    TorchStatevectorLayer,
    VariationalClassifierCircuit,
    initial_weights,
    make_device,
    make_layer,
)

READOUT = {"ry": torch.cos, "rx": torch.cos, "hadamard_ry": lambda x: -torch.sin(x)}


def inputs(batch=5, n_qubits=4):
    generator = torch.Generator().manual_seed(3)
    return (torch.rand(batch, n_qubits, generator=generator, dtype=torch.float64) - 0.5) * 3


class TestInitialWeights:
    def test_uniform_covers_zero_to_two_pi(self):
        torch.manual_seed(0)
        weights = initial_weights(VariationalClassifierCircuit(6, 50), "uniform")["weights"]
        assert weights.min() >= 0 and weights.max() < 2 * math.pi
        assert weights.mean() == pytest.approx(math.pi, abs=0.1)

    def test_normal_has_the_scale(self):
        torch.manual_seed(0)
        weights = initial_weights(VariationalClassifierCircuit(6, 50), "normal", 0.01)["weights"]
        assert weights.std().item() == pytest.approx(0.01, rel=0.1)
        assert weights.mean().abs() < 0.002

    @pytest.mark.parametrize("entangler", sorted(ENTANGLERS))
    def test_identity_mirrors_each_layer(self, entangler):
        circuit = VariationalClassifierCircuit(3, 2, entangler, identity_blocks=True)
        weights = initial_weights(circuit, "identity")
        assert not torch.equal(weights["weights"], torch.zeros_like(weights["weights"]))
        torch.testing.assert_close(
            weights["mirror_weights"], circuit.inverse_weights(weights["weights"])
        )

    @pytest.mark.parametrize(
        ("circuit", "init", "scale", "message"),
        [
            (VariationalClassifierCircuit(2, 1), "zeros", 0.01, "unknown init 'zeros'"),
            (VariationalClassifierCircuit(2, 1), "normal", 0.0, "must be positive"),
            (VariationalClassifierCircuit(2, 1), "identity", 0.01, "identity blocks"),
        ],
    )
    def test_refuses(self, circuit, init, scale, message):
        with pytest.raises(ValueError, match=message):
            initial_weights(circuit, init, scale)


class TestSameOnEveryDevice:
    @pytest.mark.parametrize("init", ["uniform", "normal", "identity"])
    def test_same_seed_same_weights(self, init):
        circuit = VariationalClassifierCircuit(3, 2, identity_blocks=init == "identity")
        layers = []
        for device in ("torch", "default.qubit"):
            torch.manual_seed(7)
            layers.append(make_layer(circuit, make_device(device, 3), init=init))
        assert isinstance(layers[0], TorchStatevectorLayer)
        assert isinstance(layers[1], QuantumLayer)
        torch_state, pennylane_state = (layer.state_dict() for layer in layers)
        assert torch_state.keys() == pennylane_state.keys() == set(circuit.weight_shapes)
        for name in torch_state:
            torch.testing.assert_close(torch_state[name], pennylane_state[name])

    def test_identity_state_dict_moves_between_devices(self):
        circuit = VariationalClassifierCircuit(4, 2, "strong", "hadamard_ry", identity_blocks=True)
        source = TorchStatevectorLayer(circuit, init="uniform").double()
        target = QuantumLayer(circuit).double()
        target.load_state_dict(source.state_dict())
        x = inputs()
        torch.testing.assert_close(target(x), source(x), atol=1e-10, rtol=0)


class TestIdentityBlocks:
    @pytest.mark.parametrize("device", ["torch", "default.qubit"])
    @pytest.mark.parametrize("entangler", sorted(ENTANGLERS))
    @pytest.mark.parametrize("encoding", sorted(READOUT))
    def test_circuit_starts_as_the_identity(self, device, entangler, encoding):
        # The trainable part is the identity, so <Z> is that of the encoded product state.
        circuit = VariationalClassifierCircuit(4, 3, entangler, encoding, identity_blocks=True)
        layer = make_layer(circuit, make_device(device, 4), init="identity").double()
        x = inputs()
        torch.testing.assert_close(layer(x), READOUT[encoding](x), atol=1e-10, rtol=0)

    def test_uniform_init_is_not_the_identity(self):
        torch.manual_seed(0)
        circuit = VariationalClassifierCircuit(4, 3, identity_blocks=True)
        layer = TorchStatevectorLayer(circuit, init="uniform").double()
        x = inputs()
        assert (layer(x) - torch.cos(x)).abs().max() > 0.1

    def test_identity_blocks_train_away_from_the_identity(self):
        circuit = VariationalClassifierCircuit(2, 2, identity_blocks=True)
        layer = TorchStatevectorLayer(circuit, init="identity").double()
        layer(inputs(n_qubits=2)).sum().backward()
        grads = np.concatenate([p.grad.flatten().numpy() for p in layer.parameters()])
        assert np.abs(grads).max() > 1e-3
