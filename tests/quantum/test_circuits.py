import pickle

import numpy as np
import pennylane as qml
import pytest
import torch

from hqnn_lightning.quantum import (
    ENCODINGS,
    ENTANGLERS,
    READOUTS,
    Encoding,
    Entangler,
    QuanvolutionFilterCircuit,
    Readout,
    VariationalClassifierCircuit,
    make_device,
    make_layer,
)

TEMPLATES = {
    "AngleEmbedding",
    "BasicEntanglerLayers",
    "SeparableLayers",
    "StronglyEntanglingLayers",
}


def gate_sequence(circuit, *args, **kwargs):
    """The circuit's gates, its templates decomposed."""
    tape = qml.tape.make_qscript(circuit)(*args, **kwargs)
    return [
        gate
        for op in tape.operations
        for gate in (op.decomposition() if op.name in TEMPLATES else [op])
    ]


class TestVariationalClassifierCircuit:
    @pytest.mark.parametrize(
        ("entangler", "shape"),
        [("strong", (3, 4, 3)), ("basic", (3, 4)), ("separable", (3, 4, 3))],
    )
    def test_weight_shapes(self, entangler, shape):
        circuit = VariationalClassifierCircuit(
            n_qubits=4, q_depth=3, entangler=entangler, identity_blocks=False
        )
        assert circuit.weight_shapes == {"weights": shape}
        assert circuit.n_outputs == 4
        mirrored = VariationalClassifierCircuit(4, 3, entangler, identity_blocks=True)
        assert mirrored.weight_shapes == {"weights": shape, "mirror_weights": shape}

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"n_qubits": 0, "q_depth": 1}, "n_qubits"),
            ({"n_qubits": 2, "q_depth": 0}, "q_depth"),
            ({"n_qubits": 2, "q_depth": 2, "entangler": "cnot"}, "unknown entangler 'cnot'"),
            ({"n_qubits": 2, "q_depth": 2, "encoding": "rz"}, "unknown encoding 'rz'"),
            (
                {"n_qubits": 2, "q_depth": 2, "readout": "xx"},
                "unknown read-out 'xx'; known: probs, z, zz",
            ),
        ],
    )
    def test_rejects_bad_arguments(self, kwargs, message):
        with pytest.raises(ValueError, match=message):
            VariationalClassifierCircuit(**kwargs)

    def test_is_a_picklable_value(self):
        circuit = VariationalClassifierCircuit(3, 2, "basic", "rx", readout="z")
        assert pickle.loads(pickle.dumps(circuit)) == circuit
        assert circuit.__name__ == "VariationalClassifierCircuit"

    def test_gates_follow_the_description(self):
        circuit = VariationalClassifierCircuit(2, 1, "basic", "rx", identity_blocks=False)
        tape = qml.tape.make_qscript(circuit)(np.array([0.1, 0.2]), np.zeros((1, 2)))
        names = [op.name for op in tape.operations]
        assert names == ["AngleEmbedding", "BasicEntanglerLayers"]
        assert [m.obs.name for m in tape.measurements] == ["PauliZ", "PauliZ"]

    @pytest.mark.parametrize(
        ("encoding", "readout"),
        [("ry", np.cos), ("rx", np.cos), ("hadamard_ry", lambda x: -np.sin(x))],
    )
    def test_encodings_read_out_in_z(self, encoding, readout):
        # With zero weights the separable layers are the identity: <Z> is the encoding's.
        inputs = np.array([-1.2, 0.4, 2.0])
        circuit = VariationalClassifierCircuit(3, 2, "separable", encoding, identity_blocks=False)
        outputs = qml.QNode(circuit, qml.device("default.qubit", wires=3))(
            inputs, np.zeros((2, 3, 3))
        )
        np.testing.assert_allclose(outputs, readout(inputs), atol=1e-12)

    def test_only_the_hadamard_encoding_keeps_the_sign(self):
        device = qml.device("default.qubit", wires=1)
        for encoding, keeps in (("ry", False), ("rx", False), ("hadamard_ry", True)):
            circuit = VariationalClassifierCircuit(
                1, 1, "separable", encoding, identity_blocks=False
            )
            qnode = qml.QNode(circuit, device)
            plus, minus = (qnode(np.array([x]), np.zeros((1, 1, 3)))[0] for x in (0.7, -0.7))
            assert (abs(plus - minus) > 0.1) == keeps


class TestIdentityBlocks:
    def test_layers_then_their_mirror_in_reverse(self):
        circuit = VariationalClassifierCircuit(3, 2, "basic", "ry", identity_blocks=True)
        weights = np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]])
        mirror = np.array([[1.1, 1.2, 1.3], [1.4, 1.5, 1.6]])
        gates = gate_sequence(circuit, np.zeros(3), weights, mirror_weights=mirror)[3:]
        ring = [(0, 1), (1, 2), (2, 0)]
        names = [(g.name, tuple(g.wires), tuple(float(p) for p in g.parameters)) for g in gates]
        layer = [[("RX", (w,), (row[w],)) for w in range(3)] for row in weights]
        cnots = [("CNOT", pair, ()) for pair in ring]
        undo = [[("RX", (w,), (row[w],)) for w in range(3)] for row in mirror]
        assert names == [
            *layer[0], *cnots, *layer[1], *cnots,
            *cnots[::-1], *undo[1], *cnots[::-1], *undo[0],
        ]  # fmt: skip

    def test_entangles_once_away_from_the_identity(self):
        # The mirror of a one-layer unit would cancel its CNOTs whatever the angles: with
        # q_depth >= 2 a moved mirror layer sits between CNOTs, so input 1 reaches output 0.
        device = qml.device("default.qubit", wires=2)
        qnode = qml.QNode(VariationalClassifierCircuit(2, 2, identity_blocks=True), device)
        rng = np.random.default_rng(0)
        weights, mirror = rng.uniform(0, 2 * np.pi, (2, 2, 2, 3))
        first, second = (
            qnode(np.array([0.3, x]), weights, mirror_weights=mirror)[0] for x in (0.2, 1.4)
        )
        assert abs(first - second) > 1e-3

    @pytest.mark.parametrize(("q_depth", "reupload"), [(1, False), (2, True)])
    @pytest.mark.parametrize("blocks", [{}, {"identity_blocks": True}])
    def test_refuses_what_cannot_start_as_the_identity(self, q_depth, reupload, blocks):
        # The default has identity blocks: the message names the option that builds these.
        message = r"need q_depth >= 2 .*: build it with identity_blocks=False"
        with pytest.raises(ValueError, match=message):
            VariationalClassifierCircuit(2, q_depth, reupload=reupload, **blocks)
        VariationalClassifierCircuit(2, q_depth, reupload=reupload, identity_blocks=False)


class TestSeparable:
    @pytest.mark.parametrize(
        ("reupload", "identity_blocks"), [(False, False), (True, False), (False, True)]
    )
    def test_has_no_two_qubit_gate(self, reupload, identity_blocks):
        circuit = VariationalClassifierCircuit(
            4, 3, "separable", "hadamard_ry", reupload, identity_blocks
        )
        weights = np.random.default_rng(0).uniform(0, 2 * np.pi, (3, 4, 3))
        gates = gate_sequence(circuit, np.full(4, 0.3), weights, mirror_weights=weights)
        assert gates and all(len(gate.wires) == 1 for gate in gates)
        assert {gate.name for gate in gates} <= {"Hadamard", "RY", "Rot"}

    def test_same_rotations_as_the_entangling_layers(self):
        weights = np.random.default_rng(1).uniform(0, 2 * np.pi, (2, 3, 3))
        entangling, separable = (
            gate_sequence(
                VariationalClassifierCircuit(3, 2, kind, "ry", identity_blocks=False),
                np.zeros(3),
                weights,
            )
            for kind in ("strong", "separable")
        )
        rotations = [(op.name, op.wires, op.parameters) for op in entangling if op.name != "CNOT"]
        assert [(op.name, op.wires, op.parameters) for op in separable] == rotations
        assert any(op.name == "CNOT" for op in entangling)

    def test_outputs_are_per_wire(self):
        # No entanglement: changing input 0 changes output 0 alone.
        circuit = VariationalClassifierCircuit(3, 2, "separable", "hadamard_ry", False, False)
        qnode = qml.QNode(circuit, qml.device("default.qubit", wires=3))
        weights = np.random.default_rng(2).uniform(0, 2 * np.pi, (2, 3, 3))
        first = np.array(qnode(np.array([0.1, 0.5, -0.4]), weights))
        second = np.array(qnode(np.array([1.3, 0.5, -0.4]), weights))
        assert abs(first[0] - second[0]) > 1e-3
        np.testing.assert_allclose(first[1:], second[1:], atol=1e-12)


class TestDataReuploading:
    def test_encodes_before_every_layer(self):
        circuit = VariationalClassifierCircuit(3, 3, "strong", "ry", True, False)
        tape = qml.tape.make_qscript(circuit)(np.full(3, 0.1), np.zeros((3, 3, 3)))
        names = [op.name for op in tape.operations]
        assert names == ["AngleEmbedding", "StronglyEntanglingLayers"] * 3

    @pytest.mark.parametrize(
        ("n_qubits", "entangler"), [(1, "strong"), (4, "strong"), (3, "basic")]
    )
    def test_layers_are_those_of_the_whole_template(self, n_qubits, entangler):
        # With zero inputs every encoding is the identity, so re-uploading changes nothing: a
        # layer with another CNOT range than the whole template's would show here.
        depth = 4
        weights = np.random.default_rng(0).uniform(0, 2 * np.pi, (depth, n_qubits, 3))
        weights = weights if entangler == "strong" else weights[..., 0]
        device = qml.device("default.qubit", wires=n_qubits)
        outputs = []
        for reupload in (False, True):
            circuit = VariationalClassifierCircuit(
                n_qubits, depth, entangler, "ry", reupload, identity_blocks=False
            )
            outputs.append(qml.QNode(circuit, device)(np.zeros(n_qubits), weights))
        np.testing.assert_allclose(outputs[0], outputs[1], atol=1e-12)

    def test_reuploading_changes_the_function_of_the_inputs(self):
        weights = np.random.default_rng(1).uniform(0, 2 * np.pi, (2, 3, 3))
        inputs = np.array([0.3, -0.7, 1.1])
        device = qml.device("default.qubit", wires=3)
        once, twice = (
            qml.QNode(
                VariationalClassifierCircuit(3, 2, "strong", "ry", r, identity_blocks=False),
                device,
            )(inputs, weights)
            for r in (False, True)
        )
        assert np.abs(np.array(once) - np.array(twice)).max() > 1e-3


class TestQuanvolutionFilterCircuit:
    def test_one_qubit_per_pixel(self):
        assert QuanvolutionFilterCircuit(kernel_size=3).n_qubits == 9
        assert QuanvolutionFilterCircuit(kernel_size=2).n_outputs == 4
        assert QuanvolutionFilterCircuit().weight_shapes == {}

    def test_random_weights_are_fixed_by_the_seed(self):
        first = QuanvolutionFilterCircuit(2, n_layers=2, seed=5).random_weights
        again = QuanvolutionFilterCircuit(2, n_layers=2, seed=5).random_weights
        other = QuanvolutionFilterCircuit(2, n_layers=2, seed=6).random_weights
        assert first.shape == (2, 4)
        np.testing.assert_array_equal(first, again)
        assert not np.allclose(first, other)
        assert ((first >= 0) & (first < 2 * np.pi)).all()

    @pytest.mark.parametrize("kwargs", [{"kernel_size": 0}, {"n_layers": 0}])
    def test_rejects_bad_arguments(self, kwargs):
        with pytest.raises(ValueError):
            QuanvolutionFilterCircuit(**kwargs)

    def test_encodes_pixels_as_ry_of_pi_x(self):
        """A white pixel (x=1) is RY(pi): it flips |0> to |1>, <Z> = -1 before the filter."""
        circuit = QuanvolutionFilterCircuit(2, seed=0)
        tape = qml.tape.make_qscript(circuit)(np.array([1.0, 0.0, 0.5, 0.25]))
        embedding = tape.operations[0].decomposition()
        np.testing.assert_allclose(
            [op.parameters[0] for op in embedding], np.pi * np.array([1.0, 0.0, 0.5, 0.25])
        )
        assert all(op.name == "RY" for op in embedding)


class TestRegisteredParts:
    def test_layers_are_the_whole_templates_gates(self):
        # Layer by layer, the built-ins emit the gates of today's whole template, so the
        # weights of old checkpoints give the same outputs.
        weights = np.random.default_rng(2).uniform(0, 2 * np.pi, (5, 4, 3))
        circuit = VariationalClassifierCircuit(4, 5, "strong", "ry", identity_blocks=False)
        gates = gate_sequence(circuit, np.zeros(4), weights)[4:]
        whole = qml.StronglyEntanglingLayers(weights, wires=range(4)).decomposition()
        assert [(g.name, g.wires, g.parameters) for g in gates] == [
            (g.name, g.wires, g.parameters) for g in whole
        ]

    @pytest.mark.parametrize("n_wires", [1, 2, 3, 4])
    def test_every_mirror_undoes_its_layer(self, custom_entanglers, n_wires):
        wires = qml.wires.Wires(range(n_wires))
        rng = np.random.default_rng(n_wires)
        for name in ENTANGLERS:
            entangler = ENTANGLERS.get(name)
            if n_wires < entangler.min_wires:
                continue
            weights = torch.as_tensor(rng.uniform(0, 2 * np.pi, entangler.shape(3, n_wires)))
            mirror = entangler.inverse_weights(weights)
            for index in range(3):
                gates = entangler.layer(weights[index], index, wires)
                gates += entangler.mirror(mirror[index], index, wires)
                matrix = qml.matrix(qml.tape.QuantumScript(gates), wire_order=wires)
                np.testing.assert_allclose(matrix, np.eye(2**n_wires), atol=1e-12, err_msg=name)

    def test_an_entangler_below_its_wires_is_refused(self, custom_entanglers):
        with pytest.raises(ValueError, match="'cz_ring' needs at least 2 qubits"):
            VariationalClassifierCircuit(1, 2, "cz_ring")

    def test_an_encoding_and_a_readout_registered_outside_the_package(self):
        @ENCODINGS.register("rz_plus")
        class RZPlus(Encoding):
            def operations(self, inputs, wires):
                return [qml.Hadamard(w) for w in wires] + [
                    qml.AngleEmbedding(inputs, wires=wires, rotation="Z")
                ]

        @READOUTS.register("x_first")
        class XFirst(Readout):
            def n_outputs(self, n_qubits):
                return 1

            def measurements(self, wires):
                return [qml.expval(qml.PauliX(wires[0]))]

        try:
            circuit = VariationalClassifierCircuit(
                2, 1, "separable", "rz_plus", identity_blocks=False, readout="x_first"
            )
            assert circuit.n_outputs == 1
            qnode = qml.QNode(circuit, qml.device("default.qubit", wires=2))
            (value,) = np.atleast_1d(qnode(np.array([0.4, 1.0]), np.zeros((1, 2, 3))))
            assert value == pytest.approx(np.cos(0.4), abs=1e-12)  # <X> after H, RZ(x)
            # The torch backend runs what the circuit emits: the new encoding, but not an X
            # read-out, which it refuses by name when asked for, never running another one.
            with pytest.raises(ValueError, match=r"measurement expval\(X\(0\)\)"):
                make_layer(circuit, make_device("torch", 2), init="uniform")
            with pytest.warns(UserWarning, match=r"expval\(X\(0\)\)"):
                fallback = make_layer(circuit, init="uniform")
            with torch.no_grad():
                fallback.weights.zero_()
                (value,) = fallback(torch.tensor([0.4, 1.0])).tolist()
            assert value == pytest.approx(np.cos(0.4), abs=1e-6)
        finally:
            ENCODINGS.unregister("rz_plus")
            READOUTS.unregister("x_first")

    def test_a_part_must_be_of_its_kind_and_named_once(self):
        with pytest.raises(ValueError, match="is not a Entangler; subclass"):
            ENTANGLERS.register("nothing")(object)
        with pytest.raises(ValueError, match="entangler 'strong' is already registered"):
            ENTANGLERS.register("strong")(Entangler)
        assert "nothing" not in ENTANGLERS
