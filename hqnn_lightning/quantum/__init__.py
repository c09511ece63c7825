"""Quantum circuits, devices and torch layers (plain ``nn.Module``s, no Lightning)."""

from hqnn_lightning.quantum.circuits import (
    ENCODINGS,
    ENTANGLERS,
    QuantumCircuit,
    QuanvolutionFilterCircuit,
    SeparableLayers,
    TrainableQuanvolutionFilterCircuit,
    VariationalClassifierCircuit,
)
from hqnn_lightning.quantum.devices import KNOWN_DEVICES, DeviceInfo, QuantumDevice, make_device
from hqnn_lightning.quantum.expansion import ExpansionQuanvolution, expansion_coefficients
from hqnn_lightning.quantum.factory import make_layer
from hqnn_lightning.quantum.geometry import conv_output_size
from hqnn_lightning.quantum.initialisation import QUANTUM_INITS, initial_weights
from hqnn_lightning.quantum.pennylane_layer import QuantumLayer
from hqnn_lightning.quantum.qnodes import quanvolution_filter_qnode, variational_classifier_qnode
from hqnn_lightning.quantum.quanvolution import QuanvolutionLayer
from hqnn_lightning.quantum.statevector import TorchStatevectorLayer

__all__ = [
    "ENCODINGS",
    "ENTANGLERS",
    "KNOWN_DEVICES",
    "QUANTUM_INITS",
    "DeviceInfo",
    "ExpansionQuanvolution",
    "QuantumCircuit",
    "QuantumDevice",
    "QuantumLayer",
    "QuanvolutionFilterCircuit",
    "QuanvolutionLayer",
    "SeparableLayers",
    "TorchStatevectorLayer",
    "TrainableQuanvolutionFilterCircuit",
    "VariationalClassifierCircuit",
    "conv_output_size",
    "expansion_coefficients",
    "initial_weights",
    "make_device",
    "make_layer",
    "quanvolution_filter_qnode",
    "variational_classifier_qnode",
]
