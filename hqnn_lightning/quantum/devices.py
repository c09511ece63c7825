"""Quantum devices by name, each with a differentiation method it supports.

`make_device` returns a `QuantumDevice`: a plain, picklable description (name,
wires, shots, diff method, options) that creates the PennyLane device and QNodes on it. Layers
keep the description rather than the device, because simulator devices such as
``lightning.qubit`` hold C++ state that cannot be pickled, and spawn-based DDP and checkpoints
need to pickle the model.

``"torch"`` is the library's own exact simulation in plain torch (the ``statevector`` and
``expansion`` packages), not a PennyLane device: it has a description like the others, so that
shots and options are validated here and only here, but no QNode; `make_layer` builds its
layer. With shots it samples the exact state's basis-state distribution, without a gradient
(diff method `NO_GRADIENT`), seeded by its one option, ``seed``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pennylane as qml

from hqnn_lightning.preflight.device_requests import (
    NO_GRADIENT,
    DeviceCatalogue,
    DeviceFacts,
    check_device_request,
    plugin_message,
)
from hqnn_lightning.quantum import plugins
from hqnn_lightning.quantum.noise import NOISE_CHANNELS, insert_noise
from hqnn_lightning.quantum.plugins import QPU_EXTRA
from hqnn_lightning.utils.backend_names import TORCH_DEVICE
from hqnn_lightning.utils.extras import MissingPackageError, install_hint


@dataclass(frozen=True, kw_only=True)
class DeviceInfo(DeviceFacts):
    """What the library knows about one device: the `DeviceFacts` a request is checked
    against (diff methods, qubits, required options, noise, what to install; their fields,
    given by keyword as these), and what needs the device's plugin.

    Args:
        credentials: Whether the plugin would find credentials; ``None`` if it needs none.
        credentials_hint: What to set when ``credentials()`` is false.
        factory: Makes the device from the library's plain options, ``(wires, options) ->
            device``; ``None``: ``qml.device(name, wires=wires, **options)``.
        remote: Whether circuits go to a cloud service (queued, possibly billed); the
            hardware evaluation's cost prompt says so.
        recorded_jobs: Whether the device records its jobs' ids (`hardware.jobs.JobClient`),
            so that a retry or a restart fetches a job instead of paying for it again. The
            qiskit and IonQ plugins wait on each job inside ``execute`` and never expose its
            id through PennyLane, so theirs are not recorded.
    """

    credentials: Callable[[], bool] | None = None
    credentials_hint: str = ""
    factory: Callable[[int, dict[str, Any]], qml.devices.Device] | None = None
    remote: bool = False
    recorded_jobs: bool = False


GRADIENT_TRANSFORMS = frozenset({"parameter-shift", "finite-diff", "spsa", "hadamard"})
"""Diff methods that differentiate by running more circuits; PennyLane cannot apply them to a
broadcast batch (issue #6078), so QNodes using them run one circuit per sample."""
_SHIFT_METHODS = frozenset({"parameter-shift", "finite-diff", "spsa"})


def _sampling_device(
    max_wires: int,
    plugin: str,
    analytic: bool = False,
    **fields: Any,
) -> DeviceInfo:
    """A device of the PennyLane plugin ``plugin`` (installed by the ``qpu`` extra),
    differentiated by parameter-shift, exact only when ``analytic``."""
    return DeviceInfo(
        analytic_diff_method="parameter-shift" if analytic else None,
        sampled_diff_method="parameter-shift",
        diff_methods=_SHIFT_METHODS,
        max_wires=max_wires,
        install_hint=install_hint(plugin, QPU_EXTRA),
        **fields,
    )


def _lightning_device(install_hint: str) -> DeviceInfo:
    """A pennylane-lightning simulator: adjoint when exact, parameter-shift with shots."""
    return DeviceInfo(
        analytic_diff_method="adjoint",
        sampled_diff_method="parameter-shift",
        diff_methods=frozenset({"adjoint", *_SHIFT_METHODS}),
        max_wires=30,
        install_hint=install_hint,
    )


_IONQ_KEY = ("IONQ_API_KEY", "PENNYLANE_IONQ_API_KEY")
QISKIT_PLUGIN = "pennylane-qiskit"
BRAKET_PLUGIN = "amazon-braket-pennylane-plugin"
IONQ_PLUGIN = "pennylane-ionq"

KNOWN_DEVICES: dict[str, DeviceInfo] = {
    "default.qubit": DeviceInfo(
        analytic_diff_method="backprop",
        sampled_diff_method="parameter-shift",
        diff_methods=frozenset(
            {"backprop", "adjoint", "parameter-shift", "finite-diff", "spsa", "hadamard"}
        ),
        max_wires=28,
        install_hint=install_hint("pennylane", None),
    ),
    "default.mixed": DeviceInfo(
        analytic_diff_method="backprop",
        sampled_diff_method="parameter-shift",
        diff_methods=frozenset({"backprop", *_SHIFT_METHODS}),
        max_wires=12,
        install_hint=install_hint("pennylane", None),
        noise=True,
    ),
    "lightning.qubit": _lightning_device(install_hint("pennylane-lightning", None)),
    "lightning.gpu": _lightning_device(install_hint("pennylane-lightning-gpu", "gpu")),
    "lightning.kokkos": _lightning_device(install_hint("pennylane-lightning-kokkos", "gpu")),
    "qiskit.aer": _sampling_device(30, QISKIT_PLUGIN, factory=plugins.qiskit_aer_device),
    "qiskit.remote": _sampling_device(
        156,
        QISKIT_PLUGIN,
        credentials=plugins.ibm_credentials,
        credentials_hint=(
            "set QISKIT_IBM_TOKEN (and QISKIT_IBM_INSTANCE), or save an account with "
            "QiskitRuntimeService.save_account(...)"
        ),
        factory=plugins.qiskit_remote_device,
        remote=True,
    ),
    "braket.local.qubit": _sampling_device(26, BRAKET_PLUGIN, analytic=True),
    "braket.aws.qubit": _sampling_device(
        100,
        BRAKET_PLUGIN,
        credentials=plugins.aws_credentials,
        credentials_hint=(
            "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) and "
            "AWS_DEFAULT_REGION to the device's region"
        ),
        required_options=("device_arn",),
        factory=plugins.braket_aws_device,
        remote=True,
        recorded_jobs=True,
    ),
    "ionq.simulator": _sampling_device(
        29,
        IONQ_PLUGIN,
        credentials=lambda: plugins.env_credentials(*_IONQ_KEY),
        credentials_hint="set IONQ_API_KEY",
        remote=True,
    ),
    "ionq.qpu": _sampling_device(
        36,
        IONQ_PLUGIN,
        credentials=lambda: plugins.env_credentials(*_IONQ_KEY),
        credentials_hint="set IONQ_API_KEY",
        remote=True,
    ),
    TORCH_DEVICE: DeviceInfo(
        analytic_diff_method="backprop",
        sampled_diff_method=NO_GRADIENT,
        diff_methods=frozenset({"backprop", NO_GRADIENT}),
        max_wires=28,
        install_hint=install_hint("torch", None),
        pennylane=False,
    ),
}


@dataclass(frozen=True)
class QuantumDevice:
    """A PennyLane device by name, with its shots, differentiation method and noise.

    Build it with `make_device`, which validates every field.

    Args:
        name: Device name, a key of `KNOWN_DEVICES`.
        wires: Number of qubits.
        shots: ``None`` for exact expectation values, else the number of samples per circuit.
        diff_method: How gradients are computed (``"backprop"``, ``"adjoint"``, ...).
        options: The library's device options: keyword arguments for ``qml.device``, or what
            `DeviceInfo.factory` makes the device from (``fake_backend``, ``backend``).
            Plain values, so that the description pickles.
        noise: A channel of `NOISE_CHANNELS` after every
            gate (``default.mixed``), or ``None``.
        noise_strength: The channel's probability.
    """

    name: str
    wires: int
    shots: int | None
    diff_method: str
    options: dict[str, Any] = field(default_factory=dict)
    noise: str | None = None
    noise_strength: float = 0.0

    @property
    def info(self) -> DeviceInfo:
        """What the library knows about this device."""
        return KNOWN_DEVICES[self.name]

    def create(self) -> qml.devices.Device:
        """A new PennyLane device of this description.

        Raises:
            ValueError: the device is ``"torch"``, which has no PennyLane device.
        """
        info = self.info
        if not info.pennylane:
            raise ValueError(
                f"{self.name!r} is not a PennyLane device and has no QNode; build its layer "
                f"with make_layer(circuit, make_device({self.name!r}, wires))"
            )
        if info.factory is not None:
            return info.factory(self.wires, self.options)
        return qml.device(self.name, wires=self.wires, **self.options)

    def qnode(self, circuit: Callable[..., Any]) -> qml.QNode:
        """Wraps ``circuit`` in a torch-interface QNode on a new device of this description.

        With a gradient transform (parameter-shift, finite-diff, ...) a batch runs as one
        circuit per sample (``broadcast_expand``): PennyLane cannot differentiate a broadcast
        batch that way (issue #6078), and hardware runs one circuit per sample anyway.
        """
        qnode = qml.QNode(circuit, self.create(), interface="torch", diff_method=self.diff_method)
        if self.shots is not None:
            qnode = qml.set_shots(qnode, shots=self.shots)
        if self.noise is not None:
            qnode = insert_noise(qnode, self.noise, self.noise_strength)
        if self.diff_method in GRADIENT_TRANSFORMS:
            qnode = qml.transforms.broadcast_expand(qnode)
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
        name: Device name, one of `KNOWN_DEVICES` (``"torch"``, ``"default.qubit"``,
            ``"default.mixed"``, ``"lightning.qubit"``, ``"qiskit.aer"``, ...; see
            ``docs/devices.md``).
        wires: Number of qubits, at least 1.
        shots: ``None`` for exact expectation values, else a positive number of samples
            (devices that only sample need it; on ``torch`` the read-outs are estimated from
            that many samples of the exact state, without a gradient).
        diff_method: Overrides the default (``backprop`` on ``torch``, ``default.qubit`` and
            ``default.mixed``, ``adjoint`` on ``lightning.*``, ``parameter-shift`` with finite
            shots and on the plugins' devices, `NO_GRADIENT` on ``torch`` with shots).
        **options: Passed to ``qml.device`` (``c_dtype``, ``seed``, ``device_arn``, ...),
            except the library's own: ``noise`` and ``noise_strength`` (``default.mixed``),
            ``fake_backend`` (``qiskit.aer``), ``backend`` (``qiskit.remote``: an IBM
            backend's name). ``torch`` takes only ``seed`` (an integer, default 0), with shots:
            the seed of its sampling generator.

    Returns:
        The validated `QuantumDevice`.

    Raises:
        ValueError: unknown device name (the message lists the known ones), a qubit count
            that does not fit the device, non-positive shots, none on a device that only
            samples, device options on ``torch`` other than ``seed`` with shots, a bad
            ``seed``, a missing required option,
            bad noise options, or a diff method the device does not support with these shots.
        ImportError: the device's plugin is not installed (the message says what to install).
        PermissionError: the device needs credentials and none are set (the message names
            the environment variables).
    """
    request = check_device_request(device_catalogue(), name, wires, shots, diff_method, options)
    info = KNOWN_DEVICES[name]
    if info.pennylane and name not in qml.plugin_devices:
        raise MissingPackageError(plugin_message(name, info))
    if info.credentials is not None and not info.credentials():
        raise PermissionError(f"quantum device {name!r} needs credentials: {info.credentials_hint}")
    return QuantumDevice(
        name,
        wires,
        shots,
        request.diff_method,
        request.options,
        request.noise,
        request.noise_strength,
    )


def device_catalogue() -> DeviceCatalogue:
    """`KNOWN_DEVICES` (as they are now: a researcher's own included) and `NOISE_CHANNELS`, as
    `check_device_request` reads them."""
    return DeviceCatalogue(dict(KNOWN_DEVICES), tuple(NOISE_CHANNELS))


def as_device(
    device: str | QuantumDevice,
    wires: int,
    shots: int | None = None,
    diff_method: str | None = None,
    **options: Any,
) -> QuantumDevice:
    """The description a layer runs on: ``device`` itself when it is already a `QuantumDevice`,
    else ``make_device(device, wires, shots, diff_method, **options)``.

    Raises:
        ValueError: a `QuantumDevice` with another number of wires, or together with shots, a
            diff method or options (those belong in `make_device`); anything `make_device`
            raises.
    """
    if not isinstance(device, QuantumDevice):
        return make_device(device, wires, shots, diff_method, **options)
    given = {"shots": shots, "diff_method": diff_method}
    extra = [name for name, value in given.items() if value is not None] + sorted(options)
    if extra:
        raise ValueError(
            f"got a QuantumDevice and {', '.join(extra)}: give them to make_device instead"
        )
    if device.wires != wires:
        raise ValueError(
            f"the circuit has {wires} qubits, but the {device.name} device has {device.wires} wires"
        )
    return device
