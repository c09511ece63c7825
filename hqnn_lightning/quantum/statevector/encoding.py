"""The encoded product state: each wire's encoding gates applied to ``|0>``.

The constant gates that open a wire's encoding (a Hadamard before ``RY``) are applied once,
when the program is compiled, to give that wire's starting vector; the others are applied per
call, in slots (the ``d``-th remaining gate of every wire), so that a slot of one kind of gate
on every wire (``RY`` of each input) is one batched call.

``RX(a)|0> = (cos a/2, -i sin a/2)`` is ``RY(a)|0>`` times the fixed phases ``(1, -i)``: a wire
encoded by ``RX`` alone is computed as ``RY`` and its phases are applied to the basis states
afterwards (`basis_phase`), so that the encoded state stays real and the simulator's products
real-by-complex.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from hqnn_lightning.quantum.statevector.gates import is_real_gate
from hqnn_lightning.quantum.statevector.program import StatevectorProgram

RX_PHASES = np.array([1.0, -1.0j])
"""``RX(a)|0> = diag(RX_PHASES) RY(a)|0>``."""


@dataclass(frozen=True, eq=False)
class EncodingPlan:
    """``initial`` ``(n, 2)`` complex: each wire's opening constant gates applied to ``|0>``;
    ``slots``: per slot, per wire, the index of the gate applied next (``None``: none);
    ``names``: the gate each encoding gate is computed as (``RY`` for a lone ``RX``);
    ``phases`` ``(n, 2)``: each wire's fixed phases, applied after the product."""

    initial: np.ndarray
    slots: tuple[tuple[int | None, ...], ...]
    names: dict[int, str]
    phases: np.ndarray
    real: bool

    @classmethod
    def of(cls, program: StatevectorProgram) -> EncodingPlan:
        """The plan of ``program``'s encoding."""
        initial, rest = [], []
        for gates in program.encoding:
            vector = np.array([1.0, 0.0], dtype=complex)
            opening = 0
            while opening < len(gates) and program.gates[gates[opening]].matrix is not None:
                vector = program.gates[gates[opening]].matrix @ vector
                opening += 1
            initial.append(vector)
            rest.append(gates[opening:])
        names = {g: program.gates[g].name for gates in rest for g in gates}
        phases = np.ones((len(rest), 2), dtype=complex)
        for wire, gates in enumerate(rest):
            if len(gates) == 1 and names[gates[0]] == "RX" and opening_free(initial[wire]):
                names[gates[0]], phases[wire] = "RY", RX_PHASES
        depth = max([len(gates) for gates in rest] + [0])
        slots = tuple(
            tuple(gates[d] if d < len(gates) else None for gates in rest) for d in range(depth)
        )
        real = not np.abs(np.imag(initial)).any() and all(
            is_real_gate(names[g])
            if program.gates[g].matrix is None
            else not np.abs(program.gates[g].matrix.imag).any()
            for gates in rest
            for g in gates
        )
        return cls(np.array(initial), slots, names, phases, real)

    def basis_phase(self) -> np.ndarray | None:
        """``(2^n,)`` the product of the wires' phases on each basis state (wire 0 most
        significant); ``None`` when all are 1."""
        if np.all(self.phases == 1):
            return None
        phase = np.ones(1, dtype=complex)
        for wire_phases in self.phases:
            phase = np.kron(phase, wire_phases)
        return phase


def opening_free(vector: np.ndarray) -> bool:
    """Whether a wire's starting vector is ``|0>``."""
    return bool(np.all(vector == np.array([1.0, 0.0])))


def product_state(vectors: torch.Tensor) -> torch.Tensor:
    """``(B, n, 2)`` one state per wire -> ``(B, 2^n)`` their product, wire 0 most
    significant."""
    state = vectors[:, 0]
    for wire in range(1, vectors.shape[1]):
        state = (state[:, :, None] * vectors[:, wire, None, :]).flatten(1)
    return state
