"""Exact state-vector simulation of a `StatevectorProgram` in plain torch.

`StatevectorSimulator` maps a batch of inputs and the gate angles to ``<Z>`` of every
wire. It is differentiable by autograd with respect to both, and follows the tensors' device
and precision (float32 -> complex64, float64 -> complex128). Two exact strategies, which agree
to rounding:

- ``"unitary"``: the encoding gives a product state, built by outer products; the angles,
  shared by the batch, give one ``2^n x 2^n`` matrix, built once per call; the batch is then a
  single real-by-complex matrix product. Fastest while ``2^n`` is small next to the batch.
- ``"gates"``: the batch of states ``(B, 2^n)`` goes through the blocks, the gates of 4 wires
  at a time fused into one ``16 x 16`` matrix, and each block's CNOTs as one permutation of
  amplitudes. Its cost grows as ``B * 2^n`` rather than ``8^n``, for many qubits. A data
  re-uploading circuit runs this way only: each re-encoding is folded into the next block's
  gates, which makes that block's fused matrices one per sample (measured: 2.5x the plain
  circuit's time on 6 qubits, ``docs/quantum_backends.md``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import torch
from torch import nn

from hqnn_lightning.quantum.statevector.program import (
    GATE_NAMES,
    StatevectorProgram,
    cnot_permutation,
)

Method = Literal["auto", "unitary", "gates"]
METHODS: tuple[str, ...] = ("auto", "unitary", "gates")
# Wires whose gates "gates" fuses into one matrix: a 16 x 16 product per amplitude costs less
# than the passes over the whole state it saves (measured: fastest of 1-5 at 8-16 qubits).
FUSED_WIRES = 4
HADAMARD = ((2**-0.5, 2**-0.5), (2**-0.5, -(2**-0.5)))


@dataclass(frozen=True)
class GateForm:
    """A rotation's ``2 x 2`` matrix as products of cosines and sines of half-angles.

    ``half = angles @ half_angles`` (``(k, m) @ (m, h)``); with ``trig = [cos(half),
    sin(half)]``, entry ``j`` of ``(re00, re01, re10, re11, im00, im01, im10, im11)`` is
    ``sign[j] * trig[first[j]] * trig[second[j]]`` (no second factor if ``second`` is None).
    Zero entries have sign 0, so they are exact zeros.
    """

    half_angles: tuple[tuple[float, ...], ...]
    first: tuple[int, ...]
    second: tuple[int, ...] | None
    sign: tuple[float, ...]


GATE_FORMS = {
    # Rot(phi, theta, omega) = RZ(omega) RY(theta) RZ(phi) = [[e^(-i p) c, -e^(i m) s],
    # [e^(-i m) s, e^(i p) c]] with p = (phi + omega) / 2, m = (phi - omega) / 2, c and s of
    # theta / 2; half = (theta / 2, p, m), trig = (c, cos p, cos m, s, sin p, sin m).
    "Rot": GateForm(
        half_angles=((0.0, 0.5, 0.5), (0.5, 0.0, 0.0), (0.0, 0.5, -0.5)),
        first=(0, 3, 3, 0, 0, 3, 3, 0),
        second=(1, 2, 2, 1, 4, 5, 5, 4),
        sign=(1, -1, 1, 1, -1, -1, -1, 1),
    ),
    # One angle: trig = (c, s) of theta / 2.
    "RX": GateForm(((0.5,),), (0, 0, 0, 0, 0, 1, 1, 0), None, (1, 0, 0, 1, 0, -1, -1, 0)),
    "RY": GateForm(((0.5,),), (0, 1, 1, 0, 0, 0, 0, 0), None, (1, -1, 1, 1, 0, 0, 0, 0)),
    "RZ": GateForm(((0.5,),), (0, 0, 0, 0, 1, 0, 0, 1), None, (1, 0, 0, 1, -1, 0, 0, 1)),
}


@lru_cache(maxsize=64)
def _constant(values: tuple, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    return torch.tensor(values, dtype=dtype, device=device)


def rotation_matrices(name: str, angles: torch.Tensor) -> torch.Tensor:
    """``(k, m)`` angles (radians) of ``k`` gates ``name`` -> ``(k, 2, 2)`` complex."""
    form = GATE_FORMS[name]
    half = angles @ _constant(form.half_angles, angles.dtype, angles.device)
    trig = torch.cat([torch.cos(half), torch.sin(half)], 1)
    entries = trig[:, _constant(form.first, torch.long, angles.device)]
    if form.second is not None:
        entries = entries * trig[:, _constant(form.second, torch.long, angles.device)]
    entries = entries * _constant(form.sign, angles.dtype, angles.device)
    return torch.complex(entries[:, :4], entries[:, 4:]).view(-1, 2, 2)


def complex_dtype(real: torch.dtype) -> torch.dtype:
    """complex128 for float64, complex64 otherwise."""
    return torch.complex128 if real == torch.float64 else torch.complex64


def kron(matrices: torch.Tensor) -> torch.Tensor:
    """Kronecker product over dim -3, first factor most significant:
    ``(..., k, 2, 2) -> (..., 2^k, 2^k)``."""
    product = matrices[..., 0, :, :]
    for wire in range(1, matrices.shape[-3]):
        factor = matrices[..., wire, None, :, None, :]
        size = 2 * product.shape[-1]
        product = (product[..., :, None, :, None] * factor).reshape(*product.shape[:-2], size, size)
    return product


def product_state(inputs: torch.Tensor, input_scale: float, hadamard: bool = False) -> torch.Tensor:
    """The real encoded state ``(B, 2^n)`` of ``RY(input_scale * x_i)`` on wire ``i``, after
    a Hadamard on every wire with ``hadamard``.

    ``RY(a)|0> = (cos a/2, sin a/2)``; ``RX(a)|0> = (cos a/2, -i sin a/2)`` is the same up to
    the fixed phase ``(-i)^(number of ones)`` of each basis state (`encoding_phase`); and
    ``RY(a) H|0> = RY(a + pi/2)|0>``, since ``H|0> = RY(pi/2)|0>``.
    """
    half = inputs * (input_scale / 2)
    if hadamard:
        half = half + math.pi / 4
    factors = torch.stack([torch.cos(half), torch.sin(half)], -1)
    state = factors[:, 0]
    for wire in range(1, inputs.shape[1]):
        state = (state[:, :, None] * factors[:, wire, None, :]).flatten(1)
    return state


def _bits(n_qubits: int, device: torch.device) -> torch.Tensor:
    """``(2^n, n)`` bits of every basis index, wire 0 first (most significant)."""
    shifts = torch.arange(n_qubits - 1, -1, -1, device=device)
    return (torch.arange(2**n_qubits, device=device)[:, None] >> shifts) & 1


@lru_cache(maxsize=16)
def encoding_phase(n_qubits: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """``(2^n,)`` complex ``(-i)^popcount(k)``: turns the ``RY`` product state into ``RX``'s."""
    ones = _bits(n_qubits, device).sum(-1) % 4
    return torch.tensor([1, -1j, -1, 1j], dtype=dtype, device=device)[ones]


@lru_cache(maxsize=16)
def z_signs(n_qubits: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """``(2^n, n)``: the eigenvalue of ``Z`` on wire ``i`` for basis state ``k``, +1 or -1."""
    return (1 - 2 * _bits(n_qubits, device)).to(dtype)


def choose_method(n_qubits: int, batch: int, reencodes: bool = False) -> str:
    """``"unitary"`` up to 6 qubits, or while ``2^n`` is at most half the batch; else
    ``"gates"``. Measured on a CPU: building the ``2^n x 2^n`` matrix costs about as much as
    pushing ``2^(n+1)`` states through the gates. A program that ``reencodes`` its inputs has
    no unitary shared by the batch: always ``"gates"``."""
    if reencodes:
        return "gates"
    return "unitary" if 2**n_qubits <= max(64, batch // 2) else "gates"


class StatevectorSimulator(nn.Module):
    """Runs a `StatevectorProgram`: ``(B, n) inputs, (n_angles,) angles -> (B, n)``.

    Holds the program's index tensors as non-persistent buffers, so they follow the module to
    a device and stay out of state dicts; it has no parameters.

    Args:
        program: The compiled circuit.
        method: ``"unitary"``, ``"gates"`` or ``"auto"`` (`choose_method` per batch).
    """

    def __init__(self, program: StatevectorProgram, method: Method = "auto") -> None:
        super().__init__()
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {method!r}")
        if method == "unitary" and program.reencoded_blocks:
            raise ValueError(
                "method='unitary' needs one encoding; a data re-uploading circuit runs with "
                "method='gates' or 'auto'"
            )
        self.program = program
        self.method = method
        n = program.n_qubits
        by_name = program.gates_by_name()
        self.gate_names = [name for name in GATE_NAMES if by_name[name]]
        for name in self.gate_names:
            index = torch.tensor([gate.angles for gate in by_name[name]])
            self.register_buffer(f"angles_{name}", index, persistent=False)
        row = {gate: i for i, gate in enumerate(g for name in GATE_NAMES for g in by_name[name])}
        identity = len(row)
        wire_gates = [[identity] * n for _ in program.blocks]
        for gates, block in zip(wire_gates, program.blocks, strict=True):
            for gate in block.gates:
                gates[gate.wire] = row[gate]
        self.register_buffer("wire_gates", torch.tensor(wire_gates), persistent=False)
        permutations = [torch.from_numpy(cnot_permutation(b.cnots, n)) for b in program.blocks]
        self.register_buffer("permutations", torch.stack(permutations), persistent=False)
        # The "gates" steps: the last FUSED_WIRES wires first (see _run_gates), skipping a
        # step when the block has no gate on its wires and no encoding before it.
        groups = [(max(0, last - FUSED_WIRES), last) for last in range(n, 0, -FUSED_WIRES)]
        self.steps = [
            [
                (
                    first,
                    last,
                    index in program.reencoded_blocks
                    or any(first <= g.wire < last for g in block.gates),
                )
                for first, last in groups
            ]
            for index, block in enumerate(program.blocks)
        ]

    def fixed_angles(self, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
        """The program's fixed angle vector; ``ValueError`` if it has none."""
        if self.program.fixed_angles is None:
            raise ValueError("this circuit's angles are its weights; pass them")
        return _constant(self.program.fixed_angles, dtype, device)

    def block_matrices(self, angles: torch.Tensor) -> torch.Tensor:
        """``(n_blocks, n_qubits, 2, 2)`` complex: each block's gate on each wire, identity
        where it has none."""
        parts = [
            rotation_matrices(name, angles[getattr(self, f"angles_{name}")])
            for name in self.gate_names
        ]
        parts.append(torch.eye(2, dtype=complex_dtype(angles.dtype), device=angles.device)[None])
        return torch.cat(parts)[self.wire_gates]

    def unitary_rows(self, angles: torch.Tensor) -> torch.Tensor:
        """``(2^n, 2^n)`` complex ``R = diag(phase) U^T``: the final state of an encoded
        ``RY`` product state ``s`` (a row) is ``s @ R`` (``phase`` makes ``RX`` encodings)."""
        mats = kron(self.block_matrices(angles))
        rows = mats[0].T
        if self.program.rotation == "X":
            rows = encoding_phase(self.program.n_qubits, rows.dtype, rows.device)[:, None] * rows
        rows = rows[:, self.permutations[0]]
        for block in range(1, len(self.program.blocks)):
            rows = (rows @ mats[block].T)[:, self.permutations[block]]
        return rows

    def forward(self, inputs: torch.Tensor, angles: torch.Tensor) -> torch.Tensor:
        """``<Z>`` of every wire: ``(B, n_qubits)`` real inputs (radians before
        ``input_scale``) and ``(n_angles,)`` angles (radians) of the same dtype ->
        ``(B, n_qubits)``."""
        method = self.method
        if method == "auto":
            method = choose_method(
                self.program.n_qubits, inputs.shape[0], bool(self.program.reencoded_blocks)
            )
        if method == "unitary":
            return self._run_unitary(inputs, angles)
        return self._run_gates(inputs, angles)

    def _run_unitary(self, inputs: torch.Tensor, angles: torch.Tensor) -> torch.Tensor:
        rows = self.unitary_rows(angles)
        # The encoded state is real: one real product gives the real and imaginary parts.
        encoded = product_state(inputs, self.program.input_scale, self.program.hadamard)
        final = encoded @ torch.cat([rows.real, rows.imag], 1)
        probabilities = final.square().view(inputs.shape[0], 2, -1).sum(1)
        return probabilities @ z_signs(self.program.n_qubits, inputs.dtype, inputs.device)

    def _run_gates(self, inputs: torch.Tensor, angles: torch.Tensor) -> torch.Tensor:
        # Each step applies the fused gates of the last wires as one batched product that also
        # moves those wires to the front, so the state is never transposed on its own; after
        # a block's steps the wires are back in order, and its CNOTs permute the amplitudes.
        n, batch = self.program.n_qubits, inputs.shape[0]
        program = self.program
        mats = self.block_matrices(angles)
        state = product_state(inputs, program.input_scale, program.hadamard).to(mats.dtype)
        if program.rotation == "X":
            state = state * encoding_phase(n, mats.dtype, mats.device)
        if program.reencoded_blocks:
            angles_in = inputs.reshape(-1, 1) * program.input_scale
            encoding = rotation_matrices("R" + program.rotation, angles_in)
            if program.hadamard:
                encoding = encoding @ _constant(HADAMARD, encoding.dtype, encoding.device)
            encoding = encoding.view(batch, n, 2, 2)
        for index, (wires, permutation, steps) in enumerate(
            zip(mats, self.permutations, self.steps, strict=True)
        ):
            if index in program.reencoded_blocks:
                wires = wires @ encoding
            for first, last, has_gates in steps:
                size = 2 ** (last - first)
                trailing = state.view(batch, -1, size).transpose(1, 2)
                if has_gates:
                    fused = kron(wires[..., first:last, :, :]).expand(batch, size, size)
                    state = torch.bmm(fused, trailing).reshape(batch, -1)
                else:
                    state = trailing.reshape(batch, -1)
            state = state.index_select(1, permutation)
        probabilities = state.real.square() + state.imag.square()
        return probabilities @ z_signs(n, inputs.dtype, inputs.device)

    def extra_repr(self) -> str:
        return f"n_qubits={self.program.n_qubits}, method={self.method!r}"
