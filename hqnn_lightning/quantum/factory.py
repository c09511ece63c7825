"""One entry point for a circuit's torch layer, whichever device runs it."""

from __future__ import annotations

from typing import Any

from torch import nn

from hqnn_lightning.quantum.devices import TORCH_DEVICE
from hqnn_lightning.quantum.layers import QuantumCircuit, QuantumLayer
from hqnn_lightning.quantum.torch_layer import TorchStatevectorLayer


def quantum_layer(
    circuit: QuantumCircuit,
    device: str = TORCH_DEVICE,
    shots: int | None = None,
    diff_method: str | None = None,
    **options: Any,
) -> nn.Module:
    """The layer that runs ``circuit`` on ``device``: ``(..., n_qubits) -> (..., n_outputs)``.

    ``device="torch"`` (the default, the fastest exact simulation) gives a
    `TorchStatevectorLayer`; a PennyLane device name (``"default.qubit"``,
    ``"lightning.qubit"``) gives a `QuantumLayer`, the reference, and the route to
    finite shots and hardware. Both hold the circuit's weights under the same names, so their
    state dicts are interchangeable.

    Args:
        circuit: A circuit description such as `VariationalClassifierCircuit`.
        device: ``"torch"`` or a PennyLane device name (see `make_device`).
        shots: ``None`` for exact expectation values, else samples per circuit (PennyLane
            devices only).
        diff_method: Overrides the device's default diff method.
        **options: ``method`` for ``"torch"`` (see `TorchStatevectorLayer`), PennyLane
            device options (``seed``, ``c_dtype``, ...) otherwise.

    Raises:
        ValueError: an unknown device, shots on ``"torch"``, or another invalid option (the
            message names it).
    """
    if device == TORCH_DEVICE:
        return TorchStatevectorLayer(circuit, device, shots, diff_method, **options)
    return QuantumLayer(circuit, device, shots, diff_method, **options)
