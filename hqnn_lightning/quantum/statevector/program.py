"""Circuit descriptions compiled into gate programs for the torch state-vector simulator.

A program is an angle encoding of the inputs, then blocks of single-qubit rotations on distinct
wires, each followed by the CNOTs before the next block, then ``<Z>`` on every wire; a
data re-uploading circuit encodes the inputs again before some blocks. A mirror layer
(identity blocks) is plain gates, so it needs nothing of its own: its CNOTs join those of the
layer before it, its rotations start a block. The gate
sequence is read off PennyLane's own template decompositions (``StronglyEntanglingLayers`` with
its default ``ranges``, ``BasicEntanglerLayers`` with its special cases for one and two wires,
``RandomLayers`` with its seeded choice of gates), so it is the QNode's sequence by
construction; the decomposition is run once, with weights whose values are their own indices,
so that each gate's parameters say which weights it reads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import singledispatch

import numpy as np
import pennylane as qml

from hqnn_lightning.quantum.circuits import (
    QuanvolutionFilterCircuit,
    VariationalClassifierCircuit,
)

GATE_NAMES = ("Rot", "RX", "RY", "RZ")


@dataclass(frozen=True)
class Gate:
    """A single-qubit rotation whose angles are entries of the program's angle vector.

    Args:
        name: ``"Rot"`` (angles phi, theta, omega), ``"RX"``, ``"RY"`` or ``"RZ"``.
        wire: Wire it acts on.
        angles: Indices into the flat angle vector, three for ``Rot``, one otherwise.
    """

    name: str
    wire: int
    angles: tuple[int, ...]


@dataclass(frozen=True)
class Block:
    """Single-qubit gates on distinct wires, then CNOTs ``(control, target)`` in order."""

    gates: tuple[Gate, ...]
    cnots: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class StatevectorProgram:
    """A compiled circuit: ``RX`` or ``RY`` of ``input_scale * x_i`` on wire ``i`` (after a
    Hadamard with ``hadamard``), the blocks, then ``<Z>`` of every wire.

    Args:
        n_qubits: Number of wires; the inputs have this many features.
        rotation: Encoding axis, ``"X"`` or ``"Y"``.
        input_scale: Factor on the inputs before the rotation (1, or pi for pixels in [0, 1]).
        blocks: The gates after the encoding.
        n_angles: Length of the flat angle vector the gates index: the circuit's weights,
            flattened in ``weight_shapes`` order.
        fixed_angles: The angle vector of a circuit without weights (a fixed quanvolution
            filter), else ``None``.
        reencoded_blocks: Indices of the blocks before which the inputs are encoded again
            (the same rotations on every wire), in increasing order; empty for one encoding.
        hadamard: Every encoding starts with a Hadamard on every wire (``"hadamard_ry"``).
    """

    n_qubits: int
    rotation: str
    input_scale: float
    blocks: tuple[Block, ...]
    n_angles: int
    fixed_angles: tuple[float, ...] | None = None
    reencoded_blocks: tuple[int, ...] = ()
    hadamard: bool = False

    @property
    def n_outputs(self) -> int:
        """One ``<Z>`` per wire."""
        return self.n_qubits

    def gates_by_name(self) -> dict[str, list[Gate]]:
        """Every gate, grouped by name in `GATE_NAMES` order, in program order."""
        by_name: dict[str, list[Gate]] = {name: [] for name in GATE_NAMES}
        for block in self.blocks:
            for gate in block.gates:
                by_name[gate.name].append(gate)
        return by_name


def group_blocks(operations: list[qml.operation.Operator]) -> tuple[Block, ...]:
    """Groups a decomposed gate sequence into blocks.

    Each rotation's parameters must be indices into the angle vector (see
    `weight_indices`); a new block starts when a rotation follows a CNOT or meets a wire
    that already has a gate in the current block.

    Raises:
        NotImplementedError: a gate other than ``Rot``, ``RX``, ``RY``, ``RZ``, ``CNOT``.
    """
    blocks: list[Block] = []
    gates: list[Gate] = []
    cnots: list[tuple[int, int]] = []
    for op in operations:
        wires = [int(w) for w in op.wires]
        if op.name == "CNOT":
            cnots.append((wires[0], wires[1]))
            continue
        if op.name not in GATE_NAMES:
            raise NotImplementedError(f"the torch state-vector backend has no gate {op.name}")
        if cnots or any(g.wire == wires[0] for g in gates):
            blocks.append(Block(tuple(gates), tuple(cnots)))
            gates, cnots = [], []
        gates.append(Gate(op.name, wires[0], tuple(round(float(p)) for p in op.parameters)))
    if gates or cnots:
        blocks.append(Block(tuple(gates), tuple(cnots)))
    return tuple(blocks)


def weight_indices(shape: tuple[int, ...]) -> np.ndarray:
    """Weights of ``shape`` whose values are their indices in the flattened weights."""
    return np.arange(math.prod(shape), dtype=float).reshape(shape)


@singledispatch
def compile_circuit(circuit: object) -> StatevectorProgram:
    """The `StatevectorProgram` of a circuit description.

    Raises:
        NotImplementedError: a circuit type the backend does not know.
    """
    raise NotImplementedError(
        f"the torch state-vector backend cannot run {type(circuit).__name__}; "
        f"use a PennyLane device for it"
    )


@compile_circuit.register
def _(circuit: VariationalClassifierCircuit) -> StatevectorProgram:
    # One group of blocks per encoding; every group after the first follows a re-encoding.
    # The mirror weights (identity blocks) follow the weights in the flat angle vector.
    # The program knows the built-in encodings and read-out only, not a registered one's gates.
    if circuit.encoding not in ("ry", "rx", "hadamard_ry") or circuit.readout != "z":
        raise NotImplementedError(
            f"the torch state-vector backend runs the encodings ry, rx, hadamard_ry and the "
            f"read-out z, not encoding={circuit.encoding!r}, readout={circuit.readout!r}; "
            "use a PennyLane device for it"
        )
    shape = circuit.weight_shapes["weights"]
    size = math.prod(shape)
    blocks: list[Block] = []
    reencoded: list[int] = []
    groups = circuit.trainable_operations(weight_indices(shape), weight_indices(shape) + size)
    for operations in groups:
        if blocks:
            reencoded.append(len(blocks))
        gates = [gate for op in operations for gate in _primitive_gates(op)]
        blocks.extend(group_blocks(gates))
    return StatevectorProgram(
        circuit.n_qubits,
        "X" if circuit.encoding == "rx" else "Y",
        1.0,
        tuple(blocks),
        size * len(circuit.weight_shapes),
        reencoded_blocks=tuple(reencoded),
        hadamard=circuit.encoding == "hadamard_ry",
    )


def _primitive_gates(operation: qml.operation.Operator) -> list[qml.operation.Operator]:
    """A template's gates; a gate the backend runs as it is (``Rot``, ``CNOT``) stays one."""
    if operation.name in (*GATE_NAMES, "CNOT"):
        return [operation]
    return operation.decomposition()


@compile_circuit.register
def _(circuit: QuanvolutionFilterCircuit) -> StatevectorProgram:
    # Pixels x enter as RY(pi * x); the RandomLayers angles are weights if the circuit has any
    # (a trainable filter), else its fixed random_weights.
    shape = circuit.random_weights.shape
    blocks = group_blocks(circuit.random_layers(weight_indices(shape)).decomposition())
    fixed = None if circuit.weight_shapes else tuple(circuit.random_weights.flatten().tolist())
    return StatevectorProgram(circuit.n_qubits, "Y", math.pi, blocks, math.prod(shape), fixed)


def cnot_permutation(cnots: tuple[tuple[int, int], ...], n_qubits: int) -> np.ndarray:
    """Index ``p`` with ``state[:, p]`` = the CNOTs applied in order to ``state`` ``(B, 2^n)``.

    Wire 0 is the most significant bit of a basis index, as in PennyLane.
    """
    basis = np.arange(2**n_qubits)
    composed = basis
    for control, target in cnots:
        bit = (basis >> (n_qubits - 1 - control)) & 1
        composed = composed[basis ^ (bit << (n_qubits - 1 - target))]
    return composed
