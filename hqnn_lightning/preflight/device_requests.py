"""A quantum device request (name, qubits, shots, diff method, options) checked against what
the library knows of each device, without importing PennyLane.

`make_device` checks every request with `check_device_request`, on the facts of
``KNOWN_DEVICES`` (`hqnn_lightning.quantum.devices`); the command line checks ``--q-device``,
``--shots``, ``--q-diff-method`` and ``--q-device-options`` with the same function before
importing the library, on the same facts saved in its option table. The plugin and credential
checks that follow need the plugin, so only `make_device` makes them; `missing_plugin` finds a
plugin that is not installed from the packages' metadata, without importing PennyLane.
"""

from __future__ import annotations

import importlib.metadata
import sys
from collections.abc import Collection, Mapping
from dataclasses import dataclass, fields
from typing import Any

NO_GRADIENT = "none"
"""The diff method of ``"torch"`` with shots: samples have no gradient, so such a layer
evaluates and never trains."""
ANALYTIC_ONLY = frozenset({"backprop", "adjoint"})
"""Diff methods that need exact expectation values."""
TORCH_SAMPLING_OPTIONS = frozenset({"seed"})
"""The options ``"torch"`` takes, with shots only: ``seed``, the sampling generator's seed."""
PLUGIN_ENTRY_POINTS = "pennylane.plugins"
"""The entry-point group in which PennyLane's device plugins name their devices."""


@dataclass(frozen=True, kw_only=True)
class DeviceFacts:
    """What a request to one device is checked against: plain values, saved with the command
    line's option table (`hqnn_lightning.quantum.DeviceInfo` adds what needs the plugin).

    Args:
        analytic_diff_method: Diff method used with exact expectation values (``shots=None``);
            ``None`` if the device only samples (hardware, ``qiskit.aer``), so needs shots.
        sampled_diff_method: Diff method used with finite shots (`NO_GRADIENT` on ``"torch"``).
        diff_methods: Every diff method the device accepts.
        max_wires: Largest qubit count the library lets the device allocate.
        install_hint: What to install when the device's plugin is missing: ``needs the
            PACKAGE package: pip install ...`` (`extras.install_hint`).
        pennylane: Whether ``qml.device`` creates it (``False`` for ``"torch"``).
        required_options: Device options that must be given (``device_arn``).
        noise: Whether the device takes the ``noise``/``noise_strength`` options (mixed-state
            simulators).
    """

    analytic_diff_method: str | None
    sampled_diff_method: str
    diff_methods: frozenset[str]
    max_wires: int
    install_hint: str
    pennylane: bool = True
    required_options: tuple[str, ...] = ()
    noise: bool = False

    def record(self) -> dict[str, Any]:
        """The facts as JSON values (the diff methods sorted); `from_record` reads them back,
        from a `DeviceFacts` or any subclass."""
        record = {field.name: getattr(self, field.name) for field in fields(DeviceFacts)}
        record["diff_methods"] = sorted(self.diff_methods)
        record["required_options"] = list(self.required_options)
        return record

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> DeviceFacts:
        """The facts `record` wrote."""
        return DeviceFacts(
            **record
            | {
                "diff_methods": frozenset(record["diff_methods"]),
                "required_options": tuple(record["required_options"]),
            }
        )


@dataclass(frozen=True)
class DeviceCatalogue:
    """The devices a request may name, and the noise channels a mixed-state one takes.

    Args:
        devices: ``{name: its facts}``.
        noise_channels: The names of the channels ``noise=`` takes.
    """

    devices: Mapping[str, DeviceFacts]
    noise_channels: tuple[str, ...]

    def plain(self) -> DeviceCatalogue:
        """This catalogue with only the `DeviceFacts` of each device, as it is saved."""
        return DeviceCatalogue(
            {name: DeviceFacts.from_record(facts.record()) for name, facts in self.devices.items()},
            self.noise_channels,
        )


@dataclass(frozen=True)
class CheckedRequest:
    """What `check_device_request` settled: the diff method (the device's default when none
    was given), the options for the device, and the noise taken out of them."""

    diff_method: str
    options: dict[str, Any]
    noise: str | None
    noise_strength: float


def check_device_request(
    catalogue: DeviceCatalogue,
    name: str,
    wires: int | None,
    shots: int | None = None,
    diff_method: str | None = None,
    options: Mapping[str, Any] | None = None,
) -> CheckedRequest:
    """Checks a request for device ``name`` (`make_device`'s arguments) against ``catalogue``.

    Args:
        catalogue: The known devices.
        name: The device.
        wires: Number of qubits; ``None`` leaves the count unchecked (the command line does
            not know it before the model is built).
        shots: ``None`` for exact expectation values, else samples per circuit.
        diff_method: ``None`` for the device's default with these shots.
        options: The device options, the library's ``noise`` and ``noise_strength`` included.

    Raises:
        ValueError: what `make_device` documents, its plugin and credentials aside.
    """
    if name not in catalogue.devices:
        known = ", ".join(sorted(catalogue.devices))
        raise ValueError(f"unknown quantum device {name!r}; known devices: {known}")
    facts = catalogue.devices[name]
    _check_wires_and_shots(name, facts, wires, shots)
    options = dict(options or {})
    if options and not facts.pennylane:
        _check_torch_options(name, shots, options)
    noisy = [device for device, known in catalogue.devices.items() if known.noise]
    noise, noise_strength = pop_noise_options(name, options, noisy, catalogue.noise_channels)
    missing = [option for option in facts.required_options if option not in options]
    if missing:
        raise ValueError(f"{name} needs the device option(s) {', '.join(missing)}")
    diff_method = _checked_diff_method(name, facts, shots, diff_method)
    return CheckedRequest(diff_method, options, noise, float(noise_strength or 0.0))


def missing_plugin(name: str, facts: DeviceFacts) -> str | None:
    """``quantum device NAME needs the PACKAGE package: pip install ...`` when ``name`` is a
    PennyLane device that PennyLane would not find; else ``None``.

    Once PennyLane is imported, its ``plugin_devices`` (where a script may have added one)
    are asked; before, the installed packages' `PLUGIN_ENTRY_POINTS`, from which PennyLane
    fills ``plugin_devices`` when imported.
    """
    if not facts.pennylane:
        return None
    pennylane = sys.modules.get("pennylane")
    if pennylane is not None:
        found = name in pennylane.plugin_devices
    else:
        entry_points = importlib.metadata.entry_points(group=PLUGIN_ENTRY_POINTS)
        found = name in {entry.name for entry in entry_points}
    return None if found else plugin_message(name, facts)


def plugin_message(name: str, facts: DeviceFacts) -> str:
    """What to install for device ``name``."""
    return f"quantum device {name!r} {facts.install_hint}"


def check_noise(noise: str, strength: float, channels: Collection[str]) -> None:
    """Raises ``ValueError`` for a channel not in ``channels`` or a strength outside ``[0, 1]``."""
    if noise not in channels:
        raise ValueError(f"unknown noise {noise!r}; known: {', '.join(sorted(channels))}")
    if not isinstance(strength, int | float) or not 0.0 <= strength <= 1.0:
        raise ValueError(f"noise_strength must be a probability in [0, 1], got {strength!r}")


def pop_noise_options(
    name: str, options: dict[str, Any], noisy_devices: Collection[str], channels: Collection[str]
) -> tuple[str | None, float | None]:
    """Takes ``noise`` and ``noise_strength`` out of device ``name``'s ``options`` and checks
    them: ``(channel, strength)``, the strength 0.01 unless given, or ``(None, None)``; a
    ``ValueError`` for noise on a device not in ``noisy_devices`` (those with noise channels),
    a channel not in ``channels`` or a bad strength, a strength alone."""
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
        check_noise(noise, noise_strength, channels)
    elif noise_strength is not None:
        raise ValueError(f"noise_strength={noise_strength} needs noise=<channel> too")
    return noise, noise_strength


def _check_wires_and_shots(
    name: str, facts: DeviceFacts, wires: int | None, shots: int | None
) -> None:
    """Refuses a qubit count device ``name`` cannot hold, and shots it cannot take (or their
    absence on a device that only samples)."""
    if wires is not None and (not isinstance(wires, int) or not 1 <= wires <= facts.max_wires):
        raise ValueError(
            f"{name} needs between 1 and {facts.max_wires} qubits, got {wires!r}: a state "
            "vector of n qubits holds 2**n amplitudes per sample"
        )
    if shots is not None and (not isinstance(shots, int) or shots < 1):
        raise ValueError(f"shots must be None or a positive integer, got {shots!r}")
    if shots is None and facts.analytic_diff_method is None:
        raise ValueError(
            f"{name} estimates expectation values from samples: give shots (e.g. shots=1000)"
        )


def _check_torch_options(name: str, shots: int | None, options: dict[str, Any]) -> None:
    """Refuses options of ``"torch"`` other than `TORCH_SAMPLING_OPTIONS` with shots, and a
    ``seed`` that is not a non-negative integer."""
    extra = sorted(set(options) - (TORCH_SAMPLING_OPTIONS if shots is not None else set()))
    if extra:
        allowed = " (seed: with shots only)" if "seed" in extra else ""
        raise ValueError(f"{name} takes no device options{allowed}, got {', '.join(extra)}")
    seed = options["seed"]
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
        raise ValueError(f"{name}: seed must be an integer from 0 to 2**63 - 1, got {seed!r}")


def _checked_diff_method(
    name: str, facts: DeviceFacts, shots: int | None, diff_method: str | None
) -> str:
    """``diff_method``, or the device's default for these shots when ``None``; a ``ValueError``
    when the device does not support it, or it needs exact values and shots are given."""
    if diff_method is None:
        diff_method = facts.analytic_diff_method if shots is None else facts.sampled_diff_method
    if diff_method not in facts.diff_methods:
        raise ValueError(
            f"{name} does not support diff_method={diff_method!r}; "
            f"supported: {', '.join(sorted(facts.diff_methods))}"
        )
    if shots is None and diff_method == NO_GRADIENT:
        raise ValueError(
            f"diff_method={NO_GRADIENT!r} is {name}'s sampling with shots; exact runs use backprop"
        )
    if shots is not None and diff_method in ANALYTIC_ONLY:
        raise ValueError(
            f"diff_method={diff_method!r} needs exact expectation values (shots=None), "
            f"got shots={shots}; use parameter-shift, finite-diff or spsa with shots"
        )
    return diff_method
