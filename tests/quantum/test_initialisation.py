import math

import numpy as np
import pytest
import torch

from hqnn_lightning.quantum import (
    ENTANGLERS,
    INITIALISATIONS,
    Initialisation,
    QuantumLayer,
    TorchStatevectorLayer,
    VariationalClassifierCircuit,
    initial_weights,
    make_device,
    make_layer,
)

READOUT = {"ry": torch.cos, "rx": torch.cos, "hadamard_ry": lambda x: -torch.sin(x)}
BUILT_IN_ENTANGLERS = ["basic", "separable", "strong"]


def inputs(batch=5, n_qubits=4):
    generator = torch.Generator().manual_seed(3)
    return (torch.rand(batch, n_qubits, generator=generator, dtype=torch.float64) - 0.5) * 3


class TestInitialWeights:
    def test_uniform_covers_zero_to_two_pi(self):
        torch.manual_seed(0)
        circuit = VariationalClassifierCircuit(6, 50, identity_blocks=False)
        weights = initial_weights(circuit, "uniform")["weights"]
        assert weights.min() >= 0 and weights.max() < 2 * math.pi
        assert weights.mean() == pytest.approx(math.pi, abs=0.1)

    def test_normal_has_the_scale(self):
        torch.manual_seed(0)
        circuit = VariationalClassifierCircuit(6, 50, identity_blocks=False)
        weights = initial_weights(circuit, "normal", 0.01)["weights"]
        assert weights.std().item() == pytest.approx(0.01, rel=0.1)
        assert weights.mean().abs() < 0.002

    @pytest.mark.parametrize("entangler", BUILT_IN_ENTANGLERS)
    def test_identity_mirrors_each_layer(self, entangler):
        circuit = VariationalClassifierCircuit(3, 2, entangler, identity_blocks=True)
        weights = initial_weights(circuit, "identity")
        assert not torch.equal(weights["weights"], torch.zeros_like(weights["weights"]))
        torch.testing.assert_close(
            weights["mirror_weights"], circuit.inverse_weights(weights["weights"])
        )

    @pytest.mark.parametrize("init", ["uniform", "normal", "identity"])
    def test_an_initialisation_never_changes_the_shapes(self, init):
        for blocks in (True, False) if init != "identity" else (True,):
            circuit = VariationalClassifierCircuit(3, 2, "basic", identity_blocks=blocks)
            weights = initial_weights(circuit, init)
            assert {name: tuple(w.shape) for name, w in weights.items()} == circuit.weight_shapes

    def test_mirror_weights_equal_to_the_weights_are_a_copy(self, custom_entanglers):
        circuit = VariationalClassifierCircuit(3, 2, "cz_ring", identity_blocks=True)
        weights = initial_weights(circuit, "identity")
        torch.testing.assert_close(weights["mirror_weights"], weights["weights"])
        assert weights["mirror_weights"].data_ptr() != weights["weights"].data_ptr()

    def test_a_registered_initialisation_is_used_by_name(self):
        @INITIALISATIONS.register("quarter_pi")
        class QuarterPi(Initialisation):
            def draw(self, circuit, scale):
                return {
                    name: torch.full(s, math.pi / 4) for name, s in circuit.weight_shapes.items()
                }

        try:
            circuit = VariationalClassifierCircuit(2, 2, identity_blocks=False)
            layer = make_layer(circuit, make_device("torch", 2), init="quarter_pi")
            assert torch.equal(layer.weights, torch.full((2, 2, 3), math.pi / 4))
        finally:
            INITIALISATIONS.unregister("quarter_pi")

    @pytest.mark.parametrize(
        ("circuit", "init", "scale", "message"),
        [
            (VariationalClassifierCircuit(2, 2), "zeros", 0.01, "unknown init 'zeros'; known: "),
            (VariationalClassifierCircuit(2, 2), "normal", 0.0, "must be positive"),
            (
                VariationalClassifierCircuit(2, 1, identity_blocks=False),
                "identity",
                0.01,
                r"needs a circuit built of identity blocks .* build it with identity_blocks=True",
            ),
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
    @pytest.mark.parametrize("entangler", BUILT_IN_ENTANGLERS)
    @pytest.mark.parametrize("encoding", sorted(READOUT))
    def test_circuit_starts_as_the_identity(self, device, entangler, encoding):
        # The trainable part is the identity, so <Z> is that of the encoded product state.
        circuit = VariationalClassifierCircuit(4, 3, entangler, encoding, identity_blocks=True)
        layer = make_layer(circuit, make_device(device, 4), init="identity").double()
        x = inputs()
        torch.testing.assert_close(layer(x), READOUT[encoding](x), atol=1e-10, rtol=0)

    @pytest.mark.parametrize("n_qubits", [2, 4])
    def test_every_registered_entangler_starts_as_the_identity(self, custom_entanglers, n_qubits):
        # On default.qubit, for the built-in entanglers and the test's (cz_ring has (L, n)
        # weights and the default, adjoint, mirror), the circuit's outputs are the encoding's.
        names = ENTANGLERS.names()
        assert set(BUILT_IN_ENTANGLERS + custom_entanglers) <= set(names)
        x = inputs(n_qubits=n_qubits)
        for entangler in names:
            circuit = VariationalClassifierCircuit(n_qubits, 3, entangler, "hadamard_ry")
            torch.manual_seed(1)
            layer = make_layer(circuit, make_device("default.qubit", n_qubits), init="identity")
            outputs = layer.double()(x)
            torch.testing.assert_close(outputs, -torch.sin(x), atol=1e-10, rtol=0)
            torch.manual_seed(1)
            moved = make_layer(circuit, make_device("default.qubit", n_qubits), init="uniform")
            assert (moved.double()(x) + torch.sin(x)).abs().max() > 1e-3, entangler

    def test_uniform_init_is_not_the_identity(self):
        torch.manual_seed(0)
        circuit = VariationalClassifierCircuit(4, 3, encoding="ry", identity_blocks=True)
        layer = TorchStatevectorLayer(circuit, init="uniform").double()
        x = inputs()
        assert (layer(x) - torch.cos(x)).abs().max() > 0.1

    def test_identity_blocks_train_away_from_the_identity(self):
        circuit = VariationalClassifierCircuit(2, 2, identity_blocks=True)
        layer = TorchStatevectorLayer(circuit, init="identity").double()
        layer(inputs(n_qubits=2)).sum().backward()
        grads = np.concatenate([p.grad.flatten().numpy() for p in layer.parameters()])
        assert np.abs(grads).max() > 1e-3
