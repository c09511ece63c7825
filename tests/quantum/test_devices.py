import pickle
import sys

import pennylane as qml
import pytest
import torch

from hqnn_lightning.quantum import (
    KNOWN_DEVICES,
    QuantumLayer,
    VariationalClassifierCircuit,
    make_device,
    plugins,
)
from hqnn_lightning.utils.extras import MissingPackageError


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


class TestDeviceCatalogue:
    @pytest.mark.parametrize(
        ("name", "shots", "expected"),
        [
            ("default.mixed", None, "backprop"),
            ("default.mixed", 100, "parameter-shift"),
            ("braket.local.qubit", None, "parameter-shift"),
            ("qiskit.aer", 100, "parameter-shift"),
        ],
    )
    def test_picks_the_diff_method_of_each_simulator(self, name, shots, expected):
        if name not in qml.plugin_devices:
            pytest.skip(f"{name} is not installed (pip install 'hqnn_lightning[qpu]')")
        assert make_device(name, wires=2, shots=shots).diff_method == expected

    def test_a_sampling_device_needs_shots(self):
        with pytest.raises(ValueError, match=r"qiskit\.aer estimates .* give shots"):
            make_device("qiskit.aer", wires=2)

    @pytest.mark.parametrize(
        ("name", "package", "extra"),
        [
            ("qiskit.aer", "pennylane-qiskit", "qpu"),
            ("qiskit.remote", "pennylane-qiskit", "qpu"),
            ("braket.local.qubit", "amazon-braket-pennylane-plugin", "qpu"),
            ("braket.aws.qubit", "amazon-braket-pennylane-plugin", "qpu"),
            ("ionq.qpu", "pennylane-ionq", "qpu"),
            ("ionq.simulator", "pennylane-ionq", "qpu"),
            ("lightning.gpu", "pennylane-lightning-gpu", "gpu"),
            ("lightning.kokkos", "pennylane-lightning-kokkos", "gpu"),
        ],
    )
    def test_a_missing_plugin_names_the_extra(self, monkeypatch, name, package, extra):
        monkeypatch.delitem(qml.plugin_devices, name, raising=False)
        options = {"device_arn": "arn"} if name == "braket.aws.qubit" else {}
        with pytest.raises(MissingPackageError) as error:
            make_device(name, wires=2, shots=10, **options)
        assert str(error.value) == (
            f"quantum device {name!r} needs the {package} package: "
            f"pip install 'hqnn_lightning[{extra}]'"
        )

    @pytest.mark.parametrize(
        ("module", "package", "options"),
        [
            ("qiskit_aer", "qiskit-aer", {"fake_backend": "FakeManilaV2"}),
            ("qiskit_ibm_runtime", "qiskit-ibm-runtime", {"fake_backend": "FakeManilaV2"}),
        ],
    )
    def test_a_missing_package_of_the_qiskit_plugin_names_the_extra(
        self, monkeypatch, module, package, options
    ):
        if "qiskit.aer" not in qml.plugin_devices:
            pytest.skip("pennylane-qiskit is not installed")
        for name in [name for name in sys.modules if name.partition(".")[0] == module]:
            monkeypatch.setitem(sys.modules, name, None)  # not installed, nor imported before
        monkeypatch.setitem(sys.modules, module, None)
        device = make_device("qiskit.aer", 2, shots=10, **options)
        with pytest.raises(MissingPackageError) as error:
            device.create()
        assert str(error.value) == (
            f"quantum device 'qiskit.aer' needs the {package} package: "
            "pip install 'hqnn_lightning[qpu]'"
        )

    @pytest.mark.parametrize(
        ("name", "options", "variable"),
        [
            ("qiskit.remote", {"backend": "ibm_brisbane"}, "QISKIT_IBM_TOKEN"),
            ("ionq.qpu", {}, "IONQ_API_KEY"),
            ("ionq.simulator", {}, "IONQ_API_KEY"),
            ("braket.aws.qubit", {"device_arn": "arn:aws:braket:::device/qpu/x"}, "AWS_"),
        ],
    )
    def test_missing_credentials_name_the_variable(
        self, monkeypatch, tmp_path, name, options, variable
    ):
        if name not in qml.plugin_devices:
            pytest.skip(f"{name} is not installed")
        for key in (
            "QISKIT_IBM_TOKEN",
            "IONQ_API_KEY",
            "PENNYLANE_IONQ_API_KEY",
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_PROFILE",
        ):
            monkeypatch.delenv(key, raising=False)
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
        monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
        monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
        monkeypatch.setattr(plugins, "IBM_ACCOUNT_FILE", tmp_path / "qiskit-ibm.json")
        with pytest.raises(PermissionError, match=variable):
            make_device(name, wires=2, shots=10, **options)

    def test_credentials_from_the_environment_are_enough(self, monkeypatch):
        if "ionq.qpu" not in qml.plugin_devices:
            pytest.skip("pennylane-ionq is not installed")
        monkeypatch.setenv("IONQ_API_KEY", "test-key")
        assert make_device("ionq.qpu", wires=2, shots=10).name == "ionq.qpu"

    def test_a_braket_device_needs_its_arn(self):
        with pytest.raises(ValueError, match="device_arn"):
            make_device("braket.aws.qubit", wires=2, shots=10)


def expectation_values(device, **options):
    circuit = VariationalClassifierCircuit(2, 2, "strong", "ry", identity_blocks=False)
    layer = QuantumLayer(circuit, init="uniform", device=device, **options)
    layer.load_state_dict(QuantumLayer(circuit, init="uniform").state_dict())
    torch.manual_seed(0)
    with torch.no_grad():
        layer.weights.copy_(torch.rand_like(layer.weights) * 6)
        return layer(torch.tensor([[0.3, -0.7], [1.1, 0.2], [-0.4, 0.9]], dtype=torch.float64))


class TestNoise:
    def test_zero_noise_is_the_exact_simulation(self):
        torch.testing.assert_close(
            expectation_values("default.mixed", noise="depolarizing", noise_strength=0.0),
            expectation_values("default.qubit"),
        )

    @pytest.mark.parametrize("noise", ["depolarizing", "amplitude_damping", "bit_flip"])
    def test_noise_changes_the_expectation_values(self, noise):
        exact = expectation_values("default.qubit")
        noisy = expectation_values("default.mixed", noise=noise, noise_strength=0.1)
        assert (noisy - exact).abs().max() > 0.01

    def test_depolarizing_noise_shrinks_every_value(self):
        exact = expectation_values("default.qubit")
        noisy = expectation_values("default.mixed", noise="depolarizing", noise_strength=0.05)
        assert bool((noisy.abs() < exact.abs()).all())

    def test_noise_follows_every_gate(self):
        circuit = VariationalClassifierCircuit(2, 1, "strong", "ry", identity_blocks=False)
        qnode = make_device("default.mixed", 2, noise="bit_flip", noise_strength=0.1).qnode(circuit)
        expanded = qml.workflow.construct_tape(qnode, level="user")(
            torch.zeros(2), torch.zeros(1, 2, 3)
        )
        channels = [op for op in expanded.operations if isinstance(op, qml.BitFlip)]
        gates = [op for op in expanded.operations if not isinstance(op, qml.BitFlip)]
        assert {op.name for op in gates} <= {"RY", "Rot", "CNOT"}
        assert len(channels) == sum(len(op.wires) for op in gates) == 2 + 2 + 2 * 2

    @pytest.mark.parametrize(
        ("name", "options", "message"),
        [
            ("default.qubit", {"noise": "depolarizing"}, "mixed-state"),
            ("default.mixed", {"noise": "coffee"}, "unknown noise"),
            ("default.mixed", {"noise": "bit_flip", "noise_strength": 1.5}, r"\[0, 1\]"),
            ("default.mixed", {"noise_strength": 0.1}, "needs noise="),
        ],
    )
    def test_rejects_bad_noise_options(self, name, options, message):
        with pytest.raises(ValueError, match=message):
            make_device(name, wires=2, **options)

    def test_the_description_with_noise_pickles(self):
        device = make_device("default.mixed", 2, noise="depolarizing", noise_strength=0.02)
        assert pickle.loads(pickle.dumps(device)) == device


class TestPluginSimulators:
    def test_braket_local_exact_matches_default_qubit(self):
        pytest.importorskip("braket.pennylane_plugin")
        torch.testing.assert_close(
            expectation_values("braket.local.qubit"),
            expectation_values("default.qubit"),
            atol=1e-6,
            rtol=0,
        )

    @pytest.mark.parametrize("name", ["lightning.kokkos", "lightning.gpu"])
    def test_lightning_extras_default_to_adjoint_and_match_default_qubit(self, name):
        if name not in qml.plugin_devices:
            pytest.skip(f"{name} is not installed (pip install 'hqnn_lightning[gpu]')")
        try:
            values = expectation_values(name)
        except Exception as error:  # lightning.gpu installed on a machine without a GPU
            pytest.skip(f"{name} does not run here: {error}")
        assert make_device(name, 2).diff_method == "adjoint"
        torch.testing.assert_close(values, expectation_values("default.qubit"), atol=1e-6, rtol=0)

    def test_qiskit_aer_with_a_fake_backends_noise(self):
        pytest.importorskip("qiskit_aer")
        pytest.importorskip("qiskit_ibm_runtime")
        exact = expectation_values("default.qubit")
        noisy = expectation_values("qiskit.aer", shots=4000, fake_backend="FakeManilaV2")
        # 4000 shots: standard error <= 0.016; the backend's gate and readout errors add a
        # bias of a few hundredths for this 2-qubit, 2-layer circuit (0.03 on average measured
        # for 4 qubits). The bound leaves room for both.
        assert (noisy - exact).abs().max() < 0.2
        assert not torch.equal(noisy, exact)

    def test_cnots_between_uncoupled_qubits_are_routed_on_a_fake_backend(self):
        pytest.importorskip("qiskit_aer")
        pytest.importorskip("qiskit_ibm_runtime")
        # FakeManilaV2's qubits form a line; StronglyEntanglingLayers closes a ring (3 -> 0).
        circuit = VariationalClassifierCircuit(4, 2)
        layer = QuantumLayer(
            circuit, "qiskit.aer", shots=100, init="uniform", fake_backend="FakeManilaV2"
        )
        with torch.no_grad():
            assert layer(torch.rand(2, 4)).shape == (2, 4)

    def test_an_unknown_fake_backend_is_named(self):
        pytest.importorskip("qiskit_ibm_runtime")
        device = make_device("qiskit.aer", 2, shots=10, fake_backend="FakeNowhere")
        with pytest.raises(ValueError, match="unknown fake IBM backend 'FakeNowhere'"):
            device.create()
