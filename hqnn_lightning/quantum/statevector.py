"""Exact state-vector simulation of the library's circuits in plain torch.

A circuit description (``circuits.py``) is compiled once into a :class:`StatevectorProgram`:
an angle encoding of the inputs, then blocks of single-qubit gates on distinct wires each
followed by the CNOTs before the next block, then ``<Z>`` on every wire. The gate sequence is
read off PennyLane's own template decompositions (``StronglyEntanglingLayers`` with its default
``ranges``, ``BasicEntanglerLayers`` with its special cases for one and two wires,
``RandomLayers`` with its seeded choice of gates), so it is the QNode's sequence by construction.

:func:`expectations` runs a program on a batch. Everything is torch and differentiable by
autograd, and follows the tensors' device and precision (float32 -> complex64, float64 ->
complex128). Two exact strategies, which agree to rounding:

- ``"unitary"``: the encoding gives a product state, built by outer products; the weights,
  shared by the batch, give one ``2^n x 2^n`` matrix, built once per call; the batch is then a
  single real-by-complex matrix product. Fastest while ``2^n`` is not larger than the batch.
- ``"gates"``: the batch of states ``(B, 2^n)`` goes through the blocks, a few wires' gates at
  a time fused into one small matrix, and each block's CNOTs as one permutation of amplitudes.
  Its cost grows as ``B * 2^n``, not ``4^n``, for many qubits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import singledispatch
from typing import Literal

import numpy as np
import pennylane as qml
import torch

from hqnn_lightning.quantum.circuits import (
    ENTANGLERS,
    QuanvolutionFilterCircuit,
    VariationalClassifierCircuit,
)

Method = Literal["auto", "unitary", "gates"]
METHODS: tuple[str, ...] = ("auto", "unitary", "gates")
GATE_NAMES = ("Rot", "RX", "RY", "RZ")
# Wires whose gates the "gates" strategy fuses into one matrix: a 16 x 16 product per
# amplitude costs little next to a pass over the whole state, which is what limits it.
FUSED_WIRES = 4


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
    """A compiled circuit: ``RX`` or ``RY`` of ``input_scale * x_i`` on wire ``i``, the
    blocks, then ``<Z>`` of every wire.

    Args:
        n_qubits: Number of wires; the inputs have this many features.
        rotation: Encoding axis, ``"X"`` or ``"Y"``.
        input_scale: Factor on the inputs before the rotation (1, or pi for pixels in [0, 1]).
        blocks: The gates after the encoding.
        n_angles: Length of the flat angle vector the gates index: the circuit's weights,
            flattened in ``weight_shapes`` order.
        fixed_angles: The angle vector of a circuit without weights (a fixed quanvolution
            filter), else ``None``.
    """

    n_qubits: int
    rotation: str
    input_scale: float
    blocks: tuple[Block, ...]
    n_angles: int
    fixed_angles: tuple[float, ...] | None = None

    @property
    def n_outputs(self) -> int:
        """One ``<Z>`` per wire."""
        return self.n_qubits


def program_from_operations(
    operations: list[qml.operation.Operator],
    n_qubits: int,
    rotation: str,
    input_scale: float,
    n_angles: int,
    fixed_angles: tuple[float, ...] | None = None,
) -> StatevectorProgram:
    """Groups a decomposed gate sequence into blocks.

    Each rotation's parameters must be indices into the angle vector (decompose the template
    with ``np.arange`` as its weights); a new block starts when a rotation follows a CNOT or
    meets a wire that already has a gate in the current block.

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
    return StatevectorProgram(
        n_qubits, rotation, input_scale, tuple(blocks), n_angles, fixed_angles
    )


def _weight_indices(shape: tuple[int, ...]) -> np.ndarray:
    """Weights of ``shape`` whose values are their indices in the flattened weights, so that a
    decomposition's gate parameters say which weight each gate reads."""
    return np.arange(math.prod(shape), dtype=float).reshape(shape)


@singledispatch
def compile_circuit(circuit: object) -> StatevectorProgram:
    """The :class:`StatevectorProgram` of a circuit description.

    Raises:
        NotImplementedError: a circuit type the backend does not know.
    """
    raise NotImplementedError(
        f"the torch state-vector backend cannot run {type(circuit).__name__}; "
        f"use a PennyLane device for it"
    )


@compile_circuit.register
def _(circuit: VariationalClassifierCircuit) -> StatevectorProgram:
    shape = circuit.weight_shapes["weights"]
    template = ENTANGLERS[circuit.entangler]
    operations = template(_weight_indices(shape), wires=range(circuit.n_qubits)).decomposition()
    return program_from_operations(
        operations, circuit.n_qubits, circuit.rotation, 1.0, math.prod(shape)
    )


@compile_circuit.register
def _(circuit: QuanvolutionFilterCircuit) -> StatevectorProgram:
    # Pixels x enter as RY(pi * x); the RandomLayers angles are weights if the circuit has any
    # (a trainable filter), else its fixed random_weights.
    shape = circuit.random_weights.shape
    operations = circuit.random_layers(_weight_indices(shape)).decomposition()
    fixed = None if circuit.weight_shapes else tuple(circuit.random_weights.flatten().tolist())
    return program_from_operations(
        operations, circuit.n_qubits, "Y", math.pi, math.prod(shape), fixed
    )


def complex_dtype(real: torch.dtype) -> torch.dtype:
    """complex64 for float32 (and narrower), complex128 for float64."""
    return torch.complex128 if real == torch.float64 else torch.complex64


def gate_matrices(program: StatevectorProgram, angles: torch.Tensor) -> torch.Tensor:
    """The ``2 x 2`` matrix of every gate, ``(n_gates + 1, 2, 2)`` complex; the last is the
    identity, for wires a block leaves alone. Row order is :func:`_gate_order`'s."""
    by_name = _gates_by_name(program)
    parts = []
    for name in GATE_NAMES:
        if by_name[name]:
            index = torch.tensor([g.angles for g in by_name[name]], device=angles.device)
            parts.append(_ROTATIONS[name](angles[index]))
    parts.append(torch.eye(2, dtype=complex_dtype(angles.dtype), device=angles.device)[None])
    return torch.cat(parts)


def _gates_by_name(program: StatevectorProgram) -> dict[str, list[Gate]]:
    by_name: dict[str, list[Gate]] = {name: [] for name in GATE_NAMES}
    for block in program.blocks:
        for gate in block.gates:
            by_name[gate.name].append(gate)
    return by_name


def _gate_order(program: StatevectorProgram) -> dict[Gate, int]:
    """Row of each gate in :func:`gate_matrices`."""
    order = [g for gates in _gates_by_name(program).values() for g in gates]
    return {gate: row for row, gate in enumerate(order)}


def _complex(re: torch.Tensor, im: torch.Tensor) -> torch.Tensor:
    """Stacks ``(k, 4)`` real and imaginary parts into ``(k, 2, 2)`` complex matrices."""
    return torch.complex(re, im).view(-1, 2, 2)


def _rot(angles: torch.Tensor) -> torch.Tensor:
    """``Rot(phi, theta, omega) = RZ(omega) RY(theta) RZ(phi)`` for ``(k, 3)`` angles."""
    phi, theta, omega = angles.unbind(-1)
    c, s = torch.cos(theta / 2), torch.sin(theta / 2)
    plus, minus = (phi + omega) / 2, (phi - omega) / 2
    cp, sp, cm, sm = torch.cos(plus), torch.sin(plus), torch.cos(minus), torch.sin(minus)
    re = torch.stack([cp * c, -cm * s, cm * s, cp * c], -1)
    im = torch.stack([-sp * c, -sm * s, -sm * s, sp * c], -1)
    return _complex(re, im)


def _rx(angles: torch.Tensor) -> torch.Tensor:
    c, s = torch.cos(angles[:, 0] / 2), torch.sin(angles[:, 0] / 2)
    zero = torch.zeros_like(c)
    return _complex(torch.stack([c, zero, zero, c], -1), torch.stack([zero, -s, -s, zero], -1))


def _ry(angles: torch.Tensor) -> torch.Tensor:
    c, s = torch.cos(angles[:, 0] / 2), torch.sin(angles[:, 0] / 2)
    zero = torch.zeros_like(c)
    return _complex(torch.stack([c, -s, s, c], -1), torch.stack([zero] * 4, -1))


def _rz(angles: torch.Tensor) -> torch.Tensor:
    c, s = torch.cos(angles[:, 0] / 2), torch.sin(angles[:, 0] / 2)
    zero = torch.zeros_like(c)
    return _complex(torch.stack([c, zero, zero, c], -1), torch.stack([-s, zero, zero, s], -1))


_ROTATIONS = {"Rot": _rot, "RX": _rx, "RY": _ry, "RZ": _rz}


def block_wire_matrices(program: StatevectorProgram, angles: torch.Tensor) -> torch.Tensor:
    """``(n_blocks, n_qubits, 2, 2)``: each block's gate on each wire (identity if none)."""
    order = _gate_order(program)
    identity = len(order)
    rows = [[identity] * program.n_qubits for _ in program.blocks]
    for row, block in zip(rows, program.blocks, strict=True):
        for gate in block.gates:
            row[gate.wire] = order[gate]
    return gate_matrices(program, angles)[torch.tensor(rows, device=angles.device)]


def kron(matrices: torch.Tensor) -> torch.Tensor:
    """Kronecker product over dim 1, first factor most significant:
    ``(..., k, 2, 2) -> (..., 2^k, 2^k)``."""
    product = matrices[..., 0, :, :]
    for wire in range(1, matrices.shape[-3]):
        factor = matrices[..., wire, None, :, None, :]
        size = 2 * product.shape[-1]
        product = (product[..., :, None, :, None] * factor).reshape(*product.shape[:-2], size, size)
    return product


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


def product_state(program: StatevectorProgram, inputs: torch.Tensor) -> torch.Tensor:
    """The encoded state, real: ``(B, n) -> (B, 2^n)``.

    ``RY(a)|0> = (cos a/2, sin a/2)``; ``RX(a)|0> = (cos a/2, -i sin a/2)`` is the same up to
    the fixed phase ``(-i)^(number of ones)`` of each basis state (:func:`encoding_phase`).
    """
    half = inputs * (program.input_scale / 2)
    factors = torch.stack([torch.cos(half), torch.sin(half)], -1)
    state = factors[:, 0]
    for wire in range(1, program.n_qubits):
        state = (state[:, :, None] * factors[:, wire, None, :]).flatten(1)
    return state


def encoding_phase(program: StatevectorProgram, dtype: torch.dtype, device) -> torch.Tensor:
    """``(2^n,)`` complex: 1 for ``RY`` encoding, ``(-i)^popcount(k)`` for ``RX``."""
    n = program.n_qubits
    if program.rotation == "Y":
        return torch.ones(2**n, dtype=dtype, device=device)
    ones = (_bits(n, device)).sum(-1) % 4
    return torch.tensor([1, -1j, -1, 1j], dtype=dtype, device=device)[ones]


def _bits(n_qubits: int, device) -> torch.Tensor:
    """``(2^n, n)`` bits of every basis index, wire 0 first (most significant)."""
    shifts = torch.arange(n_qubits - 1, -1, -1, device=device)
    return (torch.arange(2**n_qubits, device=device)[:, None] >> shifts) & 1


def z_signs(n_qubits: int, dtype: torch.dtype, device) -> torch.Tensor:
    """``(2^n, n)``: the eigenvalue of ``Z`` on wire ``i`` for basis state ``k``, +1 or -1."""
    return (1 - 2 * _bits(n_qubits, device)).to(dtype)


def transposed_unitary(
    program: StatevectorProgram, angles: torch.Tensor, permutations: torch.Tensor
) -> torch.Tensor:
    """``(2^n, 2^n)`` complex: ``diag(phase) U^T``, so that the final state of encoded state
    ``s`` (a row) is ``s @ diag(phase) U^T``. ``permutations`` is ``(n_blocks, 2^n)``."""
    mats = kron(block_wire_matrices(program, angles))
    phase = encoding_phase(program, mats.dtype, mats.device)
    rows = phase[:, None] * mats[0].T
    rows = rows[:, permutations[0]]
    for block in range(1, len(program.blocks)):
        rows = (rows @ mats[block].T)[:, permutations[block]]
    return rows


def expectations_unitary(
    program: StatevectorProgram,
    inputs: torch.Tensor,
    angles: torch.Tensor,
    permutations: torch.Tensor,
) -> torch.Tensor:
    """``<Z>`` of every wire, ``(B, n) -> (B, n)``, through the whole circuit's matrix."""
    size = 2**program.n_qubits
    rows = transposed_unitary(program, angles, permutations)
    # The encoded state is real: one real product gives the real and imaginary parts.
    final = product_state(program, inputs) @ torch.cat([rows.real, rows.imag], 1)
    probabilities = final.square().view(-1, 2, size).sum(1)
    return probabilities @ z_signs(program.n_qubits, probabilities.dtype, probabilities.device)


def expectations_gates(
    program: StatevectorProgram,
    inputs: torch.Tensor,
    angles: torch.Tensor,
    permutations: torch.Tensor,
) -> torch.Tensor:
    """``<Z>`` of every wire, ``(B, n) -> (B, n)``, applying the blocks to the batch of states.

    Each step applies the fused gates of the last few wires as one batched matrix product
    that also moves those wires to the front, so the state is never transposed on its own;
    after a block's steps the wires are back in order, and its CNOTs permute the amplitudes.
    """
    n = program.n_qubits
    batch = inputs.shape[0]
    mats = block_wire_matrices(program, angles)
    state = product_state(program, inputs) * encoding_phase(program, mats.dtype, mats.device)
    groups = [(max(0, last - FUSED_WIRES), last) for last in range(n, 0, -FUSED_WIRES)]
    for wires, permutation in zip(mats, permutations, strict=True):
        for first, last in groups:
            fused = kron(wires[first:last])
            size = fused.shape[0]
            trailing = state.view(batch, -1, size).transpose(1, 2)
            state = torch.bmm(fused.expand(batch, size, size), trailing).view(batch, -1)
        state = state.index_select(1, permutation)
    probabilities = state.real.square() + state.imag.square()
    return probabilities @ z_signs(n, probabilities.dtype, probabilities.device)


def choose_method(program: StatevectorProgram, batch: int) -> str:
    """``"unitary"`` up to 6 qubits, or while ``2^n`` is at most half the batch; else
    ``"gates"``. Measured on a CPU: building the ``2^n x 2^n`` matrix costs about as much as
    pushing ``2^(n+1)`` states through the gates."""
    return "unitary" if 2**program.n_qubits <= max(64, batch // 2) else "gates"


def expectations(
    program: StatevectorProgram,
    inputs: torch.Tensor,
    angles: torch.Tensor,
    permutations: torch.Tensor,
    method: Method = "auto",
) -> torch.Tensor:
    """``<Z>`` of every wire for a batch: ``(B, n_qubits) -> (B, n_qubits)``.

    Args:
        program: The compiled circuit.
        inputs: ``(B, n_qubits)`` features (radians after ``input_scale``), real.
        angles: ``(n_angles,)`` gate angles in radians, the flattened weights, same dtype.
        permutations: ``(n_blocks, 2^n)`` long, :func:`cnot_permutation` of every block, on
            the inputs' device.
        method: ``"unitary"``, ``"gates"`` or ``"auto"`` (:func:`choose_method`).
    """
    if method == "auto":
        method = choose_method(program, inputs.shape[0])
    run = expectations_unitary if method == "unitary" else expectations_gates
    return run(program, inputs, angles, permutations)
