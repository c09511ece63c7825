"""What a circuit emits: its gates, which input or weight feeds each gate parameter, and its
measurements, read off by calling it.

`trace_circuit` calls the circuit twice under PennyLane's queuing, with float64 inputs
``(2, n_qubits)`` (two samples, so that a parameter mixing samples shows) and weights that
require grad, at two seeded random points. Templates are decomposed (PennyLane's own
``decomposition``) until every gate is one the backend runs. Each gate parameter is written as
an affine function ``bias + inputs @ input_coef + weights @ weight_coef`` of its own sample's
inputs and the flat weights, its coefficients read by autograd at the first point; the second
call must emit the same gates, wires and measurements, with parameters equal to that affine
prediction. Anything else is refused with `UnsupportedCircuit`, naming the gate, parameter or
measurement.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pennylane as qml
import torch
from pennylane.measurements import ExpectationMP, MeasurementProcess, ProbabilityMP

from hqnn_lightning.quantum.circuits import QuantumCircuit
from hqnn_lightning.quantum.statevector.gates import MAX_FIXED_WIRES, VARIABLE_GATES, bit_positions

IGNORED = ("Identity", "GlobalPhase", "Barrier", "Snapshot")
"""Operations that change no probability: dropped."""
TRACE_SEED = 20251
"""Seed of the two random points the circuit is traced at."""
AFFINE_TOLERANCE = 1e-9
"""Largest ``|parameter - affine prediction| / (1 + |parameter|)`` at the second point."""


class UnsupportedCircuit(ValueError):
    """The torch state-vector backend cannot run this circuit; the message says why, in one
    line."""


@dataclass(frozen=True)
class Parameter:
    """A gate parameter: ``bias + inputs @ input_coef + weights @ weight_coef``.

    Args:
        bias: Constant part (radians).
        input_coef: ``(n_qubits,)`` coefficients of the sample's own inputs.
        weight_coef: ``(n_weights,)`` coefficients of the flat weights.
    """

    bias: float
    input_coef: np.ndarray
    weight_coef: np.ndarray

    @cached_property
    def uses_inputs(self) -> bool:
        return bool(np.any(self.input_coef))

    @cached_property
    def uses_weights(self) -> bool:
        return bool(np.any(self.weight_coef))

    @cached_property
    def is_constant(self) -> bool:
        return not (self.uses_inputs or self.uses_weights)


@dataclass(frozen=True)
class TracedGate:
    """A gate the circuit emits: its name, wires and parameters, and its matrix (``(2^k,
    2^k)`` complex, wires in order) when no parameter varies."""

    name: str
    wires: tuple[int, ...]
    parameters: tuple[Parameter, ...]
    matrix: np.ndarray | None

    @cached_property
    def uses_inputs(self) -> bool:
        return any(p.uses_inputs for p in self.parameters)

    @cached_property
    def uses_weights(self) -> bool:
        return any(p.uses_weights for p in self.parameters)

    def describe(self) -> str:
        return f"{self.name} on wires {list(self.wires)}"


@dataclass(frozen=True)
class TracedCircuit:
    """Gates in order, and the read-out ``(2^n, n_outputs)``: outputs are the probabilities
    of the basis states times it; ``squeeze`` for a circuit returning one bare ``expval``."""

    n_qubits: int
    n_weights: int
    gates: tuple[TracedGate, ...]
    readout: np.ndarray
    squeeze: bool


def _describe(circuit: QuantumCircuit) -> str:
    return f"the torch state-vector backend cannot run {type(circuit).__name__}"


def primitive_gates(op: qml.operation.Operator, prefix: str) -> Iterator[qml.operation.Operator]:
    """``op`` decomposed until every gate is one the backend keeps whole."""
    if op.name in IGNORED:
        return
    small = len(op.wires) <= MAX_FIXED_WIRES
    if op.name in VARIABLE_GATES or (op.num_params == 0 and op.has_matrix and small):
        yield op
    elif op.has_decomposition:
        for child in op.decomposition():
            yield from primitive_gates(child, prefix)
    elif op.has_matrix and small:
        yield op
    else:
        raise UnsupportedCircuit(f"{prefix}: it has no matrix or decomposition for {op.name}")


def record(circuit: QuantumCircuit, inputs: torch.Tensor, weights: dict[str, torch.Tensor]):
    """Calls ``circuit`` under queuing: its primitive gates and its returned measurements."""
    prefix = _describe(circuit)
    with qml.queuing.AnnotatedQueue() as queue:
        result = circuit(inputs, **weights)
    tape = qml.tape.QuantumScript.from_queue(queue)
    single = isinstance(result, MeasurementProcess)
    measurements = [result] if single else result
    if not isinstance(measurements, (list, tuple)) or not all(
        isinstance(m, MeasurementProcess) for m in measurements
    ):
        raise UnsupportedCircuit(f"{prefix}: it returns {result!r}, not measurements")
    gates = [gate for op in tape.operations for gate in primitive_gates(op, prefix)]
    return gates, list(measurements), single


def _wires(wires: Any, n_qubits: int, what: str, prefix: str) -> tuple[int, ...]:
    labels = tuple(wires)
    if not all(isinstance(w, (int, np.integer)) and 0 <= w < n_qubits for w in labels):
        raise UnsupportedCircuit(f"{prefix}: {what} acts on wires {list(labels)}, not 0..n-1")
    return tuple(int(w) for w in labels)


def measurement_columns(measurement: MeasurementProcess, n_qubits: int, prefix: str) -> np.ndarray:
    """``(2^n, k)``: the measurement's ``k`` outputs as functions of the probabilities."""
    obs = measurement.obs
    if isinstance(measurement, ProbabilityMP) and obs is None and measurement.mv is None:
        wires = _wires(measurement.wires, n_qubits, str(measurement), prefix) or tuple(
            range(n_qubits)
        )
        index = bit_positions(wires, n_qubits)
        return (index[:, None] == np.arange(2 ** len(wires))).astype(float)
    if isinstance(measurement, ExpectationMP) and obs is not None:
        data = [d for d in obs.data if isinstance(d, torch.Tensor) and d.requires_grad]
        if data:
            raise UnsupportedCircuit(f"{prefix}: the observable of {measurement} is trained")
        if not obs.diagonalizing_gates():
            wires = _wires(obs.wires, n_qubits, str(measurement), prefix)
            eigvals = np.real(np.asarray(qml.math.to_numpy(obs.eigvals()), dtype=complex))
            return eigvals[bit_positions(wires, n_qubits)][:, None]
    raise UnsupportedCircuit(
        f"{prefix}: measurement {measurement} is not expval of a diagonal observable (Z, Z@Z, "
        "sums of them) or probs"
    )


def _gradient(value: torch.Tensor, variables: list[torch.Tensor]) -> list[torch.Tensor]:
    grads = torch.autograd.grad(value, variables, retain_graph=True, allow_unused=True)
    return [torch.zeros_like(v) if g is None else g for v, g in zip(variables, grads, strict=True)]


def affine_parameter(
    value: Any, inputs: torch.Tensor, weights: list[torch.Tensor], where: str
) -> Parameter:
    """``value`` (a gate parameter at ``inputs`` ``(2, n)``, ``weights``) as a `Parameter`.

    A traced parameter is a scalar that no input feeds, or one entry per sample fed by that
    sample's inputs alone, with the same coefficients for both.
    """
    n_weights = sum(w.numel() for w in weights)
    if not (isinstance(value, torch.Tensor) and value.requires_grad):
        array = np.asarray(qml.math.to_numpy(value), dtype=float).reshape(-1)
        if array.size != 1:
            raise UnsupportedCircuit(f"{where} has a constant of shape {np.shape(array)}")
        return Parameter(float(array[0]), np.zeros(inputs.shape[1]), np.zeros(n_weights))
    if value.numel() not in (1, 2):
        raise UnsupportedCircuit(f"{where} has shape {tuple(value.shape)}: one value per sample")
    samples = []
    for entry in value.reshape(-1):
        grad_in, *grad_w = _gradient(entry, [inputs, *weights])
        flat_w = torch.cat([g.reshape(-1) for g in grad_w]) if grad_w else grad_in.new_zeros(0)
        samples.append((entry.detach(), grad_in, flat_w))
    if value.numel() == 1 and samples[0][1].abs().sum() > 0:
        raise UnsupportedCircuit(f"{where} is one value for the whole batch but reads inputs")
    flat_weights = torch.cat([w.detach().reshape(-1) for w in weights]) if weights else None
    found = []
    for b, (entry, grad_in, grad_w) in enumerate(samples):
        if grad_in[1 - b].abs().sum() > 0:
            raise UnsupportedCircuit(f"{where} mixes the samples of a batch")
        bias = entry - (grad_in[b] * inputs[b].detach()).sum()
        if flat_weights is not None:
            bias = bias - (grad_w * flat_weights).sum()
        found.append((bias, grad_in[b], grad_w))
    (bias, own, grad_w), *others = found
    if any(
        not (
            torch.equal(own, o)
            and torch.equal(grad_w, w)
            and torch.isclose(bias, b, rtol=0, atol=AFFINE_TOLERANCE)
        )
        for b, o, w in others
    ):
        if not any(o.abs().sum() > 0 for _, o, _ in found):
            raise UnsupportedCircuit(f"{where} has shape {tuple(value.shape)}: not one per sample")
        raise UnsupportedCircuit(f"{where} is not an affine function of the inputs and weights")
    return Parameter(float(bias), own.numpy(), grad_w.numpy())


def _point(circuit: QuantumCircuit, generator: torch.Generator):
    def draw(*shape: int) -> torch.Tensor:
        values = torch.rand(*shape, generator=generator, dtype=torch.float64) * 2 - 1
        return (values * torch.pi).requires_grad_()

    inputs = draw(2, circuit.n_qubits)
    weights = {name: draw(*shape) for name, shape in circuit.weight_shapes.items()}
    return inputs, weights


def _signature(gates: list[qml.operation.Operator]) -> list[tuple]:
    return [(g.name, tuple(g.wires), tuple(np.shape(p) for p in g.parameters)) for g in gates]


def _check_prediction(
    parameter: Parameter, value: Any, inputs: torch.Tensor, weights: np.ndarray, where: str
) -> None:
    """Refuses ``parameter`` unless it predicts ``value``, its value at the second point."""
    if isinstance(value, torch.Tensor):
        value = value.detach()
    actual = np.asarray(qml.math.to_numpy(value), dtype=float).reshape(-1)
    predicted = parameter.bias + weights @ parameter.weight_coef
    if actual.size == 2:
        predicted = predicted + inputs.detach().numpy() @ parameter.input_coef
    if np.any(np.abs(actual - predicted) > AFFINE_TOLERANCE * (1 + np.abs(actual))):
        raise UnsupportedCircuit(f"{where} is not an affine function of the inputs and weights")


def _constant_matrix(gate: qml.operation.Operator) -> np.ndarray:
    matrix = gate.matrix()
    if isinstance(matrix, torch.Tensor):
        matrix = matrix.detach()
    matrix = np.asarray(qml.math.to_numpy(matrix), dtype=complex)
    return matrix[0] if matrix.ndim == 3 else matrix


def _flat(weights: dict[str, torch.Tensor]) -> np.ndarray:
    return np.concatenate([w.detach().numpy().reshape(-1) for w in weights.values()] + [[]])


def trace_circuit(circuit: QuantumCircuit) -> TracedCircuit:
    """The gates, parameters and read-out ``circuit`` emits (see the module's docstring).

    Raises:
        UnsupportedCircuit: a gate, parameter or measurement the backend cannot run.
    """
    prefix = _describe(circuit)
    n = circuit.n_qubits
    generator = torch.Generator().manual_seed(TRACE_SEED)
    points = [_point(circuit, generator) for _ in range(2)]
    (gates, measurements, single), (again, measurements_again, single_again) = (
        record(circuit, inputs, weights) for inputs, weights in points
    )
    readout = np.concatenate([measurement_columns(m, n, prefix) for m in measurements], 1)
    readout_again = [measurement_columns(m, n, prefix) for m in measurements_again]
    if (
        _signature(gates) != _signature(again)
        or single != single_again
        or not np.array_equal(readout, np.concatenate(readout_again, 1))
    ):
        raise UnsupportedCircuit(
            f"{prefix}: its gates or measurements change with the values of its inputs or weights"
        )
    (inputs, weights), (inputs_again, weights_again) = points
    traced = []
    for gate, gate_again in zip(gates, again, strict=True):
        wires = _wires(gate.wires, n, gate.name, prefix)
        parameters = []
        for position, (value, value_again) in enumerate(
            zip(gate.parameters, gate_again.parameters, strict=True)
        ):
            where = f"{prefix}: parameter {position} of {gate.name} on wires {list(wires)}"
            parameter = affine_parameter(value, inputs, list(weights.values()), where)
            _check_prediction(parameter, value_again, inputs_again, _flat(weights_again), where)
            parameters.append(parameter)
        varies = not all(p.is_constant for p in parameters)
        if varies and gate.name not in VARIABLE_GATES:
            raise UnsupportedCircuit(
                f"{prefix}: gate {gate.name} has parameters from the inputs or weights, and "
                f"no torch formula (it runs {', '.join(VARIABLE_GATES)} so)"
            )
        matrix = None if varies else _constant_matrix(gate)
        traced.append(TracedGate(gate.name, wires, tuple(parameters), matrix))
    n_weights = sum(w.numel() for w in weights.values())
    squeeze = single and isinstance(measurements[0], ExpectationMP)
    return TracedCircuit(n, n_weights, tuple(traced), readout, squeeze)
