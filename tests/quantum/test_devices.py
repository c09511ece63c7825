import pickle

import pennylane as qml
import pytest

from hqnn_lightning.quantum import KNOWN_DEVICES, make_device


class TestMakeDevice:
    @pytest.mark.parametrize(
        ("name", "shots", "expected"),
        [
            ("default.qubit", None, "backprop"),
            ("lightning.qubit", None, "adjoint"),
            ("default.qubit", 100, "parameter-shift"),
            ("lightning.qubit", 100, "parameter-shift"),
        ],
    )
    def test_picks_a_supported_diff_method(self, name, shots, expected):
        device = make_device(name, wires=2, shots=shots)
        assert device.diff_method == expected
        assert device.diff_method in KNOWN_DEVICES[name].diff_methods

    def test_diff_method_can_be_overridden(self):
        assert make_device("default.qubit", 2, diff_method="adjoint").diff_method == "adjoint"

    def test_creates_the_named_pennylane_device(self):
        device = make_device("lightning.qubit", wires=3).create()
        assert device.name == "lightning.qubit"
        assert len(device.wires) == 3

    def test_unknown_name_lists_the_known_devices(self):
        with pytest.raises(ValueError, match=r"unknown quantum device 'qiskit\.fake'") as error:
            make_device("qiskit.fake", wires=2)
        for name in KNOWN_DEVICES:
            assert name in str(error.value)

    @pytest.mark.parametrize("wires", [0, -1, 29, 2.5])
    def test_rejects_qubit_counts_that_do_not_fit(self, wires):
        with pytest.raises(ValueError, match="qubits"):
            make_device("default.qubit", wires=wires)

    @pytest.mark.parametrize("shots", [0, -5, 1.5])
    def test_rejects_bad_shots(self, shots):
        with pytest.raises(ValueError, match="shots"):
            make_device("default.qubit", wires=2, shots=shots)

    def test_rejects_unsupported_diff_method(self):
        with pytest.raises(ValueError, match=r"lightning\.qubit does not support"):
            make_device("lightning.qubit", wires=2, diff_method="backprop")

    def test_rejects_analytic_diff_method_with_shots(self):
        with pytest.raises(ValueError, match="shots=None"):
            make_device("default.qubit", wires=2, shots=10, diff_method="backprop")

    def test_description_pickles(self):
        device = make_device("lightning.qubit", wires=2, shots=5)
        assert pickle.loads(pickle.dumps(device)) == device

    def test_qnode_carries_the_shots(self):
        def circuit():
            qml.Hadamard(0)
            return qml.sample(qml.PauliZ(0))

        qnode = make_device("default.qubit", wires=1, shots=7).qnode(circuit)
        assert qnode().shape == (7,)
