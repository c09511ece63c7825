import copy
import pickle

import pennylane as qml
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from hqnn_lightning.quantum import (
    ENCODINGS,
    ENTANGLERS,
    QuantumLayer,
    QuanvolutionFilterCircuit,
    TorchStatevectorLayer,
    TrainableQuanvolutionFilterCircuit,
    VariationalClassifierCircuit,
)
from hqnn_lightning.quantum.statevector.encoding import EncodingPlan
from hqnn_lightning.quantum.statevector.gates import (
    VARIABLE_GATES,
    full_monomial,
    gate_matrices,
    monomial,
)
from hqnn_lightning.quantum.statevector.program import compile_circuit
from hqnn_lightning.quantum.statevector.simulator import choose_method, kron

EXACT = {"atol": 1e-10, "rtol": 0.0}
# float32 (complex64) against float64: the largest differences over 400 random circuits (1-8
# qubits, depth 1-3, batch 32), measured by `python benchmarks/quantum_layers.py
# --accuracy-only`, were 7.3e-7 (outputs), 1.6e-6 (input gradients) and 3.7e-6 (weight
# gradients, summed over the batch); these bounds leave a factor of 5 or more.
FLOAT32 = {"out": 5e-6, "inputs": 1e-5, "weights": 3e-5}


def values_and_gradients(layer, inputs, cotangent):
    """Outputs, and gradients of ``sum(outputs * cotangent)`` w.r.t. inputs and weights."""
    inputs = inputs.detach().clone().requires_grad_()
    layer.zero_grad(set_to_none=True)
    out = layer(inputs)
    (out * cotangent).sum().backward()
    weights = [p.grad for p in layer.parameters()]
    return out.detach(), inputs.grad, weights


def draw(seed, *shape, low=-2 * torch.pi, high=2 * torch.pi):
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(*shape, generator=generator, dtype=torch.float64) * (high - low) + low


def twin_layers(circuit, method, seed):
    """The reference TorchLayer on default.qubit and the torch layer, same float64 weights."""
    reference = QuantumLayer(circuit, init="uniform").double()
    with torch.no_grad():
        for weight in reference.parameters():
            weight.copy_(draw(seed, *weight.shape, low=0.0))
    layer = TorchStatevectorLayer(circuit, method=method, init="uniform").double()
    layer.load_state_dict(reference.state_dict())
    return reference, layer


def assert_agree(reference, layer, inputs, cotangent, tolerance):
    expected = values_and_gradients(reference, inputs, cotangent)
    actual = values_and_gradients(layer, inputs, cotangent)
    torch.testing.assert_close(actual[0], expected[0], **tolerance)
    torch.testing.assert_close(actual[1], expected[1], **tolerance)
    for got, want in zip(actual[2], expected[2], strict=True):
        torch.testing.assert_close(got, want, **tolerance)


class TestAgreesWithDefaultQubit:
    @settings(max_examples=80, deadline=None)
    @given(
        n_qubits=st.integers(1, 6),
        q_depth=st.integers(1, 3),
        entangler=st.sampled_from(sorted(ENTANGLERS)),
        encoding=st.sampled_from(ENCODINGS.names()),
        identity_blocks=st.booleans(),
        method=st.sampled_from(["unitary", "gates"]),
        batch=st.integers(1, 5),
        seed=st.integers(0, 2**31 - 1),
    )
    def test_variational_values_and_gradients(
        self, n_qubits, q_depth, entangler, encoding, identity_blocks, method, batch, seed
    ):
        circuit = VariationalClassifierCircuit(
            n_qubits, q_depth, entangler, encoding, identity_blocks=identity_blocks and q_depth > 1
        )
        reference, layer = twin_layers(circuit, method, seed)
        inputs = draw(seed + 1, batch, n_qubits)
        cotangent = draw(seed + 2, batch, n_qubits, low=-1.0, high=1.0)
        assert_agree(reference, layer, inputs, cotangent, EXACT)

    @settings(max_examples=60, deadline=None)
    @given(
        n_qubits=st.integers(1, 6),
        q_depth=st.integers(1, 4),
        entangler=st.sampled_from(sorted(ENTANGLERS)),
        encoding=st.sampled_from(ENCODINGS.names()),
        batch=st.integers(1, 5),
        seed=st.integers(0, 2**31 - 1),
    )
    def test_reuploading_values_and_gradients(
        self, n_qubits, q_depth, entangler, encoding, batch, seed
    ):
        circuit = VariationalClassifierCircuit(
            n_qubits, q_depth, entangler, encoding, reupload=True, identity_blocks=False
        )
        reference, layer = twin_layers(circuit, "auto", seed)
        inputs = draw(seed + 1, batch, n_qubits)
        cotangent = draw(seed + 2, batch, n_qubits, low=-1.0, high=1.0)
        assert_agree(reference, layer, inputs, cotangent, EXACT)

    def test_reuploading_past_the_fused_wires(self):
        # 9 qubits, 3 layers: each re-encoding is folded into per-sample fused matrices of
        # wires 5-8, 1-4 and 0.
        circuit = VariationalClassifierCircuit(
            9, 3, "strong", "hadamard_ry", reupload=True, identity_blocks=False
        )
        reference, layer = twin_layers(circuit, "gates", seed=6)
        inputs, cotangent = draw(7, 3, 9), draw(8, 3, 9, low=-1.0, high=1.0)
        assert_agree(reference, layer, inputs, cotangent, EXACT)

    @settings(max_examples=30, deadline=None)
    @given(
        kernel_size=st.integers(1, 3),
        n_layers=st.integers(1, 3),
        filter_seed=st.integers(0, 1000),
        trainable=st.booleans(),
        method=st.sampled_from(["unitary", "gates"]),
        seed=st.integers(0, 2**31 - 1),
    )
    def test_random_layers_values_and_gradients(
        self, kernel_size, n_layers, filter_seed, trainable, method, seed
    ):
        kind = TrainableQuanvolutionFilterCircuit if trainable else QuanvolutionFilterCircuit
        circuit = kind(kernel_size, n_layers, filter_seed)
        reference, layer = twin_layers(circuit, method, seed)
        inputs = draw(seed + 1, 3, circuit.n_qubits, low=0.0, high=1.0)
        cotangent = draw(seed + 2, 3, circuit.n_qubits, low=-1.0, high=1.0)
        assert_agree(reference, layer, inputs, cotangent, EXACT)

    @pytest.mark.parametrize("method", ["unitary", "gates"])
    def test_more_qubits_than_fused_wires(self, method):
        # 9 qubits: the "gates" method fuses wires 5-8 and 1-4 and applies wire 0 alone.
        circuit = VariationalClassifierCircuit(9, 2, "strong", "rx", identity_blocks=False)
        reference, layer = twin_layers(circuit, method, seed=3)
        inputs, cotangent = draw(4, 3, 9), draw(5, 3, 9, low=-1.0, high=1.0)
        assert_agree(reference, layer, inputs, cotangent, EXACT)

    def test_fixed_filter_has_no_parameters_and_uses_its_angles(self):
        circuit = QuanvolutionFilterCircuit(kernel_size=2, n_layers=2, seed=7)
        layer = TorchStatevectorLayer(circuit, init="uniform")
        assert list(layer.parameters()) == [] and layer.state_dict() == {}
        inputs = draw(0, 6, 4, low=0.0, high=1.0)
        torch.testing.assert_close(
            layer(inputs), QuantumLayer(circuit, init="uniform")(inputs), **EXACT
        )


class TestFloat32:
    def test_complex64_mode_within_its_measured_tolerance(self):
        circuit = VariationalClassifierCircuit(6, 3, "strong", "ry")
        exact = TorchStatevectorLayer(circuit, init="uniform").double()
        single = TorchStatevectorLayer(circuit, init="uniform")
        single.load_state_dict(exact.state_dict())
        inputs, cotangent = draw(0, 32, 6), draw(1, 32, 6, low=-1.0, high=1.0)
        want = values_and_gradients(exact, inputs, cotangent)
        got = values_and_gradients(single, inputs.float(), cotangent.float())
        assert got[0].dtype == torch.float32 and single.weights.dtype == torch.float32
        for key, a, b in zip(("out", "inputs"), got[:2], want[:2], strict=True):
            torch.testing.assert_close(a.double(), b, atol=FLOAT32[key], rtol=0)
        torch.testing.assert_close(got[2][0].double(), want[2][0], atol=FLOAT32["weights"], rtol=0)
        # and it is not secretly float64: rounding shows.
        assert (got[0].double() - want[0]).abs().max() > 1e-9

    def test_mixed_precision_does_not_lower_the_precision(self):
        layer = TorchStatevectorLayer(VariationalClassifierCircuit(4, 2), init="uniform")
        inputs = draw(0, 8, 4).float()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = layer(inputs)
        assert out.dtype == torch.float32
        torch.testing.assert_close(out, layer(inputs), atol=FLOAT32["out"], rtol=0)

    def test_wider_dtype_wins(self):
        layer = TorchStatevectorLayer(
            VariationalClassifierCircuit(3, 1, identity_blocks=False), init="uniform"
        )
        assert layer(draw(0, 2, 3)).dtype == torch.float64
        assert layer(draw(0, 2, 3).half()).dtype == torch.float32


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
class TestCuda:
    @pytest.mark.parametrize("method", ["unitary", "gates"])
    @pytest.mark.parametrize("encoding", ENCODINGS.names())
    def test_cuda_matches_cpu(self, method, encoding):
        circuit = VariationalClassifierCircuit(7, 3, "strong", encoding)
        cpu = TorchStatevectorLayer(circuit, method=method, init="uniform").double()
        gpu = copy.deepcopy(cpu).cuda()
        inputs, cotangent = draw(0, 16, 7), draw(1, 16, 7, low=-1.0, high=1.0)
        want = values_and_gradients(cpu, inputs, cotangent)
        got = values_and_gradients(gpu, inputs.cuda(), cotangent.cuda())
        assert got[0].device.type == "cuda" and got[2][0].device.type == "cuda"
        torch.testing.assert_close(got[0].cpu(), want[0], **EXACT)
        torch.testing.assert_close(got[1].cpu(), want[1], **EXACT)
        torch.testing.assert_close(got[2][0].cpu(), want[2][0], **EXACT)


class TestLayer:
    @pytest.fixture
    def circuit(self):
        return VariationalClassifierCircuit(3, 2, "strong", "ry", identity_blocks=False)

    def test_keeps_leading_dimensions(self, circuit):
        assert TorchStatevectorLayer(circuit, init="uniform")(draw(0, 2, 5, 3)).shape == (2, 5, 3)

    def test_weights_initialised_in_zero_to_two_pi(self):
        weights = TorchStatevectorLayer(VariationalClassifierCircuit(6, 3), init="uniform").weights
        assert weights.shape == (3, 6, 3)
        assert weights.min() >= 0 and weights.max() < 2 * torch.pi and weights.std() > 1

    @pytest.mark.parametrize("method", ["auto", "unitary", "gates"])
    def test_pickles_and_deep_copies(self, circuit, method):
        layer = TorchStatevectorLayer(circuit, method=method, init="uniform")
        inputs = draw(0, 4, 3).float()
        for clone in (pickle.loads(pickle.dumps(layer)), copy.deepcopy(layer)):
            torch.testing.assert_close(clone(inputs), layer(inputs))
            assert clone.quantum_device == layer.quantum_device and clone.simulator.method == method
            clone(inputs).sum().backward()
            assert clone.weights.grad.abs().sum() > 0

    def test_state_dicts_move_between_backends(self, circuit):
        reference = QuantumLayer(circuit, init="uniform")
        layer = TorchStatevectorLayer(circuit, init="uniform")
        assert layer.state_dict().keys() == reference.state_dict().keys() == {"weights"}
        layer.load_state_dict(reference.state_dict())
        inputs = draw(0, 4, 3).float()
        torch.testing.assert_close(layer(inputs), reference(inputs), atol=FLOAT32["out"], rtol=0)
        reference.load_state_dict(TorchStatevectorLayer(circuit, init="uniform").state_dict())

    def test_repr_names_device_and_method(self, circuit):
        text = repr(TorchStatevectorLayer(circuit, method="gates", init="uniform"))
        assert "n_qubits=3" in text and "device='torch'" in text and "'gates'" in text

    def test_rejects_the_wrong_number_of_features(self, circuit):
        with pytest.raises(ValueError, match=r"takes 3 features per sample, got inputs of shape"):
            TorchStatevectorLayer(circuit, init="uniform")(draw(0, 4, 5))

    def test_shots_sample_without_a_gradient(self, circuit):
        layer = TorchStatevectorLayer(circuit, shots=100, init="uniform")
        assert (layer.quantum_device.shots, layer.quantum_device.diff_method) == (100, "none")

    def test_rejects_other_diff_methods(self, circuit):
        with pytest.raises(ValueError, match=r"torch does not support diff_method='adjoint'"):
            TorchStatevectorLayer(circuit, diff_method="adjoint", init="uniform")

    def test_rejects_an_unknown_method(self, circuit):
        with pytest.raises(ValueError, match=r"method must be one of .*'einsum'"):
            TorchStatevectorLayer(circuit, method="einsum", init="uniform")

    def test_rejects_a_pennylane_device(self, circuit):
        with pytest.raises(ValueError, match="runs on device='torch', got 'default.qubit'"):
            TorchStatevectorLayer(circuit, device="default.qubit", init="uniform")


class TestProgram:
    def test_strong_layers_use_pennylane_ranges(self):
        # 4 wires, 3 layers: CNOT ranges 1, 2, 3 (l mod (n - 1) + 1), one permutation each.
        circuit = VariationalClassifierCircuit(4, 3, encoding="ry", identity_blocks=False)
        program = compile_circuit(circuit)
        assert len(program.layers) == 3
        assert all(len(layer.steps) == 1 for layer in program.layers)
        assert all(step.source is not None for layer in program.layers for step in layer.steps)
        assert [program.gates[i].name for wire in program.encoding for i in wire] == ["RY"] * 4

    def test_a_hadamard_and_rotation_are_the_encoding(self):
        circuit = VariationalClassifierCircuit(3, 2, encoding="hadamard_ry", identity_blocks=False)
        program = compile_circuit(circuit)
        names = [[program.gates[i].name for i in wire] for wire in program.encoding]
        assert names == [["Hadamard", "RY"]] * 3 and EncodingPlan.of(program).real
        assert not program.reencodes

    def test_an_rx_encoding_is_a_real_state_and_phases(self):
        circuit = VariationalClassifierCircuit(2, 2, encoding="rx", identity_blocks=False)
        plan = EncodingPlan.of(compile_circuit(circuit))
        assert plan.real and set(plan.names.values()) == {"RY"}
        torch.testing.assert_close(
            torch.as_tensor(plan.basis_phase()),
            torch.tensor([1, -1j, -1j, -1], dtype=torch.complex128),
        )

    @pytest.mark.parametrize("name", VARIABLE_GATES)
    def test_gate_matrices_are_pennylanes(self, name):
        gate = getattr(qml, name)
        angles = draw(0, 5, gate.num_params)
        expected = torch.stack([torch.as_tensor(gate.compute_matrix(*row)) for row in angles])
        got = gate_matrices(name, angles).to(torch.complex128)
        torch.testing.assert_close(got, expected.to(torch.complex128), **EXACT)

    def test_kron_puts_the_first_factor_on_the_most_significant_bit(self):
        matrices = torch.randn(3, 2, 2, dtype=torch.complex128)
        expected = torch.kron(torch.kron(matrices[0], matrices[1]), matrices[2])
        torch.testing.assert_close(kron(matrices[None])[0], expected)

    @pytest.mark.parametrize(
        "gate", [qml.CNOT([2, 0]), qml.CZ([0, 2]), qml.SWAP([1, 2]), qml.Toffoli([2, 0, 1])]
    )
    def test_permutations_match_pennylane(self, gate):
        state = torch.randn(8, dtype=torch.complex128)
        source, phase = full_monomial(*monomial(qml.matrix(gate)), tuple(gate.wires), 3)
        matrix = qml.matrix(gate, wire_order=range(3))
        expected = torch.as_tensor(matrix, dtype=torch.complex128) @ state
        got = state[torch.from_numpy(source)] * torch.from_numpy(phase)
        torch.testing.assert_close(got, expected)

    def test_a_dense_gate_is_no_permutation(self):
        assert monomial(qml.matrix(qml.Hadamard(0))) is None

    def test_auto_method_uses_the_unitary_for_small_circuits_only(self):
        assert choose_method(6, 1) == "unitary"
        assert choose_method(8, 256) == "gates"
        assert choose_method(8, 512) == "unitary"
        assert choose_method(2, 512, reencodes=True) == "gates"

    def test_reuploading_has_no_unitary_method(self):
        circuit = VariationalClassifierCircuit(3, 2, reupload=True, identity_blocks=False)
        assert compile_circuit(circuit).reencodes
        with pytest.raises(ValueError, match="re-uploading circuit runs with method='gates'"):
            TorchStatevectorLayer(circuit, method="unitary", init="uniform")
