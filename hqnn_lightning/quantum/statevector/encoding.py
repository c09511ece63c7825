"""The encoded product state: each wire's encoding gates applied to ``|0>``.

The constant gates that open a wire's encoding (a Hadamard before ``RY``) are applied once,
when the program is compiled, to give that wire's starting vector; the others are applied per
call, in slots (the ``d``-th remaining gate of every wire), so that a slot of one kind of gate
on every wire (``RY`` of each input) is one batched call.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from hqnn_lightning.quantum.statevector.program import StatevectorProgram


@dataclass(frozen=True, eq=False)
class EncodingPlan:
    """``initial`` ``(n, 2)`` complex: each wire's opening constant gates applied to ``|0>``;
    ``slots``: per slot, per wire, the index of the gate applied next (``None``: none)."""

    initial: np.ndarray
    slots: tuple[tuple[int | None, ...], ...]

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
        depth = max([len(gates) for gates in rest] + [0])
        slots = tuple(
            tuple(gates[d] if d < len(gates) else None for gates in rest) for d in range(depth)
        )
        return cls(np.array(initial), slots)


def product_state(vectors: torch.Tensor) -> torch.Tensor:
    """``(B, n, 2)`` one state per wire -> ``(B, 2^n)`` their product, wire 0 most
    significant."""
    state = vectors[:, 0]
    for wire in range(1, vectors.shape[1]):
        state = (state[:, :, None] * vectors[:, wire, None, :]).flatten(1)
    return state
