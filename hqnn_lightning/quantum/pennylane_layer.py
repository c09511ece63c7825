"""A PennyLane circuit as a torch layer that evaluates a whole batch in one call."""

from __future__ import annotations

from typing import Any

import pennylane as qml
import torch
from torch import nn

from hqnn_lightning.quantum import defaults
from hqnn_lightning.quantum.circuits import QuantumCircuit
from hqnn_lightning.quantum.devices import GRADIENT_TRANSFORMS, QuantumDevice, as_device
from hqnn_lightning.quantum.initialisation import initial_weights
from hqnn_lightning.quantum.module import QuantumModule


class QuantumLayer(QuantumModule, qml.qnn.TorchLayer):
    """A circuit description on a named device, as a `pennylane.qnn.TorchLayer`.

    ``forward`` maps ``(..., n_qubits)`` inputs to ``(..., n_outputs)`` expectation values.
    All leading dimensions are flattened into one batch that the QNode receives at once
    (parameter broadcasting), so ``default.qubit`` simulates a batch in a single run; no Python
    loop runs over samples. The trainable weights are the circuit's ``weight_shapes``,
    drawn by `initial_weights` as `TorchStatevectorLayer`'s are.

    The layer pickles: the QNode and its device are rebuilt from the circuit and device
    descriptions, since some devices (``lightning.qubit``) cannot be pickled.

    Args:
        circuit: A circuit description such as `VariationalClassifierCircuit`.
        device: A PennyLane device's name, or its `QuantumDevice` from `make_device` (then
            without shots, diff method or options here).
        shots: ``None`` for exact expectation values, else samples per circuit.
        diff_method: Overrides the device's default diff method.
        init: How the weights start, a name in `INITIALISATIONS` (default `quantum.defaults.INIT`).
        init_scale: Standard deviation of ``init="normal"`` (radians).
        **device_options: Passed to the PennyLane device.
    """

    def __init__(
        self,
        circuit: QuantumCircuit,
        device: str | QuantumDevice = "default.qubit",
        shots: int | None = None,
        diff_method: str | None = None,
        init: str = defaults.INIT,
        init_scale: float = defaults.INIT_SCALE,
        **device_options: Any,
    ) -> None:
        quantum_device = as_device(device, circuit.n_qubits, shots, diff_method, **device_options)
        weights = initial_weights(circuit, init, init_scale)
        super().__init__(quantum_device.qnode(circuit), circuit.weight_shapes, weights)
        refuse_undifferentiable_measurements(circuit, quantum_device, self.qnode.device)
        self.circuit = circuit
        self.quantum_device = quantum_device

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["qnode"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        # TorchLayer.__setattr__ forwards to self.qnode, which does not exist yet.
        self.__dict__["qnode"] = self.quantum_device.qnode(self.circuit)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """``(..., n_qubits) -> (..., n_outputs)``, in the dtype of ``inputs``."""
        if inputs.shape[-1] != self.circuit.n_qubits:
            raise ValueError(
                f"{type(self.circuit).__name__} takes {self.circuit.n_qubits} features per "
                f"sample, got inputs of shape {tuple(inputs.shape)}"
            )
        return super().forward(inputs)

    def __repr__(self) -> str:
        # TorchLayer's own repr names only the function; nn.Module's shows extra_repr.
        return nn.Module.__repr__(self)

    __str__ = __repr__

    def extra_repr(self) -> str:
        device = self.quantum_device
        return (
            f"{self.circuit}, device={device.name!r}, shots={device.shots}, "
            f"diff_method={device.diff_method!r}"
        )


def refuse_undifferentiable_measurements(
    circuit: QuantumCircuit, device: QuantumDevice, created: Any
) -> None:
    """Refuses, in one line, a circuit whose measurements the device cannot run under its own
    diff method (``lightning.qubit``'s adjoint takes expectation values, not ``probs``), as
    PennyLane's ``supports_derivatives`` says; the QNode would fail on its first call. A
    gradient transform (parameter-shift, ...) differentiates any measurement and is not
    checked.

    Raises:
        ValueError: naming the measurements, ``--readout`` and the other choices.
    """
    if device.diff_method in GRADIENT_TRANSFORMS:
        return
    inputs = torch.zeros(circuit.n_qubits, dtype=torch.float64)
    weights = {name: torch.zeros(shape) for name, shape in circuit.weight_shapes.items()}
    tape = qml.tape.make_qscript(circuit)(inputs, **weights)
    config = qml.devices.ExecutionConfig(gradient_method=device.diff_method)
    refused = [
        str(measurement)
        for measurement in tape.measurements
        if not created.supports_derivatives(config, tape.copy(measurements=[measurement]))
    ]
    if refused:
        raise ValueError(
            f"{device.name} with diff_method={device.diff_method!r} cannot compute "
            f"{', '.join(dict.fromkeys(refused))}: choose a read-out it computes "
            f"(--readout z or zz), another diff method (--q-diff-method parameter-shift) or "
            f"--q-device default.qubit"
        )
