"""Quantum circuits, devices and torch layers (plain ``nn.Module``s, no Lightning)."""

from hqnn_lightning.quantum.circuits import (
    ENTANGLERS,
    QuanvolutionFilterCircuit,
    TrainableQuanvolutionFilterCircuit,
    VariationalClassifierCircuit,
)
from hqnn_lightning.quantum.devices import KNOWN_DEVICES, DeviceInfo, QuantumDevice, make_device
from hqnn_lightning.quantum.expansion_quanvolution import ExpansionQuanvolution
from hqnn_lightning.quantum.factory import quantum_layer
from hqnn_lightning.quantum.layers import QuantumCircuit, QuantumLayer
from hqnn_lightning.quantum.pauli_expansion import expansion_coefficients
from hqnn_lightning.quantum.qnodes import quanvolution_filter_qnode, variational_classifier_qnode
from hqnn_lightning.quantum.quanvolution import QuanvolutionLayer
from hqnn_lightning.quantum.torch_layer import TorchStatevectorLayer

__all__ = [
    "ENTANGLERS",
    "KNOWN_DEVICES",
    "DeviceInfo",
    "ExpansionQuanvolution",
    "QuantumCircuit",
    "QuantumDevice",
    "QuantumLayer",
    "QuanvolutionFilterCircuit",
    "QuanvolutionLayer",
    "TorchStatevectorLayer",
    "TrainableQuanvolutionFilterCircuit",
    "VariationalClassifierCircuit",
    "expansion_coefficients",
    "make_device",
    "quantum_layer",
    "quanvolution_filter_qnode",
    "variational_classifier_qnode",
]
