"""Which circuits the quanvolution expansion computes exactly, checked on the operations they
emit (a compiled `StatevectorProgram`), never on their class.

The expansion (`expansion.coefficients`) holds for a circuit that

- opens every wire ``i`` with ``RY(pi * x_i)`` on ``|0>``: the first gate on the wire, its
  angle exactly ``pi`` times input ``i`` (no other input, no weight, no offset);
- reads no input anywhere else, so the rest of the circuit is one unitary ``U`` of the
  weights alone (constant gates, or gates of the weights);
- returns ``<Z>`` of every wire, in wire order, as a list;
- has at most `MAX_QUBITS` qubits (``3^n`` coefficients per output).

`filter_matrices` gives ``U``'s gates, in order, as torch matrices of the weights, from the
program: the expansion needs nothing else of the circuit.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from hqnn_lightning.quantum.expansion.kernel import MAX_QUBITS
from hqnn_lightning.quantum.statevector.gates import bit_positions, gate_matrices
from hqnn_lightning.quantum.statevector.program import StatevectorProgram
from hqnn_lightning.quantum.statevector.tracing import TracedGate


def z_readout(n_qubits: int) -> np.ndarray:
    """``(2^n, n)``: ``<Z_q>`` of every wire from the basis states' probabilities."""
    return np.stack([1 - 2 * bit_positions((q,), n_qubits) for q in range(n_qubits)], 1)


def _is_pixel_rotation(gate: TracedGate, wire: int) -> bool:
    """Whether ``gate`` is ``RY(pi * x_wire)`` on ``wire``."""
    if gate.name != "RY" or gate.wires != (wire,):
        return False
    (parameter,) = gate.parameters
    expected = np.zeros_like(parameter.input_coef)
    expected[wire] = math.pi
    return (
        parameter.bias == 0
        and not parameter.uses_weights
        and np.allclose(parameter.input_coef, expected, rtol=0, atol=1e-15)
    )


def expansion_mismatch(program: StatevectorProgram) -> str | None:
    """Why the expansion does not compute ``program`` exactly, in a few words; ``None``
    when it does (see the module's docstring)."""
    n = program.n_qubits
    if n > MAX_QUBITS:
        return f"it has {n} qubits, more than the expansion's {MAX_QUBITS}"
    if program.squeeze or not np.array_equal(program.readout, z_readout(n)):
        return "it does not return <Z> of every wire, in wire order"
    for wire, gates in enumerate(program.encoding):
        if not gates or not _is_pixel_rotation(program.gates[gates[0]], wire):
            return f"wire {wire} does not open with RY(pi * x_{wire})"
    if program.reencodes or any(
        program.gates[g].uses_inputs for wire in program.encoding for g in wire[1:]
    ):
        return "an input enters again after its RY"
    return None


def filter_gates(program: StatevectorProgram) -> list[int]:
    """The gates of ``U`` in an order equivalent to the circuit's: each wire's encoding gates
    after its ``RY`` (they precede every other gate on their wire), then the body."""
    return [g for wire in program.encoding for g in wire[1:]] + list(program.body)


def filter_matrices(
    program: StatevectorProgram, weights: torch.Tensor | None
) -> list[tuple[torch.Tensor, list[int]]]:
    """``U``'s gates as ``(complex128 matrix, wires)``, differentiable in ``weights``, the
    flat weight vector ``(n_weights,)`` (``None`` for a circuit without weights)."""
    device = weights.device if weights is not None else torch.device("cpu")
    gates = []
    for index in filter_gates(program):
        gate = program.gates[index]
        if gate.matrix is not None:
            matrix = torch.as_tensor(gate.matrix, dtype=torch.complex128, device=device)
        else:
            values = torch.stack(
                [
                    p.bias + weights @ torch.as_tensor(p.weight_coef, device=device)
                    for p in gate.parameters
                ]
            )
            matrix = gate_matrices(gate.name, values).to(torch.complex128)
        gates.append((matrix, list(gate.wires)))
    return gates
