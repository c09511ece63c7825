"""The gates the torch state-vector backend runs with parameters from inputs or weights, and
their matrices in torch.

A gate whose parameters are constants needs nothing here: its matrix is PennyLane's own,
computed once when the circuit is compiled. A gate whose parameters vary needs a torch formula
that autograd can differentiate: ``Rot`` has its closed form (`rot_matrices`); every other one
has one parameter and a matrix of the form ``C0 + cos(f theta) C1 + sin(f theta) C2``, whose
constant matrices are read off PennyLane's ``compute_matrix`` at three angles (`TrigForm`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache, cached_property, lru_cache

import numpy as np
import pennylane as qml
import torch

FREQUENCIES: dict[str, float] = {
    "RX": 0.5,
    "RY": 0.5,
    "RZ": 0.5,
    "PhaseShift": 1.0,
    "U1": 1.0,
    "CRX": 0.5,
    "CRY": 0.5,
    "CRZ": 0.5,
    "ControlledPhaseShift": 1.0,
    "IsingXX": 0.5,
    "IsingYY": 0.5,
    "IsingZZ": 0.5,
    "IsingXY": 0.5,
    "SingleExcitation": 0.5,
}
"""One-parameter gates with a torch formula, and the frequency ``f`` of their angle."""

VARIABLE_GATES = ("Rot", *FREQUENCIES)
"""Every gate whose parameters may come from the inputs or weights."""

MAX_FIXED_WIRES = 3
"""Widest gate without parameters kept whole; wider ones are decomposed (``QFT``, say)."""


@dataclass(frozen=True)
class TrigForm:
    """``matrix(theta) = c0 + cos(f theta) c1 + sin(f theta) c2``, ``(d, d)`` complex each."""

    frequency: float
    c0: np.ndarray
    c1: np.ndarray
    c2: np.ndarray

    @cached_property
    def real(self) -> bool:
        """Whether the matrix is real for every real angle."""
        return not any(np.iscomplexobj(c) and np.abs(c.imag).max() > 0 for c in self.terms)

    @property
    def terms(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self.c0, self.c1, self.c2


@cache
def trig_form(name: str) -> TrigForm:
    """The `TrigForm` of gate ``name`` (a key of `FREQUENCIES`), from PennyLane's matrices at
    ``f theta = 0, pi/2, pi``."""
    gate = getattr(qml, name)
    frequency = FREQUENCIES[name]

    def matrix(angle: float) -> np.ndarray:
        return np.asarray(gate.compute_matrix(angle / frequency), dtype=complex)

    at_zero, at_quarter, at_half = matrix(0.0), matrix(math.pi / 2), matrix(math.pi)
    c0 = (at_zero + at_half) / 2
    terms = (c0, (at_zero - at_half) / 2, at_quarter - c0)
    return TrigForm(frequency, *(snap(term) for term in terms))


def snap(matrix: np.ndarray) -> np.ndarray:
    """``matrix`` with real and imaginary parts within 1e-12 of an integer set to it (the
    rounding of ``sin(pi)``, say), so that a rotation's ``c0`` is exactly zero and skipped."""
    parts = [matrix.real, matrix.imag]
    parts = [
        np.where(np.abs(part - np.round(part)) < 1e-12, np.round(part), part) for part in parts
    ]
    return parts[0] + 1j * parts[1]


@lru_cache(maxsize=256)
def constant(values: tuple, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """A small constant tensor, made once per dtype and device."""
    return torch.tensor(values, dtype=dtype, device=device)


def complex_dtype(real: torch.dtype) -> torch.dtype:
    """complex128 for float64, complex64 otherwise."""
    return torch.complex128 if real == torch.float64 else torch.complex64


def trig_matrices(name: str, angles: torch.Tensor) -> torch.Tensor:
    """``(...)`` real angles (radians) of gates ``name`` -> ``(..., d, d)`` complex (real
    for a real gate)."""
    form = trig_form(name)
    half = angles * form.frequency
    c0, c1, c2 = trig_terms(name, angles.dtype, angles.device)
    cos, sin = torch.cos(half)[..., None, None], torch.sin(half)[..., None, None]
    matrices = cos * c1 + sin * c2
    return matrices if c0 is None else c0 + matrices


@lru_cache(maxsize=256)
def trig_terms(
    name: str, real_dtype: torch.dtype, device: torch.device
) -> tuple[torch.Tensor | None, torch.Tensor, torch.Tensor]:
    """The `TrigForm` of gate ``name`` as tensors, real for a real gate; ``c0`` ``None`` when
    it is zero (the rotations), so that its sum is skipped."""
    form = trig_form(name)
    dtype = real_dtype if form.real else complex_dtype(real_dtype)
    terms = [torch.as_tensor(c.real if form.real else c).to(device, dtype) for c in form.terms]
    return None if not form.c0.any() else terms[0], terms[1], terms[2]


# Rot(phi, theta, omega) = RZ(omega) RY(theta) RZ(phi) = [[e^(-i p) c, -e^(i m) s],
# [e^(-i m) s, e^(i p) c]] with p = (phi + omega) / 2, m = (phi - omega) / 2, c and s of
# theta / 2; half = (theta / 2, p, m), trig = (c, cos p, cos m, s, sin p, sin m). Entry j of
# (re00, re01, re10, re11, im00, im01, im10, im11) is sign[j] * trig[first[j]] * trig[second[j]].
ROT_HALF_ANGLES = ((0.0, 0.5, 0.5), (0.5, 0.0, 0.0), (0.0, 0.5, -0.5))
ROT_FIRST = (0, 3, 3, 0, 0, 3, 3, 0)
ROT_SECOND = (1, 2, 2, 1, 4, 5, 5, 4)
ROT_SIGN = (1, -1, 1, 1, -1, -1, -1, 1)


def rot_matrices(angles: torch.Tensor) -> torch.Tensor:
    """``(..., 3)`` angles ``(phi, theta, omega)`` (radians) of ``Rot`` gates ->
    ``(..., 2, 2)`` complex."""
    device, dtype = angles.device, angles.dtype
    half = angles @ constant(ROT_HALF_ANGLES, dtype, device)
    trig = torch.cat([torch.cos(half), torch.sin(half)], -1)
    entries = trig[..., constant(ROT_FIRST, torch.long, device)]
    entries = entries * trig[..., constant(ROT_SECOND, torch.long, device)]
    entries = entries * constant(ROT_SIGN, dtype, device)
    return torch.complex(entries[..., :4], entries[..., 4:]).unflatten(-1, (2, 2))


def gate_matrices(name: str, angles: torch.Tensor) -> torch.Tensor:
    """``(..., n_params)`` angles of gates ``name`` (one of `VARIABLE_GATES`) ->
    ``(..., d, d)``, complex unless the gate is real (``RY``, ...)."""
    if name == "Rot":
        return rot_matrices(angles)
    return trig_matrices(name, angles[..., 0])


def is_real_gate(name: str) -> bool:
    """Whether variable gate ``name`` has a real matrix at every angle."""
    return name != "Rot" and trig_form(name).real


def monomial(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``(image, phases)`` with ``matrix[image[j], j] = phases[j]`` the only nonzero entry of
    column ``j``, for a matrix that permutes basis states up to phases (``CNOT``, ``CZ``,
    ``SWAP``, ``Toffoli``); ``None`` otherwise."""
    nonzero = np.abs(matrix) > 1e-12
    if not (nonzero.sum(0) == 1).all() or not (nonzero.sum(1) == 1).all():
        return None
    image = nonzero.argmax(0)
    return image, matrix[image, np.arange(matrix.shape[1])]


def bit_positions(wires: tuple[int, ...], n_qubits: int) -> np.ndarray:
    """``(2^n,)`` index, in the ``2^k`` basis of ``wires`` (first wire most significant), of
    every basis state of ``n`` qubits (wire 0 most significant, as in PennyLane)."""
    basis = np.arange(2**n_qubits)
    index = np.zeros_like(basis)
    for wire in wires:
        index = 2 * index + ((basis >> (n_qubits - 1 - wire)) & 1)
    return index


def full_monomial(
    image: np.ndarray, phases: np.ndarray, wires: tuple[int, ...], n_qubits: int
) -> tuple[np.ndarray, np.ndarray]:
    """A monomial gate on ``wires`` as ``(source, phase)`` on the whole state:
    ``new[:, t] = phase[t] * state[:, source[t]]``."""
    local = bit_positions(wires, n_qubits)
    preimage = np.argsort(image)
    basis = np.arange(2**n_qubits)
    source = basis.copy()
    target_local = preimage[local]
    for position, wire in enumerate(wires):
        shift = n_qubits - 1 - wire
        bit = (target_local >> (len(wires) - 1 - position)) & 1
        source = (source & ~(1 << shift)) | (bit << shift)
    return source, phases[preimage[local]]
