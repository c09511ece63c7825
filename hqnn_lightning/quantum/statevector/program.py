"""Circuits compiled, from the operations they emit, into programs for the torch state-vector
simulator.

`compile_circuit` traces the circuit (`tracing.trace_circuit`: its gates, each parameter an
affine function of the inputs and weights, its read-out) and arranges the gates for the
simulator:

- the *encoding*: on each wire, the single-qubit gates that no weight feeds and that come
  before any other gate on that wire. They make a product state, one 2-vector per wire and
  sample, whatever the gates are (``RY``, a Hadamard then ``RY``, ``RX``, constants);
- the *body*: every other gate, in order, grouped into layers. A layer is one 2 x 2 matrix per
  wire (the product of that wire's single-qubit gates) followed by steps: runs of constant
  gates that permute basis states up to phases (``CNOT``, ``CZ``, ``SWAP``, ``Toffoli``)
  composed into one permutation, and dense gates (``CRX``, ``IsingZZ``, a constant 2-qubit
  matrix) applied on their wires. A single-qubit gate joins the current layer unless a step
  of that layer touched its wire: the gates it moves ahead of act on other wires.

Nothing of the circuit but ``n_qubits``, ``weight_shapes`` and what ``__call__`` queues is
read, so a subclass, or a circuit written from scratch, compiles as it runs in a QNode.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from hqnn_lightning.quantum.circuits import QuantumCircuit
from hqnn_lightning.quantum.statevector.gates import full_monomial, monomial
from hqnn_lightning.quantum.statevector.tracing import TracedCircuit, TracedGate, trace_circuit


@dataclass(frozen=True, eq=False)
class Step:
    """After a layer's single-qubit gates: a permutation up to phases of the basis states,
    ``new[:, t] = phase[t] * state[:, source[t]]`` (``phase`` ``None`` for all ones), or the
    dense gate ``gate`` (an index into the program's gates)."""

    source: np.ndarray | None = None
    phase: np.ndarray | None = None
    gate: int | None = None


@dataclass(frozen=True, eq=False)
class Layer:
    """Per wire, the single-qubit gates (indices, in order) of the layer; then its steps."""

    singles: tuple[tuple[int, ...], ...]
    steps: tuple[Step, ...]


@dataclass(frozen=True, eq=False)
class StatevectorProgram:
    """A compiled circuit (see the module's docstring).

    Args:
        n_qubits: Number of wires and of input features.
        n_weights: Length of the flat weight vector (the circuit's weights in
            ``weight_shapes`` order, flattened).
        gates: Every gate the circuit emits, in order.
        encoding: Per wire, the indices of its encoding gates, in order.
        body: The indices of the other gates, in order.
        layers: The body arranged for the simulator.
        readout: ``(2^n, n_outputs)``: the outputs are the basis states' probabilities times it.
        squeeze: The circuit returns one bare expectation value: ``(B,)`` rather than ``(B, 1)``.
    """

    n_qubits: int
    n_weights: int
    gates: tuple[TracedGate, ...]
    encoding: tuple[tuple[int, ...], ...]
    body: tuple[int, ...]
    layers: tuple[Layer, ...]
    readout: np.ndarray
    squeeze: bool

    @property
    def n_outputs(self) -> int:
        """Number of output columns."""
        return self.readout.shape[1]

    @cached_property
    def reencodes(self) -> bool:
        """Whether inputs feed a gate of the body (data re-uploading): no unitary is shared by
        the batch."""
        return any(self.gates[i].uses_inputs for i in self.body)


def split_encoding(
    gates: tuple[TracedGate, ...], n_qubits: int
) -> tuple[tuple[tuple[int, ...], ...], tuple[int, ...]]:
    """``(encoding per wire, body)``: a single-qubit gate that no weight feeds is encoding
    while no other gate has touched its wire."""
    closed: set[int] = set()
    encoding: list[list[int]] = [[] for _ in range(n_qubits)]
    body = []
    for index, gate in enumerate(gates):
        if len(gate.wires) == 1 and not gate.uses_weights and gate.wires[0] not in closed:
            encoding[gate.wires[0]].append(index)
        else:
            body.append(index)
            closed.update(gate.wires)
    return tuple(tuple(wire) for wire in encoding), tuple(body)


def _step(gate: TracedGate, index: int, previous: Step | None, n_qubits: int) -> list[Step]:
    """The steps that replace ``previous`` once ``gate`` is added: one permutation when both
    permute basis states."""
    found = None if gate.matrix is None else monomial(gate.matrix)
    if found is None:
        return [s for s in (previous, Step(gate=index)) if s is not None]
    source, phase = full_monomial(*found, gate.wires, n_qubits)
    if previous is not None and previous.source is not None:
        before = np.ones(len(source)) if previous.phase is None else previous.phase
        phase, source = phase * before[source], previous.source[source]
    step = Step(source, None if np.allclose(phase, 1, rtol=0, atol=1e-15) else phase)
    if previous is None or previous.source is not None:
        return [step]
    return [previous, step]


def group_layers(
    gates: tuple[TracedGate, ...], body: tuple[int, ...], n_qubits: int
) -> tuple[Layer, ...]:
    """The body as layers (see the module's docstring)."""
    layers: list[Layer] = []
    singles: list[list[int]] = [[] for _ in range(n_qubits)]
    steps: list[Step] = []
    touched: set[int] = set()
    for index in body:
        gate = gates[index]
        if len(gate.wires) == 1:
            if gate.wires[0] in touched:
                layers.append(Layer(tuple(map(tuple, singles)), tuple(steps)))
                singles, steps, touched = [[] for _ in range(n_qubits)], [], set()
            singles[gate.wires[0]].append(index)
            continue
        previous = steps.pop() if steps else None
        steps.extend(_step(gate, index, previous, n_qubits))
        touched.update(gate.wires)
    if steps or any(singles):
        layers.append(Layer(tuple(map(tuple, singles)), tuple(steps)))
    return tuple(layers)


def build_program(traced: TracedCircuit) -> StatevectorProgram:
    """Arranges a traced circuit's gates into a `StatevectorProgram`."""
    encoding, body = split_encoding(traced.gates, traced.n_qubits)
    layers = group_layers(traced.gates, body, traced.n_qubits)
    return StatevectorProgram(
        traced.n_qubits,
        traced.n_weights,
        traced.gates,
        encoding,
        body,
        layers,
        traced.readout,
        traced.squeeze,
    )


def compile_circuit(circuit: QuantumCircuit) -> StatevectorProgram:
    """The `StatevectorProgram` of any circuit that follows the `QuantumCircuit` protocol.

    Raises:
        UnsupportedCircuit: (a ``ValueError``) a gate, parameter or measurement the backend
            cannot run, named in the message.
    """
    return build_program(trace_circuit(circuit))
