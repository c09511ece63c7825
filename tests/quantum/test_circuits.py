import pickle

import numpy as np
import pennylane as qml
import pytest

from hqnn_lightning.quantum import QuanvolutionFilterCircuit, VariationalClassifierCircuit


class TestVariationalClassifierCircuit:
    @pytest.mark.parametrize(("entangler", "shape"), [("strong", (3, 4, 3)), ("basic", (3, 4))])
    def test_weight_shapes(self, entangler, shape):
        circuit = VariationalClassifierCircuit(n_qubits=4, q_depth=3, entangler=entangler)
        assert circuit.weight_shapes == {"weights": shape}
        assert circuit.n_outputs == 4

    @pytest.mark.parametrize(
        ("kwargs", "message"),
        [
            ({"n_qubits": 0, "q_depth": 1}, "n_qubits"),
            ({"n_qubits": 2, "q_depth": 0}, "q_depth"),
            ({"n_qubits": 2, "q_depth": 1, "entangler": "cnot"}, "unknown entangler 'cnot'"),
            ({"n_qubits": 2, "q_depth": 1, "rotation": "Z"}, "rotation"),
        ],
    )
    def test_rejects_bad_arguments(self, kwargs, message):
        with pytest.raises(ValueError, match=message):
            VariationalClassifierCircuit(**kwargs)

    def test_is_a_picklable_value(self):
        circuit = VariationalClassifierCircuit(3, 2, "basic", "X")
        assert pickle.loads(pickle.dumps(circuit)) == circuit
        assert circuit.__name__ == "VariationalClassifierCircuit"

    def test_gates_follow_the_description(self):
        circuit = VariationalClassifierCircuit(2, 1, "basic", "X")
        tape = qml.tape.make_qscript(circuit)(np.array([0.1, 0.2]), np.zeros((1, 2)))
        names = [op.name for op in tape.operations]
        assert names == ["AngleEmbedding", "BasicEntanglerLayers"]
        assert [m.obs.name for m in tape.measurements] == ["PauliZ", "PauliZ"]


class TestDataReuploading:
    def test_encodes_before_every_layer(self):
        circuit = VariationalClassifierCircuit(3, 3, "strong", "Y", reupload=True)
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
            circuit = VariationalClassifierCircuit(n_qubits, depth, entangler, "Y", reupload)
            outputs.append(qml.QNode(circuit, device)(np.zeros(n_qubits), weights))
        np.testing.assert_allclose(outputs[0], outputs[1], atol=1e-12)

    def test_reuploading_changes_the_function_of_the_inputs(self):
        weights = np.random.default_rng(1).uniform(0, 2 * np.pi, (2, 3, 3))
        inputs = np.array([0.3, -0.7, 1.1])
        device = qml.device("default.qubit", wires=3)
        once, twice = (
            qml.QNode(VariationalClassifierCircuit(3, 2, reupload=r), device)(inputs, weights)
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
