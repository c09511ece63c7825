"""Noise channels inserted after every gate, for density-matrix simulators (``default.mixed``).

``insert_noise(qnode, "depolarizing", 0.01)`` decomposes the circuit's templates into one- and
two-qubit gates and follows each gate by the channel of that strength on each of its wires, so
the noise grows with the circuit's depth as it does on hardware.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pennylane as qml
from pennylane.tape import QuantumScript

from hqnn_lightning.preflight.device_requests import check_noise

NOISE_CHANNELS: dict[str, type[qml.operation.Channel]] = {
    "depolarizing": qml.DepolarizingChannel,
    "amplitude_damping": qml.AmplitudeDamping,
    "phase_damping": qml.PhaseDamping,
    "bit_flip": qml.BitFlip,
    "phase_flip": qml.PhaseFlip,
}
"""Single-qubit channels by name; each takes one probability in ``[0, 1]``."""

NATIVE_GATES = frozenset({"RX", "RY", "RZ", "Rot", "CNOT", "CZ", "Hadamard", "PauliX", "PauliZ"})
"""Gates noise follows: templates are decomposed down to these first."""


@qml.transform
def _noise_after_gates(
    tape: QuantumScript, noise: str, strength: float
) -> tuple[Sequence[QuantumScript], Callable]:
    channel = NOISE_CHANNELS[noise]
    operations = []
    for operation in tape.operations:
        operations.append(operation)
        operations.extend(channel(strength, wires=wire) for wire in operation.wires)
    return [tape.copy(operations=operations)], lambda results: results[0]


def insert_noise(qnode: qml.QNode, noise: str, strength: float) -> qml.QNode:
    """``qnode`` with the channel ``noise`` of probability ``strength`` after every gate.

    Args:
        qnode: A QNode on a device that simulates mixed states (``default.mixed``).
        noise: A key of `NOISE_CHANNELS`.
        strength: The channel's probability, in ``[0, 1]``.
    """
    check_noise(noise, strength, NOISE_CHANNELS)
    decomposed = qml.transforms.decompose(qnode, gate_set=NATIVE_GATES)
    return _noise_after_gates(decomposed, noise=noise, strength=strength)
