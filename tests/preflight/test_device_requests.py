"""A device request checked without PennyLane is refused, or taken, as `make_device` refuses
or takes it, in the same words, on the facts the command line saves."""

import itertools

import pytest

from hqnn_lightning.preflight import device_requests
from hqnn_lightning.preflight.device_requests import (
    DeviceFacts,
    check_device_request,
    missing_plugin,
)
from hqnn_lightning.quantum import KNOWN_DEVICES, make_device
from hqnn_lightning.quantum.devices import device_catalogue
from hqnn_lightning.run.option_table import TABLE_FILE, saved_option_table
from hqnn_lightning.utils.extras import MissingPackageError

OPTIONS = [
    {},
    {"seed": 3},
    {"seed": -1},
    {"device_arn": "arn:aws:braket:::device/quantum-simulator/amazon/sv1"},
    {"noise": "depolarizing"},
    {"noise": "depolarizing", "noise_strength": 2.0},
    {"noise": "scrambling"},
    {"noise_strength": 0.1},
]
REQUESTS = list(
    itertools.product(
        sorted(KNOWN_DEVICES),
        [None, 100, 0],
        [None, "backprop", "adjoint", "parameter-shift", "none", "bogus"],
        range(len(OPTIONS)),
    )
)


def library_answer(name, shots, diff_method, options):
    """``make_device``'s refusal of the request, or ``None``: the plugin and credential checks
    that follow the request's are not the preflight's, and count as taken."""
    try:
        make_device(name, 2, shots, diff_method, **options)
    except ValueError as error:
        return str(error)
    except (MissingPackageError, PermissionError):
        return None
    return None


def preflight_answer(catalogue, name, shots, diff_method, options):
    try:
        check_device_request(catalogue, name, None, shots, diff_method, options)
    except ValueError as error:
        return str(error)
    return None


def test_the_saved_facts_are_the_librarys():
    saved = saved_option_table(TABLE_FILE)
    assert saved is not None, "run `make options`"
    assert saved.devices == device_catalogue().plain()


def test_refused_as_make_device_refuses():
    """Every device against a grid of shots, diff methods and options (1,728 requests)."""
    catalogue = saved_option_table(TABLE_FILE).devices
    differing, refused = [], 0
    for name, shots, diff_method, option_set in REQUESTS:
        options = OPTIONS[option_set]
        expected = library_answer(name, shots, diff_method, dict(options))
        found = preflight_answer(catalogue, name, shots, diff_method, dict(options))
        refused += expected is not None
        if found != expected:
            differing.append((name, shots, diff_method, options, expected, found))
    assert differing == []
    assert 0 < refused < len(REQUESTS)


def test_an_unknown_device_is_refused_with_the_known_ones():
    expected = library_answer("ibm.fake", None, None, {})
    assert expected.startswith("unknown quantum device 'ibm.fake'; known devices: ")
    assert preflight_answer(device_catalogue(), "ibm.fake", None, None, {}) == expected


def test_a_qubit_count_is_checked_when_known():
    catalogue = device_catalogue()
    with pytest.raises(ValueError, match="default.mixed needs between 1 and 12 qubits, got 13"):
        check_device_request(catalogue, "default.mixed", 13)
    check_device_request(catalogue, "default.mixed", None)


def test_facts_read_back_as_written():
    for info in KNOWN_DEVICES.values():
        facts = DeviceFacts.from_record(info.record())
        assert type(facts) is DeviceFacts
        assert info.record() == facts.record()


class TestMissingPlugin:
    def test_names_what_to_install(self, monkeypatch):
        monkeypatch.setattr(device_requests.importlib.metadata, "entry_points", lambda group: [])
        info = KNOWN_DEVICES["lightning.gpu"]
        assert missing_plugin("lightning.gpu", info) == (
            "quantum device 'lightning.gpu' needs the pennylane-lightning-gpu package: "
            "pip install 'hqnn_lightning[gpu]'"
        )
        assert missing_plugin("torch", KNOWN_DEVICES["torch"]) is None

    def test_an_installed_plugin_passes(self):
        assert missing_plugin("default.qubit", KNOWN_DEVICES["default.qubit"]) is None
