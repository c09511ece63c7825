"""A circuit the torch backend cannot run is refused with the reason named, or, where no device
was asked for, runs on default.qubit with one warning; never as another circuit."""

import warnings
from dataclasses import dataclass
from typing import Any

import pennylane as qml
import pytest
import torch

from hqnn_lightning.quantum import QuantumLayer, TorchStatevectorLayer, make_device, make_layer
from hqnn_lightning.quantum.statevector.program import compile_circuit
from hqnn_lightning.quantum.statevector.tracing import UnsupportedCircuit


@dataclass(frozen=True)
class OneGate:
    """Two qubits: RX of the inputs, then ``body`` (a name below), then ``readout``."""

    body: str
    readout: str = "z"
    n_qubits: int = 2
    n_outputs: int = 2

    @property
    def weight_shapes(self) -> dict[str, tuple[int, ...]]:
        return {"weights": (2,)}

    def __call__(self, inputs: Any, weights: Any) -> list[Any]:
        qml.RX(inputs[..., 0], wires=0)
        qml.RX(inputs[..., 1], wires=1)
        if self.body == "square":
            qml.RY(inputs[..., 0] ** 2, wires=0)
        elif self.body == "batch_mean":
            qml.RY(inputs[..., 0].sum(), wires=1)
        elif self.body == "detached":
            qml.RY(weights.detach()[0].item(), wires=1)
        elif self.body == "value_dependent":
            for _ in range(int(abs(weights.detach()[0].item()) * 1000) % 7):
                qml.CNOT([0, 1])
        elif self.body == "mid_measure":
            qml.measure(0)
        elif self.body == "weights_broadcast":
            qml.RZ(weights, wires=0)
        else:
            qml.CRY(weights[0], wires=[0, 1])
        if self.readout == "x":
            return [qml.expval(qml.PauliX(0)), qml.expval(qml.PauliZ(1))]
        if self.readout == "var":
            return [qml.var(qml.PauliZ(0)), qml.expval(qml.PauliZ(1))]
        return [qml.expval(qml.PauliZ(0)), qml.expval(qml.PauliZ(1))]


@pytest.mark.parametrize(
    ("circuit", "reason"),
    [
        (OneGate("square"), r"parameter 0 of RY on wires \[0\] is not an affine function"),
        (OneGate("batch_mean"), r"RY on wires \[1\] is one value for the whole batch"),
        (OneGate("detached"), r"RY on wires \[1\] is not an affine function"),
        (OneGate("value_dependent"), "its gates or measurements change with the values"),
        (OneGate("mid_measure"), "it has no matrix or decomposition for MidMeasureMP"),
        (OneGate("weights_broadcast"), r"RZ on wires \[0\] has shape \(2,\)"),
        (OneGate("cry", "x"), r"measurement expval\(X\(0\)\) is not expval of a diagonal"),
        (OneGate("cry", "var"), r"measurement var\(Z\(0\)\)"),
    ],
)
def test_what_it_cannot_run_is_named(circuit, reason):
    with pytest.raises(UnsupportedCircuit, match=reason):
        compile_circuit(circuit)
    with pytest.raises(ValueError, match=reason):
        TorchStatevectorLayer(circuit, init="uniform")


def test_it_runs_the_supported_version():
    assert compile_circuit(OneGate("cry")).n_outputs == 2


class TestFallback:
    def test_no_device_asked_falls_back_to_default_qubit_with_one_warning(self):
        circuit = OneGate("cry", "x")
        with pytest.warns(UserWarning) as caught:
            layer = make_layer(circuit, init="uniform")
        assert len(caught) == 1
        message = str(caught[0].message)
        assert "expval(X(0))" in message and "running it on default.qubit" in message
        assert "\n" not in message
        assert isinstance(layer, QuantumLayer) and layer.quantum_device.name == "default.qubit"
        reference = QuantumLayer(circuit, init="uniform")
        reference.load_state_dict(layer.state_dict())
        inputs = torch.rand(3, 2)
        torch.testing.assert_close(layer(inputs), reference(inputs))

    @pytest.mark.parametrize("device", ["torch", make_device("torch", 2)])
    def test_torch_asked_for_is_refused_with_the_reason(self, device):
        with pytest.raises(ValueError, match=r"expval\(X\(0\)\).*q_device='default.qubit'"):
            make_layer(OneGate("cry", "x"), device, init="uniform")

    def test_a_circuit_it_runs_gives_no_warning(self):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            layer = make_layer(OneGate("cry"), init="uniform")
        assert isinstance(layer, TorchStatevectorLayer)
