"""A quanvolution filter as an exact multilinear function of its pixels' cosines and sines.

Pixel ``x_i`` enters the filter circuit only through ``RY(pi x_i)`` on qubit ``i`` of
``|0...0>``, which leaves that qubit in ``rho_i = (I + cos(pi x_i) Z + sin(pi x_i) X) / 2``.
The encoded state is the product of the ``rho_i``, so for the filter unitary ``U``

    <Z_q> = Tr(rho U^dag Z_q U) = sum_P c[q, P] prod_i f_i(P_i),
    c[q, P] = Tr(P U^dag Z_q U) / 2^n,   f_i(I) = 1, f_i(Z) = cos(pi x_i), f_i(X) = sin(pi x_i),

over the ``3^n`` Pauli strings ``P`` made of ``I``, ``Z`` and ``X`` only (``Y`` terms meet a zero
in ``rho``). The coefficients depend on the filter alone, never on the pixels.

`expansion_coefficients` computes them in torch from the gates the circuit emits after its
encoding (`match.filter_matrices`; `match.expansion_mismatch` says which circuits qualify), in
the Heisenberg picture (``U^dag Z_q U`` built gate by gate, which costs ``4^n`` per gate rather
than a ``2^n x 2^n`` matrix product), and is differentiable in the gate angles.
"""

from __future__ import annotations

import numpy as np
import torch

from hqnn_lightning.quantum.circuits import QuantumCircuit
from hqnn_lightning.quantum.expansion.match import expansion_mismatch, filter_matrices
from hqnn_lightning.quantum.statevector.program import StatevectorProgram, compile_circuit

PAULI_ORDER = ("I", "Z", "X")
"""Index ``a`` of a qubit's factor in a coefficient's multi-index: ``1``, ``cos``, ``sin``."""

SUPPORT_SEED = 20240
"""Seed of the generic angles at which `expansion_support` reads the nonzero terms."""
BATCHED_QUBITS = 5
"""Largest filter whose observables are conjugated together in the full space
(``n * 4^n`` amplitudes); larger ones go one light cone at a time."""
RESIDUE = 1e-12
"""Largest magnitude `expansion_support` takes for the rounding residue of a zero."""

_PAULIS = {
    "I": np.eye(2),
    "Z": np.diag([1.0, -1.0]),
    "X": np.array([[0.0, 1.0], [1.0, 0.0]]),
}


def filter_program(circuit: QuantumCircuit | StatevectorProgram) -> StatevectorProgram:
    """The compiled program of a circuit the expansion computes exactly.

    Raises:
        ValueError: the expansion does not hold for it (the message says why).
    """
    program = circuit if isinstance(circuit, StatevectorProgram) else compile_circuit(circuit)
    reason = expansion_mismatch(program)
    if reason is not None:
        name = type(circuit).__name__
        raise ValueError(f"the quanvolution expansion does not hold for {name}: {reason}")
    return program


def expansion_coefficients(
    circuit: QuantumCircuit | StatevectorProgram, weights: torch.Tensor | None = None
) -> torch.Tensor:
    """``c[q, P]`` of the filter, float64 ``(n_outputs, 3**n_qubits)``.

    The flat index of ``P = (a_0, ..., a_{n-1})`` is row-major with qubit 0 (the patch's
    top-left pixel) most significant, ``a_i`` indexing `PAULI_ORDER`. Up to
    `BATCHED_QUBITS` qubits, the ``U^dag Z_q U`` of all ``q`` are built together on all
    qubits; above, each on the qubits of ``q``'s backward light cone only, which is far smaller
    for shallow filters.

    Args:
        circuit: The filter, or its compiled program (`filter_program`).
        weights: The circuit's weights flattened in ``weight_shapes`` order (radians), for a
            circuit that has weights; gradients flow to a tensor that requires them.
    """
    program = filter_program(circuit)
    if program.n_weights and weights is None:
        raise ValueError(f"this filter has {program.n_weights} weights: pass them")
    if weights is not None:
        weights = torch.as_tensor(weights).reshape(-1).to(torch.float64)
    device = weights.device if weights is not None else torch.device("cpu")
    gates = filter_matrices(program, weights)
    n = program.n_qubits
    if n <= BATCHED_QUBITS:
        return _heisenberg_all(gates, n, device)
    return torch.stack([_heisenberg_z(q, gates, n, device) for q in range(n)])


def expansion_support(circuit: QuantumCircuit | StatevectorProgram) -> np.ndarray:
    """Which ``c[q, P]`` are not identically zero: bool ``(n_outputs, 3**n_qubits)``.

    Each coefficient is a trigonometric polynomial in the weights; one that is not identically
    zero vanishes only on a set of measure zero, while one that is comes out of
    `expansion_coefficients` as exactly zero or as a rounding residue (about 1e-16). A
    coefficient is in the support if it exceeds `RESIDUE` at either of two generic
    (fixed pseudo-random) weight draws (at the constants, for a circuit without weights).
    Outside the support, the coefficients and their gradients in the weights are zero.
    """
    program = filter_program(circuit)
    rng = np.random.default_rng(SUPPORT_SEED)
    support = np.zeros((program.n_qubits, 3**program.n_qubits), dtype=bool)
    for _ in range(2 if program.n_weights else 1):
        weights = torch.as_tensor(rng.uniform(0, 2 * np.pi, program.n_weights))
        support |= (expansion_coefficients(program, weights).abs() > RESIDUE).numpy()
    return support


def _heisenberg_all(
    gates: list[tuple[torch.Tensor, list[int]]], n: int, device: torch.device
) -> torch.Tensor:
    """Every row of the coefficients, ``U^dag Z_q U`` for all ``q`` at once on all qubits."""
    shifts = torch.arange(n - 1, -1, -1, device=device)
    bits = (torch.arange(2**n, device=device)[:, None] >> shifts) & 1
    observables = torch.diag_embed((1 - 2 * bits).T.to(torch.complex128))
    for gate, wires in reversed(gates):
        observables = _conjugate(observables, gate, wires, n)
    return _pauli_components(observables, n).reshape(n, 3**n)


def _heisenberg_z(
    qubit: int, gates: list[tuple[torch.Tensor, list[int]]], n: int, device: torch.device
) -> torch.Tensor:
    """Row ``q`` of the coefficients: ``U^dag Z_q U`` on its light cone, in the Pauli basis.

    ``U`` is ``gates`` applied in order; conjugating ``Z_q`` by them from the last to the
    first gives ``U^dag Z_q U``. A gate on wires the observable does not act on cancels
    (``G^dag G = I``) and is skipped; one that touches it extends it, as ``O (x) I``, to the
    gate's other wires.
    """
    support = [qubit]
    observable = torch.tensor([[1, 0], [0, -1]], dtype=torch.complex128, device=device)
    for gate, wires in reversed(gates):
        if not set(wires) & set(support):
            continue
        for wire in wires:
            if wire not in support:
                eye = torch.eye(2, dtype=observable.dtype, device=device)
                observable = torch.kron(observable.contiguous(), eye)
                support.append(wire)
        observable = _conjugate(observable, gate, [support.index(w) for w in wires], len(support))
    components = _pauli_components(observable, len(support))
    # Axes in wire order, then identity (index 0) on every wire outside the light cone.
    components = components.permute(*np.argsort(support).tolist())
    full = torch.zeros([3] * n, dtype=components.dtype, device=device)
    inside = tuple(slice(None) if w in support else 0 for w in range(n))
    full[inside] = components
    return full.reshape(3**n)


def _conjugate(
    observables: torch.Tensor, gate: torch.Tensor, axes: list[int], m: int
) -> torch.Tensor:
    """``G^dag O G`` for ``m``-qubit observables ``(..., 2^m, 2^m)``, ``G`` on qubits ``axes``."""
    observables = _apply(observables, gate.conj().T, axes, 2 * m)
    return _apply(observables, gate.T, [m + a for a in axes], 2 * m)


def _apply(tensor: torch.Tensor, matrix: torch.Tensor, axes: list[int], bits: int) -> torch.Tensor:
    """``matrix`` (``2^k x 2^k``) contracted into bit positions ``axes`` (0 most significant)
    of the last ``2^bits`` entries of ``tensor`` (its leading dimensions are a batch); returns
    the same shape."""
    k = len(axes)
    grouped = tensor.reshape(-1, *[2] * bits)
    targets = [1 + axis for axis in axes]
    moved = torch.movedim(grouped, targets, list(range(-k, 0)))
    result = _contract_last(moved.reshape(*moved.shape[:-k], 2**k), matrix)
    result = result.reshape(*moved.shape[:-k], *[2] * k)
    return torch.movedim(result, list(range(-k, 0)), targets).reshape(tensor.shape)


def _contract_last(values: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    """``values @ matrix.T`` over the last axis, ``(..., d) -> (..., d_out)``, as a broadcast
    product and sum: these matrices are tiny, and a BLAS call for them can cost more in thread
    start-up than the arithmetic."""
    return (values[..., None, :] * matrix).sum(-1)


def _pauli_components(observables: torch.Tensor, m: int) -> torch.Tensor:
    """``Tr(P O) / 2^m`` for the ``I``/``Z``/``X`` strings ``P`` of ``(..., 2^m, 2^m)``
    observables: float64 ``(..., 3, ..., 3)``, one axis per qubit."""
    batch = observables.shape[:-2]
    # (r_0, ..., r_{m-1}, c_0, ..., c_{m-1}) -> ((r_0, c_0), (r_1, c_1), ...)
    order = [0] + [1 + axis for w in range(m) for axis in (w, m + w)]
    tensor = observables.reshape(-1, *[2] * (2 * m)).permute(order).reshape(-1, *[4] * m)
    # basis[a, (r, c)] = P_a[c, r] / 2, so contracting gives Tr(P_a O) / 2 per qubit.
    basis = np.stack([_PAULIS[name].T.reshape(4) / 2 for name in PAULI_ORDER])
    basis = torch.as_tensor(basis, dtype=torch.complex128, device=observables.device)
    for w in range(m):
        tensor = torch.movedim(_contract_last(torch.movedim(tensor, 1 + w, -1), basis), -1, 1 + w)
    return tensor.real.reshape(*batch, *[3] * m)


def evaluate_expansion(coefficients: torch.Tensor, pixels: torch.Tensor) -> torch.Tensor:
    """The multilinear form on a batch of patches, for checking: ``(N, n) -> (N, n_out)``.

    Builds all ``3^n`` products per patch, so it is a reference, not a fast path.

    Args:
        coefficients: ``(n_out, 3^n)`` from `expansion_coefficients`.
        pixels: ``(N, n)`` pixel values (the circuit rotates by ``pi`` times them).
    """
    angles = torch.pi * pixels
    factors = torch.stack([torch.ones_like(angles), torch.cos(angles), torch.sin(angles)], -1)
    products = factors[:, 0]
    for i in range(1, pixels.shape[1]):
        products = (products[:, :, None] * factors[:, i, None, :]).flatten(1)
    return products @ coefficients.to(products.dtype).T
