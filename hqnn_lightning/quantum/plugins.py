"""What the hardware and noisy-simulator plugins need beyond ``qml.device(name, wires)``.

Each builder makes the device from the library's plain, picklable device options (strings
and numbers, as saved in checkpoints and configs): Aer simulating an offline fake IBM backend
for ``qiskit.aer``, a backend of IBM's runtime service for ``qiskit.remote``, and for
``braket.aws.qubit`` the plugin's device with its tasks recorded by ARN
(`hqnn_lightning.hardware.braket_jobs`). Each credential
check says whether the plugin would find credentials, so that a missing one is reported
before any circuit runs.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pennylane as qml

from hqnn_lightning.utils.extras import import_optional

QPU_EXTRA = "qpu"
"""The extra of ``pyproject.toml`` that installs every hardware and noisy-simulator plugin the
library knows, and the packages their factories below import."""

IBM_ACCOUNT_FILE = Path("~/.qiskit/qiskit-ibm.json")
"""Where ``QiskitRuntimeService.save_account`` stores IBM credentials."""


def env_credentials(*names: str) -> bool:
    """Whether any of the environment variables ``names`` is set and not empty."""
    return any(os.environ.get(name) for name in names)


def ibm_credentials() -> bool:
    """IBM Quantum: ``QISKIT_IBM_TOKEN`` in the environment, or an account saved on disk."""
    return env_credentials("QISKIT_IBM_TOKEN") or IBM_ACCOUNT_FILE.expanduser().is_file()


def aws_credentials() -> bool:
    """Amazon Braket: anything boto3's credential chain finds (environment, profile, role)."""
    boto3 = import_optional("boto3", "quantum device 'braket.aws.qubit'", "boto3", QPU_EXTRA)
    return boto3.Session().get_credentials() is not None


def _qiskit_ibm_runtime(module: str, device: str) -> Any:
    """``module`` of qiskit-ibm-runtime, which ``device`` needs."""
    return import_optional(module, f"quantum device {device!r}", "qiskit-ibm-runtime", QPU_EXTRA)


def fake_ibm_backend(name: str) -> Any:
    """An offline fake IBM backend of ``qiskit_ibm_runtime.fake_provider`` by class name
    (``"FakeManilaV2"``, ``"FakeBrisbane"``): calibration data shipped with the package.

    Raises:
        ValueError: no such fake backend (the message lists some).
        MissingPackageError: qiskit-ibm-runtime is not installed.
    """
    fake_provider = _qiskit_ibm_runtime("qiskit_ibm_runtime.fake_provider", "qiskit.aer")

    backend_type = getattr(fake_provider, name, None)
    if not isinstance(backend_type, type) or not name.startswith("Fake"):
        known = [n for n in dir(fake_provider) if n.startswith("Fake") and n.endswith("V2")]
        raise ValueError(
            f"unknown fake IBM backend {name!r}; for example: {', '.join(known[:8])}, ..."
        )
    return backend_type()


def qiskit_aer_device(wires: int, options: dict[str, Any]) -> qml.devices.Device:
    """``qiskit.aer``; with ``fake_backend="FakeManilaV2"``, Aer simulating that backend
    (``AerSimulator.from_backend``: its noise model, basis gates and coupling map). Circuits
    then go through the same path as on IBM hardware (pennylane-qiskit's ``QiskitDevice``:
    transpiled onto the backend's qubits, SWAPs routed, run by the runtime's primitives).

    Raises:
        ValueError: an unknown fake backend, or one with fewer qubits than ``wires``.
        MissingPackageError: qiskit-aer or qiskit-ibm-runtime is not installed.
    """
    options = dict(options)
    name = options.pop("fake_backend", None)
    if name is None:
        return qml.device("qiskit.aer", wires=wires, **options)
    aer = import_optional("qiskit_aer", "quantum device 'qiskit.aer'", "qiskit-aer", QPU_EXTRA)

    backend = fake_ibm_backend(name)
    if backend.num_qubits < wires:
        raise ValueError(f"{name} has {backend.num_qubits} qubits, the circuit needs {wires}")
    return qml.device(
        "qiskit.remote", wires=wires, backend=aer.AerSimulator.from_backend(backend), **options
    )


def qiskit_remote_device(wires: int, options: dict[str, Any]) -> qml.devices.Device:
    """``qiskit.remote`` on IBM Quantum: ``backend="ibm_brisbane"`` (or, left out, the least
    busy operational device with enough qubits) from IBM's runtime service, authenticated from
    ``QISKIT_IBM_TOKEN``/``QISKIT_IBM_INSTANCE`` or a saved account.

    Raises:
        MissingPackageError: qiskit-ibm-runtime is not installed.
    """
    runtime = _qiskit_ibm_runtime("qiskit_ibm_runtime", "qiskit.remote")
    options = dict(options)
    service = runtime.QiskitRuntimeService()
    name = options.pop("backend", None)
    backend = (
        service.backend(name)
        if name is not None
        else service.least_busy(operational=True, simulator=False, min_num_qubits=wires)
    )
    return qml.device("qiskit.remote", wires=wires, backend=backend, **options)


def braket_aws_device(wires: int, options: dict[str, Any]) -> qml.devices.Device:
    """``braket.aws.qubit`` (``device_arn=...`` and the plugin's options) whose tasks are
    recorded by ARN, so that a hardware evaluation fetches a timed-out task instead of
    paying for it again (`RecordedBraketAwsQubitDevice`)."""
    from hqnn_lightning.hardware.braket_jobs import RecordedBraketAwsQubitDevice

    return RecordedBraketAwsQubitDevice(wires=wires, **options)
