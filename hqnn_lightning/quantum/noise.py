"""Noise channels inserted after every gate, for density-matrix simulators (``default.mixed``).

``insert_noise(qnode, "depolarizing", 0.01)`` decomposes the circuit's templates into one- and
two-qubit gates and follows each gate by the channel of that strength on each of its wires, so
the noise grows with the circuit's depth as it does on hardware.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pennylane as qml
from pennylane.tape import QuantumScript

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


def check_noise(noise: str, strength: float) -> None:
    """Raises ``ValueError`` for an unknown channel or a strength outside ``[0, 1]``."""
    if noise not in NOISE_CHANNELS:
        raise ValueError(f"unknown noise {noise!r}; known: {', '.join(sorted(NOISE_CHANNELS))}")
    if not isinstance(strength, int | float) or not 0.0 <= strength <= 1.0:
        raise ValueError(f"noise_strength must be a probability in [0, 1], got {strength!r}")


def pop_noise_options(
    name: str, options: dict[str, Any], noisy_devices: Sequence[str]
) -> tuple[str | None, float | None]:
    """Takes ``noise`` and ``noise_strength`` out of device ``name``'s ``options`` and checks
    them: ``(channel, strength)``, the strength 0.01 unless given, or ``(None, None)``; a
    ``ValueError`` for noise on a device not in ``noisy_devices`` (those with noise channels),
    a bad channel or strength, a strength alone."""
    noise = options.pop("noise", None)
    noise_strength = options.pop("noise_strength", None)
    if (noise is not None or noise_strength is not None) and name not in noisy_devices:
        raise ValueError(
            f"{name} takes no noise option (noise channels need a mixed-state simulator: "
            f"{', '.join(noisy_devices)}; qiskit.aer takes fake_backend=... for a real "
            "device's noise)"
        )
    if noise is not None:
        noise_strength = 0.01 if noise_strength is None else noise_strength
        check_noise(noise, noise_strength)
    elif noise_strength is not None:
        raise ValueError(f"noise_strength={noise_strength} needs noise=<channel> too")
    return noise, noise_strength


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
    check_noise(noise, strength)
    decomposed = qml.transforms.decompose(qnode, gate_set=NATIVE_GATES)
    return _noise_after_gates(decomposed, noise=noise, strength=strength)
