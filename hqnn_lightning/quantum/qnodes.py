"""Builder functions that return a QNode and the shapes of its trainable arguments.

For users who want a plain `pennylane.qnn.TorchLayer` or a bare QNode; the layers of
this library build theirs the same way, through `QuantumDevice.qnode`. The ``device``
must be a PennyLane device: ``"torch"`` has no QNode, and ``make_layer(circuit,
make_device(...))`` builds the layer for any device, ``"torch"`` included.
"""

from __future__ import annotations

from typing import Any

import pennylane as qml

from hqnn_lightning.quantum import defaults
from hqnn_lightning.quantum.circuits import QuanvolutionFilterCircuit, VariationalClassifierCircuit
from hqnn_lightning.quantum.devices import make_device

WeightShapes = dict[str, tuple[int, ...]]


def variational_classifier_qnode(
    n_qubits: int,
    q_depth: int,
    entangler: str = defaults.ENTANGLER,
    encoding: str = defaults.ENCODING,
    reupload: bool = False,
    identity_blocks: bool = defaults.IDENTITY_BLOCKS,
    readout: str = defaults.READOUT,
    device: str = "default.qubit",
    shots: int | None = None,
    diff_method: str | None = None,
    **device_options: Any,
) -> tuple[qml.QNode, WeightShapes]:
    """The variational classifier circuit (`VariationalClassifierCircuit`, whose arguments
    and defaults these are) as a QNode. Its weights are the caller's to draw
    (`initial_weights`).

    Returns:
        ``(qnode, weight_shapes)``: ``qnode(inputs, weights)`` (and ``mirror_weights=`` with
        ``identity_blocks``) maps ``(B, n_qubits)`` angles to the read-out's ``n_outputs``
        values; ``weight_shapes`` is ``{"weights": shape}``, and ``"mirror_weights"`` of the
        same shape with ``identity_blocks``.
    """
    circuit = VariationalClassifierCircuit(
        n_qubits, q_depth, entangler, encoding, reupload, identity_blocks, readout
    )
    qdevice = make_device(device, n_qubits, shots, diff_method, **device_options)
    return qdevice.qnode(circuit), circuit.weight_shapes


def quanvolution_filter_qnode(
    kernel_size: int = 2,
    n_layers: int = 1,
    seed: int = 0,
    device: str = "default.qubit",
    shots: int | None = None,
    diff_method: str | None = None,
    **device_options: Any,
) -> tuple[qml.QNode, WeightShapes]:
    """The fixed quanvolution filter (`QuanvolutionFilterCircuit`) as a QNode.

    Returns:
        ``(qnode, weight_shapes)``: ``qnode(inputs)`` maps ``(B, kernel_size**2)`` pixels in
        ``[0, 1]`` to ``kernel_size**2`` expectation values; ``weight_shapes`` is empty.
    """
    circuit = QuanvolutionFilterCircuit(kernel_size, n_layers, seed)
    qdevice = make_device(device, circuit.n_qubits, shots, diff_method, **device_options)
    return qdevice.qnode(circuit), circuit.weight_shapes
