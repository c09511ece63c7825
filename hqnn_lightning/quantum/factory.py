"""`make_layer`: the one place that picks the torch layer running a circuit on a device."""

from __future__ import annotations

from typing import Any

from torch import nn

from hqnn_lightning.quantum.circuits import QuantumCircuit, QuanvolutionFilterCircuit
from hqnn_lightning.quantum.devices import TORCH_DEVICE, QuantumDevice, as_device
from hqnn_lightning.quantum.expansion.layer import ExpansionQuanvolution
from hqnn_lightning.quantum.pennylane_layer import QuantumLayer
from hqnn_lightning.quantum.statevector.layer import TorchStatevectorLayer


def make_layer(
    circuit: QuantumCircuit,
    device: QuantumDevice,
    init: str = "uniform",
    init_scale: float = 0.01,
    **options: Any,
) -> nn.Module:
    """The layer that runs ``circuit`` on ``device``, a description from `make_device`.

    - any circuit on a PennyLane device: `QuantumLayer`, a `pennylane.qnn.TorchLayer`;
    - a `QuanvolutionFilterCircuit` (trainable or not) on ``"torch"``: `ExpansionQuanvolution`,
      the filter's exact expansion, no simulator;
    - any other circuit (`VariationalClassifierCircuit`) on ``"torch"``:
      `TorchStatevectorLayer`, an exact state-vector simulation in torch.

    `QuantumLayer` and `TorchStatevectorLayer` map ``(..., n_qubits) -> (..., n_outputs)`` and
    hold the circuit's weights under the same names, so their state dicts are interchangeable.
    `ExpansionQuanvolution` evaluates the filter on every patch of images at once,
    ``forward(images, stride)``; `QuanvolutionLayer` slides either kind over images.
    ``"torch"`` is the fastest exact simulation; a PennyLane device is the reference, and the
    route to finite shots, noise and hardware.

    Args:
        circuit: A circuit description (see `circuits`).
        device: The validated device, ``make_device(name, circuit.n_qubits, shots, ...)``.
        init: How a variational circuit's weights start, one of `QUANTUM_INITS`
            (`initial_weights`), the same on every device.
        init_scale: Standard deviation of ``init="normal"`` (radians).
        **options: Passed to the layer: ``method`` for `TorchStatevectorLayer`.

    Raises:
        ValueError: the device's wires differ from the circuit's qubits.
    """
    device = as_device(device, circuit.n_qubits)
    if device.name != TORCH_DEVICE:
        return QuantumLayer(circuit, device, init=init, init_scale=init_scale, **options)
    if isinstance(circuit, QuanvolutionFilterCircuit):
        return ExpansionQuanvolution(circuit, **options)
    return TorchStatevectorLayer(circuit, device, init=init, init_scale=init_scale, **options)
