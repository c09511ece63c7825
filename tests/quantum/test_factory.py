import pytest
import torch

from hqnn_lightning.quantum import (
    KNOWN_DEVICES,
    ExpansionQuanvolution,
    QuantumLayer,
    TorchStatevectorLayer,
    TrainableQuanvolutionFilterCircuit,
    VariationalClassifierCircuit,
    conv_output_size,
    defaults,
    layer_on_device,
    make_device,
    make_layer,
    variational_classifier_qnode,
)
from hqnn_lightning.quantum.module import QuantumModule


class TestFactory:
    @pytest.fixture
    def circuit(self):
        return VariationalClassifierCircuit(n_qubits=2, q_depth=1, identity_blocks=False)

    def test_torch_is_the_default(self, circuit):
        layer = make_layer(circuit, make_device("torch", 2), init="uniform", method="gates")
        assert isinstance(layer, TorchStatevectorLayer) and layer.simulator.method == "gates"
        assert isinstance(make_layer(circuit, init="uniform"), TorchStatevectorLayer)

    def test_the_initialisation_defaults_to_quantum_defaults(self):
        circuit = VariationalClassifierCircuit(2, 2, identity_blocks=True)
        layer = make_layer(circuit)
        assert defaults.INIT == "identity"
        torch.testing.assert_close(layer.mirror_weights, circuit.inverse_weights(layer.weights))

    @pytest.mark.parametrize("device", ["default.qubit", "lightning.qubit"])
    def test_pennylane_devices_give_a_quantum_layer(self, circuit, device):
        layer = make_layer(circuit, make_device(device, 2, shots=50, seed=1), init="uniform")
        assert isinstance(layer, QuantumLayer)
        assert (layer.quantum_device.name, layer.quantum_device.shots) == (device, 50)

    def test_shots_on_torch_give_a_sampling_layer(self, circuit):
        layer = make_layer(circuit, make_device("torch", 2, shots=10, seed=3), init="uniform")
        assert isinstance(layer, TorchStatevectorLayer)
        assert (layer.quantum_device.shots, layer.quantum_device.options) == (10, {"seed": 3})

    def test_device_options_on_torch_are_refused(self, circuit):
        with pytest.raises(ValueError, match="torch takes no device options, got c_dtype"):
            make_device("torch", 2, c_dtype="complex64")


class TestDeviceKnowledge:
    def test_unknown_name_lists_torch(self):
        assert "torch" in KNOWN_DEVICES
        with pytest.raises(ValueError, match=r"known devices: .*default\.qubit.*, torch$"):
            make_device("qulacs", wires=2)

    def test_torch_has_no_qnode(self):
        with pytest.raises(ValueError, match=r"not a PennyLane device.*make_layer"):
            variational_classifier_qnode(2, 2, device="torch")


class TestDispatch:
    def test_a_quanvolution_filter_on_torch_gets_the_expansion_layer(self):
        circuit = TrainableQuanvolutionFilterCircuit(kernel_size=2, n_layers=2)
        layer = make_layer(circuit, make_device("torch", 4), init="uniform")
        assert isinstance(layer, ExpansionQuanvolution) and layer.trainable
        qubit = make_device("default.qubit", 4)
        assert isinstance(make_layer(circuit, qubit, init="uniform"), QuantumLayer)

    def test_the_device_must_have_the_circuits_wires(self):
        with pytest.raises(
            ValueError, match="the circuit has 2 qubits, but the torch device has 3"
        ):
            make_layer(
                VariationalClassifierCircuit(2, 1, identity_blocks=False),
                make_device("torch", 3),
                init="uniform",
            )

    def test_a_described_device_takes_no_more_settings(self):
        device = make_device("default.qubit", 2)
        with pytest.raises(ValueError, match="got a QuantumDevice and shots, seed"):
            QuantumLayer(
                VariationalClassifierCircuit(2, 1, identity_blocks=False), device, shots=10, seed=1
            )


@pytest.mark.parametrize(
    ("size", "kernel_size", "stride", "padding", "expected"),
    [(8, 2, 2, 0, 4), (7, 2, 2, 0, 3), (7, 3, 3, 1, 3), (2, 3, 1, 0, 0)],
)
def test_conv_output_size_counts_windows_as_conv2d(size, kernel_size, stride, padding, expected):
    assert conv_output_size(size, kernel_size, stride, padding) == expected
    conv = torch.nn.Conv2d(1, 1, kernel_size, stride, padding)
    if expected >= 1:
        assert conv(torch.zeros(1, 1, size, size)).shape[-1] == expected


class TestLayerOnDevice:
    @pytest.mark.parametrize("blocks", [True, False])
    def test_a_made_layer_is_built_again_with_its_weights(self, blocks):
        circuit = VariationalClassifierCircuit(3, 2, identity_blocks=blocks)
        layer = make_layer(circuit, make_device("torch", 3), init="uniform").double()
        moved = layer_on_device(layer, make_device("default.qubit", 3)).double()
        inputs = torch.rand(4, 3, dtype=torch.float64)
        assert isinstance(moved, QuantumLayer)
        torch.testing.assert_close(moved(inputs), layer(inputs), atol=1e-10, rtol=0)

    def test_another_quantum_module_moves_itself_or_says_it_cannot(self):
        class Own(QuantumModule):
            pass

        with pytest.raises(NotImplementedError, match="Own cannot run on another device"):
            layer_on_device(Own(), make_device("default.qubit", 1))
