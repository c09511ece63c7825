"""Exact state-vector simulation of a `StatevectorProgram` in plain torch.

`StatevectorSimulator` maps a batch of inputs and the flat weights to the program's outputs
(the basis states' probabilities times its read-out). It is differentiable by autograd with
respect to both, and follows the tensors' device and precision (float32 -> complex64, float64
-> complex128). The encoding gives a product state, built by outer products (real when every
encoding gate is real). Two exact strategies for the body, which agree to rounding:

- ``"unitary"``: the body's gates, shared by the batch, give one ``2^n x 2^n`` matrix, built
  once per call (each layer's single-qubit gates as one Kronecker product, its steps applied
  to the matrix's rows); the batch is then one matrix product, real-by-complex for a real
  encoding. Fastest while ``2^n`` is small next to the batch.
- ``"gates"``: the batch of states ``(B, 2^n)`` goes through the layers, the single-qubit gates
  of 4 wires at a time fused into one ``16 x 16`` matrix, each permutation as one gather of
  amplitudes, each dense gate on its wires. Its cost grows as ``B * 2^n`` rather than
  ``8^n``. A program whose body reads the inputs (data re-uploading) runs this way only: those
  gates' matrices are one per sample.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from hqnn_lightning.quantum.statevector.gates import complex_dtype
from hqnn_lightning.quantum.statevector.parameters import GateMatrices
from hqnn_lightning.quantum.statevector.program import StatevectorProgram

Method = Literal["auto", "unitary", "gates"]
Singles = torch.Tensor | list[torch.Tensor]
"""Each layer's single-qubit matrices (`GateMatrices.layer_singles`), indexed by layer."""
METHODS: tuple[str, ...] = ("auto", "unitary", "gates")
# Wires whose gates "gates" fuses into one matrix: a 16 x 16 product per amplitude costs less
# than the passes over the whole state it saves (measured: fastest of 1-5 at 8-16 qubits).
FUSED_WIRES = 4


def kron(matrices: torch.Tensor) -> torch.Tensor:
    """Kronecker product over dim -3, first factor most significant:
    ``(..., k, 2, 2) -> (..., 2^k, 2^k)``."""
    product = matrices[..., 0, :, :]
    for wire in range(1, matrices.shape[-3]):
        factor = matrices[..., wire, None, :, None, :]
        size = 2 * product.shape[-1]
        product = (product[..., :, None, :, None] * factor).reshape(*product.shape[:-2], size, size)
    return product


def apply_dense(
    state: torch.Tensor, matrix: torch.Tensor, wires: tuple[int, ...], n_qubits: int
) -> torch.Tensor:
    """``matrix`` (``(d, d)``, or ``(B, d, d)`` one per row) on ``wires`` of every row of
    ``state`` ``(B, 2^n)``."""
    rows, k = state.shape[0], len(wires)
    axes = [1 + wire for wire in wires]
    last = list(range(n_qubits + 1 - k, n_qubits + 1))
    moved = torch.movedim(state.reshape(rows, *[2] * n_qubits), axes, last)
    result = moved.reshape(rows, -1, 2**k) @ matrix.transpose(-1, -2)
    return torch.movedim(result.reshape(moved.shape), last, axes).reshape(rows, -1)


def choose_method(n_qubits: int, batch: int, reencodes: bool = False) -> str:
    """``"unitary"`` up to 6 qubits, or while ``2^n`` is at most half the batch; else
    ``"gates"``. Measured on a CPU: building the ``2^n x 2^n`` matrix costs about as much as
    pushing ``2^(n+1)`` states through the gates. A program that ``reencodes`` its inputs has
    no unitary shared by the batch: always ``"gates"``."""
    if reencodes:
        return "gates"
    return "unitary" if 2**n_qubits <= max(64, batch // 2) else "gates"


class StatevectorSimulator(nn.Module):
    """Runs a `StatevectorProgram`: ``(B, n)`` inputs and ``(n_weights,)`` weights (or
    ``None``) -> ``(B, n_outputs)``.

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
        if method == "unitary" and program.reencodes:
            raise ValueError(
                "method='unitary' needs one encoding; a data re-uploading circuit runs with "
                "method='gates' or 'auto'"
            )
        self.program = program
        self.method = method
        self.matrices = GateMatrices(program)
        n = program.n_qubits
        groups = [(max(0, last - FUSED_WIRES), last) for last in range(n, 0, -FUSED_WIRES)]
        # The "gates" steps: the last FUSED_WIRES wires first (see _run_gates), skipping the
        # product where the layer has no gate on those wires.
        self.fused_groups = [
            [(first, last, any(layer.singles[first:last])) for first, last in groups]
            for layer in program.layers
        ]
        for index, layer in enumerate(program.layers):
            for position, step in enumerate(layer.steps):
                if step.source is not None:
                    source = torch.as_tensor(step.source)
                    self.register_buffer(f"source_{index}_{position}", source, persistent=False)

    def forward(self, inputs: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
        """``(B, n_qubits)`` real inputs (radians) and the flat weights ``(n_weights,)`` of
        the same dtype (``None`` for a circuit without weights) -> ``(B, n_outputs)``."""
        return self.read_out(self.probabilities(inputs, weights))

    def read_out(self, probabilities: torch.Tensor) -> torch.Tensor:
        """``(B, 2^n)`` basis-state probabilities (exact or sampled frequencies) -> the
        program's ``(B, n_outputs)`` outputs: their product with its read-out matrix."""
        return probabilities @ self.matrices.readout(probabilities.dtype, probabilities.device)

    def probabilities(self, inputs: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
        """The final state's ``(B, 2^n)`` basis-state probabilities, wire 0 the most
        significant bit; arguments as `forward`'s."""
        method = self.method
        if method == "auto":
            method = choose_method(self.program.n_qubits, inputs.shape[0], self.program.reencodes)
        singles, encoded, dense = self.matrices(inputs, weights)
        if method == "unitary":
            return self._run_unitary(encoded, singles, dense)
        return self._run_gates(encoded, singles, dense)

    def _apply_steps(
        self, state: torch.Tensor, index: int, dense: dict[int, torch.Tensor]
    ) -> torch.Tensor:
        program = self.program
        for position, step in enumerate(program.layers[index].steps):
            if step.gate is not None:
                wires = program.gates[step.gate].wires
                state = apply_dense(state, dense[step.gate], wires, program.n_qubits)
                continue
            state = state.index_select(1, getattr(self, f"source_{index}_{position}"))
            if step.phase is not None:
                state = state * self.matrices.phase(index, position, state.dtype, state.device)
        return state

    def _run_unitary(
        self, encoded: torch.Tensor, singles: Singles, dense: dict[int, torch.Tensor]
    ) -> torch.Tensor:
        # Row k of `rows` is the body applied to basis state k: the final state of an encoded
        # state s (a row) is s @ rows.
        rows = None
        factors = kron(singles).transpose(-1, -2) if singles is not None else None
        for index, groups in enumerate(self.fused_groups):
            if any(has_gates for *_, has_gates in groups):
                rows = factors[index] if rows is None else rows @ factors[index]
            if rows is None:
                size = 2**self.program.n_qubits
                rows = torch.eye(size, dtype=factors.dtype, device=factors.device)
            rows = self._apply_steps(rows, index, dense)
        dtype = complex_dtype(encoded.real.dtype)
        phase = self.matrices.basis_phase(dtype, encoded.device)
        if phase is not None:  # an RX encoding: the real RY state's fixed phases
            rows = torch.diag(phase) if rows is None else phase[:, None] * rows
        if rows is None:
            final = encoded
        elif encoded.is_complex():
            final = encoded @ rows
        else:
            # A real encoded state: one real product gives the real and imaginary parts.
            final = encoded @ torch.cat([rows.real, rows.imag], 1)
            return final.square().view(encoded.shape[0], 2, -1).sum(1)
        if final.is_complex():
            return final.real.square() + final.imag.square()
        return final.square()

    def _run_gates(
        self, encoded: torch.Tensor, singles: Singles, dense: dict[int, torch.Tensor]
    ) -> torch.Tensor:
        # Each fused step applies the gates of the last wires as one batched product that also
        # moves those wires to the front, so the state is never transposed on its own; after
        # a layer's steps the wires are back in order.
        batch = encoded.shape[0]
        state = encoded.to(complex_dtype(encoded.real.dtype))
        phase = self.matrices.basis_phase(state.dtype, state.device)
        if phase is not None:  # an RX encoding: the real RY state's fixed phases
            state = state * phase
        for index, groups in enumerate(self.fused_groups):
            wires = singles[index]
            for first, last, has_gates in groups:
                size = 2 ** (last - first)
                trailing = state.view(batch, -1, size).transpose(1, 2)
                if has_gates:
                    fused = kron(wires[..., first:last, :, :]).expand(batch, size, size)
                    state = torch.bmm(fused, trailing).reshape(batch, -1)
                else:
                    state = trailing.reshape(batch, -1)
            state = self._apply_steps(state, index, dense)
        return state.real.square() + state.imag.square()

    def extra_repr(self) -> str:
        return f"n_qubits={self.program.n_qubits}, method={self.method!r}"
