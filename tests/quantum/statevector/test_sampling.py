"""Finite shots on the torch state-vector backend, checked as distributions against
PennyLane's ``default.qubit`` with the same shots, and the exact path left as it was."""

from __future__ import annotations

import copy
import math

import pennylane as qml
import pytest
import torch
from scipy import stats

from hqnn_lightning.quantum import (
    ExpansionQuanvolution,
    QuanvolutionFilterCircuit,
    TorchStatevectorLayer,
    VariationalClassifierCircuit,
    make_device,
    make_layer,
)
from hqnn_lightning.quantum.statevector.sampling import sampled_frequencies

SHOTS = 64
REPEATS = 400
MEAN_SE = 4.5  # a mean within 4.5 standard errors; the seeds are fixed, so it never flakes
CHI2_TAIL = 1e-5  # each variance within the chi-square distribution's central 1 - 2e-5
# (n_qubits, q_depth, entangler, encoding, read-out): every read-out, encoding and entangler.
CIRCUITS = [
    (1, 1, "separable", "ry", "z"),
    (2, 1, "strong", "hadamard_ry", "z"),
    (3, 2, "basic", "rx", "z"),
    (2, 2, "basic", "ry", "zz"),
    (3, 1, "strong", "rx", "zz"),
    (4, 1, "separable", "hadamard_ry", "zz"),
    (1, 2, "strong", "hadamard_ry", "probs"),
    (3, 1, "separable", "ry", "probs"),
    (4, 2, "strong", "rx", "probs"),
]


def sampling_layer(circuit, shots: int, seed: int = 0) -> TorchStatevectorLayer:
    device = make_device("torch", circuit.n_qubits, shots=shots, seed=seed)
    return make_layer(circuit, device, init="uniform")


def default_qubit_estimates(circuit, weights, inputs: torch.Tensor, seed: int) -> torch.Tensor:
    """``(R, n)`` inputs -> ``(R, n_outputs)`` estimates of ``default.qubit`` with `SHOTS`
    (each row of the broadcast batch sampled on its own)."""
    device = qml.device("default.qubit", wires=circuit.n_qubits, seed=seed)
    qnode = qml.set_shots(qml.QNode(circuit, device, interface="torch"), shots=SHOTS)
    results = qnode(inputs, **weights)
    return torch.cat([result.reshape(len(inputs), -1) for result in results], 1)


def single_shot_variance(circuit, exact: torch.Tensor) -> torch.Tensor:
    """The variance of one shot's value: ``p (1 - p)`` of a probability, ``1 - <P>^2`` of a
    Pauli product's expectation value."""
    if circuit.readout == "probs":
        return exact * (1 - exact)
    return 1 - exact.square()


def check_distribution(estimates: torch.Tensor, exact: torch.Tensor, variance: torch.Tensor):
    """``(R, m)`` estimates of ``S``-shot values: each output's mean within `MEAN_SE` standard
    errors of the exact value, and, where ``S`` times the single-shot variance is at least 5
    (outcomes frequent enough for the chi-square approximation), its sample variance within the
    chi-square bounds of ``variance / S``; an output with no variance never varies."""
    repeats = len(estimates)
    standard_error = (variance / SHOTS / repeats).sqrt()
    assert ((estimates.mean(0) - exact).abs() <= MEAN_SE * standard_error + 1e-12).all()
    low, high = stats.chi2.ppf([CHI2_TAIL, 1 - CHI2_TAIL], repeats - 1)
    ratio = (repeats - 1) * estimates.var(0) / (variance / SHOTS)
    normal = SHOTS * variance >= 5
    assert ((ratio[normal] >= low) & (ratio[normal] <= high)).all(), ratio[normal]
    assert (estimates[:, variance == 0] == exact[variance == 0]).all()


class TestAgainstDefaultQubit:
    @pytest.mark.parametrize("index", range(len(CIRCUITS)))
    def test_estimates_match_default_qubit_as_distributions(self, index):
        n_qubits, depth, entangler, encoding, readout = CIRCUITS[index]
        circuit = VariationalClassifierCircuit(
            n_qubits, depth, entangler, encoding, identity_blocks=False, readout=readout
        )
        torch.manual_seed(index)
        exact_layer = make_layer(circuit, "torch", init="uniform")
        weights = {name: value.detach() for name, value in exact_layer.named_parameters()}
        inputs = (torch.rand(n_qubits, dtype=torch.float64) * math.pi).expand(REPEATS, -1)
        layer = sampling_layer(circuit, SHOTS, seed=index)
        layer.load_state_dict(exact_layer.state_dict())
        with torch.no_grad():
            exact = exact_layer(inputs[:1])[0]
            ours = layer(inputs)
        theirs = default_qubit_estimates(circuit, weights, inputs, seed=index)
        variance = single_shot_variance(circuit, exact).clamp(min=0)
        check_distribution(ours, exact, variance)
        check_distribution(theirs, exact, variance)
        pooled = (2 * variance / SHOTS / REPEATS).sqrt()
        assert ((ours.mean(0) - theirs.mean(0)).abs() <= MEAN_SE * pooled + 1e-12).all()
        varies = SHOTS * variance >= 5
        low, high = stats.f.ppf([CHI2_TAIL, 1 - CHI2_TAIL], REPEATS - 1, REPEATS - 1)
        ratio = ours.var(0)[varies] / theirs.var(0)[varies]
        assert ((ratio >= low) & (ratio <= high)).all(), ratio


class TestSampling:
    @pytest.fixture
    def circuit(self):
        return VariationalClassifierCircuit(3, 2, identity_blocks=False, readout="probs")

    def test_frequencies_count_whole_shots(self):
        generator = torch.Generator().manual_seed(0)
        probabilities = torch.softmax(torch.randn(5, 8, dtype=torch.float64), 1)
        frequencies = sampled_frequencies(probabilities, 10, generator)
        counts = frequencies * 10
        assert torch.equal(counts, counts.round())
        assert torch.equal(counts.sum(1), torch.full((5,), 10.0, dtype=torch.float64))
        assert (frequencies[probabilities == 0] == 0).all()

    def test_the_same_seed_gives_the_same_estimates(self, circuit):
        inputs = torch.rand(6, 3)
        torch.manual_seed(0)
        first, same, other = (sampling_layer(circuit, 100, seed) for seed in (1, 1, 2))
        same.load_state_dict(first.state_dict())
        other.load_state_dict(first.state_dict())
        with torch.no_grad():
            estimates = first(inputs)
            assert torch.equal(estimates, same(inputs))
            assert not torch.equal(estimates, other(inputs))
            assert not torch.equal(estimates, first(inputs)), "each batch draws new samples"

    def test_a_copy_continues_the_same_stream(self, circuit):
        layer = sampling_layer(circuit, 50)
        inputs = torch.rand(4, 3)
        with torch.no_grad():
            layer(inputs)
            twin = copy.deepcopy(layer)
            assert torch.equal(layer(inputs), twin(inputs))

    def test_gradients_are_refused(self, circuit):
        layer = sampling_layer(circuit, 100)
        with pytest.raises(
            RuntimeError, match=r"shots=100 on the torch backend are samples without a gradient"
        ):
            layer(torch.rand(2, 3))

    def test_the_expansion_is_not_used_with_shots(self):
        circuit = QuanvolutionFilterCircuit(2, 1, 0)
        assert isinstance(make_layer(circuit, "torch"), ExpansionQuanvolution)
        layer = make_layer(circuit, make_device("torch", 4, shots=10), init="uniform")
        assert isinstance(layer, TorchStatevectorLayer)
        with torch.no_grad():
            halves = layer(torch.rand(3, 4)) * 10 / 2  # <Z> = 2 n_0 / S - 1
        assert torch.allclose(halves, halves.round(), atol=1e-5)


class TestExactPath:
    def test_no_shots_reads_out_the_exact_probabilities(self):
        circuit = VariationalClassifierCircuit(3, 2, readout="zz")
        layer = make_layer(circuit, "torch", init="uniform")
        inputs = torch.rand(5, 3, dtype=torch.float64)
        simulator = layer.simulator
        weights = layer.weights_vector().detach().double()
        with torch.no_grad():
            outputs = layer(inputs)
            probabilities = simulator.probabilities(inputs, weights)
        readout = torch.as_tensor(simulator.program.readout, dtype=torch.float64)
        assert torch.equal(outputs, probabilities @ readout)
        assert layer.generator is None


class TestDeviceOptions:
    def test_seed_needs_shots(self):
        with pytest.raises(ValueError, match=r"torch takes no device options \(seed: with shots"):
            make_device("torch", 2, seed=1)

    @pytest.mark.parametrize("seed", [-1, 1.5, True, 2**63])
    def test_a_bad_seed_is_refused(self, seed):
        with pytest.raises(ValueError, match="seed must be an integer from 0 to 2\\*\\*63 - 1"):
            make_device("torch", 2, shots=10, seed=seed)

    def test_shots_take_no_gradient(self):
        assert make_device("torch", 2, shots=10).diff_method == "none"
        with pytest.raises(ValueError, match="diff_method='backprop' needs exact"):
            make_device("torch", 2, shots=10, diff_method="backprop")
        with pytest.raises(ValueError, match="diff_method='none' is torch's sampling with shots"):
            make_device("torch", 2, diff_method="none")
