"""Quantum devices by name, each with a differentiation method it supports.

:func:`make_device` returns a :class:`QuantumDevice`: a plain, picklable description (name,
wires, shots, diff method, options) that creates the PennyLane device and QNodes on it. Layers
keep the description rather than the device, because simulator devices such as
``lightning.qubit`` hold C++ state that cannot be pickled, and spawn-based DDP and checkpoints
need to pickle the model.

``"torch"`` is the library's own exact state-vector simulator in plain torch
(``statevector.py``), not a PennyLane device: it has a description like the others, so that
options are validated in one place, but no QNode; :func:`quantum_layer` builds its layer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pennylane as qml


@dataclass(frozen=True)
class DeviceInfo:
    """What the library knows about one PennyLane device.

    Args:
        analytic_diff_method: Diff method used with exact expectation values (``shots=None``).
        sampled_diff_method: Diff method used with finite shots; ``None`` if the device takes
            no shots.
        diff_methods: Every diff method the device accepts.
        max_wires: Largest qubit count the library lets the simulator allocate.
        install_hint: What to install when the device's plugin is missing.
        pennylane: Whether ``qml.device`` creates it (``False`` for ``"torch"``).
    """

    analytic_diff_method: str
    sampled_diff_method: str | None
    diff_methods: frozenset[str]
    max_wires: int
    install_hint: str
    pennylane: bool = True


_ANALYTIC_ONLY = frozenset({"backprop", "adjoint"})
TORCH_DEVICE = "torch"
"""Name of the library's exact torch state-vector simulator."""

KNOWN_DEVICES: dict[str, DeviceInfo] = {
    "default.qubit": DeviceInfo(
        analytic_diff_method="backprop",
        sampled_diff_method="parameter-shift",
        diff_methods=frozenset(
            {"backprop", "adjoint", "parameter-shift", "finite-diff", "spsa", "hadamard"}
        ),
        max_wires=28,
        install_hint="pip install pennylane",
    ),
    "lightning.qubit": DeviceInfo(
        analytic_diff_method="adjoint",
        sampled_diff_method="parameter-shift",
        diff_methods=frozenset({"adjoint", "parameter-shift", "finite-diff", "spsa"}),
        max_wires=30,
        install_hint="pip install pennylane-lightning",
    ),
    TORCH_DEVICE: DeviceInfo(
        analytic_diff_method="backprop",
        sampled_diff_method=None,
        diff_methods=frozenset({"backprop"}),
        max_wires=28,
        install_hint="pip install torch",
        pennylane=False,
    ),
}


@dataclass(frozen=True)
class QuantumDevice:
    """A PennyLane device by name, with its shots and differentiation method.

    Build it with :func:`make_device`, which validates every field.

    Args:
        name: PennyLane device name, a key of :data:`KNOWN_DEVICES`.
        wires: Number of qubits.
        shots: ``None`` for exact expectation values, else the number of samples per circuit.
        diff_method: How gradients are computed (``"backprop"``, ``"adjoint"``, ...).
        options: Extra keyword arguments for ``qml.device``.
    """

    name: str
    wires: int
    shots: int | None
    diff_method: str
    options: dict[str, Any] = field(default_factory=dict)

    def create(self) -> qml.devices.Device:
        """A new PennyLane device of this description.

        Raises:
            ValueError: the device is ``"torch"``, which has no PennyLane device.
        """
        if not KNOWN_DEVICES[self.name].pennylane:
            raise ValueError(
                f"{self.name!r} is not a PennyLane device and has no QNode; build its layer "
                f"with quantum_layer(circuit, device={self.name!r})"
            )
        return qml.device(self.name, wires=self.wires, **self.options)

    def qnode(self, circuit: Callable[..., Any]) -> qml.QNode:
        """Wraps ``circuit`` in a torch-interface QNode on a new device of this description."""
        qnode = qml.QNode(circuit, self.create(), interface="torch", diff_method=self.diff_method)
        if self.shots is not None:
            qnode = qml.set_shots(qnode, shots=self.shots)
        return qnode


def make_device(
    name: str,
    wires: int,
    shots: int | None = None,
    diff_method: str | None = None,
    **options: Any,
) -> QuantumDevice:
    """Describes a quantum device and picks a diff method it supports.

    Args:
        name: Device name, one of :data:`KNOWN_DEVICES` (``"torch"``, ``"default.qubit"``,
            ``"lightning.qubit"``).
        wires: Number of qubits, at least 1.
        shots: ``None`` for exact expectation values, else a positive number of samples
            (PennyLane devices only).
        diff_method: Overrides the default (``backprop`` on ``torch`` and ``default.qubit``,
            ``adjoint`` on ``lightning.*``, ``parameter-shift`` with finite shots).
        **options: Passed to ``qml.device`` (``c_dtype``, ``seed``, ...); ``torch`` takes
            none.

    Returns:
        The validated :class:`QuantumDevice`.

    Raises:
        ValueError: unknown device name (the message lists the known ones), a qubit count
            that does not fit the simulator, non-positive shots, shots on ``torch``, device
            options on ``torch``, or a diff method the device does not support with these
            shots.
        ImportError: the device's plugin is not installed.
    """
    if name not in KNOWN_DEVICES:
        raise ValueError(
            f"unknown quantum device {name!r}; known devices: {', '.join(sorted(KNOWN_DEVICES))}"
        )
    info = KNOWN_DEVICES[name]
    if not isinstance(wires, int) or not 1 <= wires <= info.max_wires:
        raise ValueError(
            f"{name} needs between 1 and {info.max_wires} qubits, got {wires!r}: a state vector "
            f"of n qubits holds 2**n amplitudes per sample"
        )
    if shots is not None and (not isinstance(shots, int) or shots < 1):
        raise ValueError(f"shots must be None or a positive integer, got {shots!r}")
    if shots is not None and info.sampled_diff_method is None:
        raise ValueError(
            f"{name} computes exact expectation values and takes no shots, got shots={shots}; "
            f"use a PennyLane device such as 'default.qubit' for finite shots"
        )
    if options and not info.pennylane:
        raise ValueError(f"{name} takes no device options, got {', '.join(sorted(options))}")
    if diff_method is None:
        diff_method = info.analytic_diff_method if shots is None else info.sampled_diff_method
    if diff_method not in info.diff_methods:
        raise ValueError(
            f"{name} does not support diff_method={diff_method!r}; "
            f"supported: {', '.join(sorted(info.diff_methods))}"
        )
    if shots is not None and diff_method in _ANALYTIC_ONLY:
        raise ValueError(
            f"diff_method={diff_method!r} needs exact expectation values (shots=None), "
            f"got shots={shots}; use parameter-shift, finite-diff or spsa with shots"
        )
    if info.pennylane and name not in qml.plugin_devices:
        raise ImportError(f"quantum device {name!r} is not installed: {info.install_hint}")
    return QuantumDevice(name, wires, shots, diff_method, dict(options))
