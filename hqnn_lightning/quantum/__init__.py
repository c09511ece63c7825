"""Quantum circuits, devices and torch layers (plain ``nn.Module``s, no Lightning)."""

from hqnn_lightning.quantum.circuits import (
    QuantumCircuit,
    QuanvolutionFilterCircuit,
    TrainableQuanvolutionFilterCircuit,
    VariationalClassifierCircuit,
)
from hqnn_lightning.quantum.devices import KNOWN_DEVICES, DeviceInfo, QuantumDevice, make_device
from hqnn_lightning.quantum.encodings import ENCODINGS, Encoding
from hqnn_lightning.quantum.entanglers import ENTANGLERS, Entangler, SeparableLayers
from hqnn_lightning.quantum.expansion import ExpansionQuanvolution, expansion_coefficients
from hqnn_lightning.quantum.factory import layer_on_device, make_layer
from hqnn_lightning.quantum.geometry import conv_output_size
from hqnn_lightning.quantum.initialisation import INITIALISATIONS, Initialisation, initial_weights
from hqnn_lightning.quantum.pennylane_layer import QuantumLayer
from hqnn_lightning.quantum.qnodes import quanvolution_filter_qnode, variational_classifier_qnode
from hqnn_lightning.quantum.quanvolution import QuanvolutionLayer
from hqnn_lightning.quantum.readouts import READOUTS, Readout
from hqnn_lightning.quantum.registry import PartRegistry
from hqnn_lightning.quantum.statevector import TorchStatevectorLayer

__all__ = [
    "ENCODINGS",
    "ENTANGLERS",
    "INITIALISATIONS",
    "KNOWN_DEVICES",
    "READOUTS",
    "DeviceInfo",
    "Encoding",
    "Entangler",
    "ExpansionQuanvolution",
    "Initialisation",
    "PartRegistry",
    "QuantumCircuit",
    "QuantumDevice",
    "QuantumLayer",
    "QuanvolutionFilterCircuit",
    "QuanvolutionLayer",
    "Readout",
    "SeparableLayers",
    "TorchStatevectorLayer",
    "TrainableQuanvolutionFilterCircuit",
    "VariationalClassifierCircuit",
    "conv_output_size",
    "expansion_coefficients",
    "initial_weights",
    "layer_on_device",
    "make_device",
    "make_layer",
    "quanvolution_filter_qnode",
    "variational_classifier_qnode",
]
