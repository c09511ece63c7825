"""Fourier features of a circuit's input angles: the span in which an angle-encoded circuit's
outputs lie (Schuld, Sweke and Meyer 2021).

A circuit that encodes each angle ``x_i`` by a Pauli rotation ``L`` times (once, or before
each of ``L`` layers with data re-uploading) returns, for any observable it measures, a
trigonometric polynomial of degree at most ``L`` in each angle: a linear combination of the
products over the qubits of ``1``, ``cos(k x_i)``, ``sin(k x_i)``, ``1 <= k <= L``. The
products over all ``n`` qubits are ``(2L + 1)^n`` functions; `FourierFeatures` computes those
that are not constant on at most ``order`` qubits.
"""

from __future__ import annotations

import math

import torch
from torch import nn

MAX_FOURIER_FEATURES = 3**8 - 1
"""The most features `default_order` takes, 6,560: every product of ``1, cos x_i, sin x_i``
over 8 qubits but the constant. Beyond it (9 qubits at degree 1, 6 at degree 2) the features
per sample outgrow the classical layer they feed: ``(2L + 1)^n`` grows threefold or more per
qubit."""


def feature_count(n_qubits: int, degree: int, order: int) -> int:
    """Features of `FourierFeatures`: products that are not constant on ``j`` qubits,
    ``sum over j = 1..order of C(n_qubits, j) * (2 * degree)^j``; ``(2 degree + 1)^n - 1``
    at ``order = n_qubits``."""
    return sum(math.comb(n_qubits, j) * (2 * degree) ** j for j in range(1, order + 1))


def default_order(n_qubits: int, degree: int) -> int:
    """The highest order ``<= n_qubits`` whose `feature_count` is at most
    `MAX_FOURIER_FEATURES` (at least 1): every product, the circuit's whole span, up to 8
    qubits at degree 1 and 5 at degree 2; 4 at 10 qubits, 3 at 12 (degree 1)."""
    fitting = [
        order
        for order in range(1, n_qubits + 1)
        if feature_count(n_qubits, degree, order) <= MAX_FOURIER_FEATURES
    ]
    return max(fitting, default=1)


class FourierFeatures(nn.Module):
    """Angles ``(..., n_qubits)`` (radians) -> their Fourier features ``(..., n_features)``.

    Each angle ``x_i`` gives ``cos(k x_i)`` and ``sin(k x_i)`` for ``k = 1..degree``; a
    feature is a product of one of these on each of ``j`` distinct qubits, ``1 <= j <=
    order``, so ``order=1`` gives sums of functions of one angle each and ``order=n_qubits``
    the whole span of a circuit that encodes each angle ``degree`` times, the constant aside
    (the bias of the layer that follows). The features are in the order of ``j``, then of the
    product's last qubit, then of its other factors in the same order; each qubit's functions
    are ``cos x, sin x, cos 2x, sin 2x, ...``. They are built qubit by qubit, each product
    once from a product over fewer qubits (about one multiply per feature and sample), not
    gathered from the per-qubit values. No parameters: the features are fixed functions.

    Args:
        n_qubits: Angles per sample.
        degree: Highest frequency per angle, the number of times the circuit encodes it.
        order: Most qubits a product spans, ``1..n_qubits``.

    Raises:
        ValueError: ``n_qubits`` or ``degree`` below 1, or ``order`` outside ``1..n_qubits``.
    """

    def __init__(self, n_qubits: int, degree: int, order: int) -> None:
        super().__init__()
        for name, value in {"n_qubits": n_qubits, "degree": degree}.items():
            if value < 1:
                raise ValueError(f"{name} must be at least 1, got {value}")
        if not 1 <= order <= n_qubits:
            raise ValueError(
                f"fourier_order must be between 1 and n_qubits={n_qubits}, got {order}"
            )
        self.n_qubits, self.degree, self.order = n_qubits, degree, order

    @property
    def n_features(self) -> int:
        """Features per sample, `feature_count`."""
        return feature_count(self.n_qubits, self.degree, self.order)

    def forward(self, angles: torch.Tensor) -> torch.Tensor:
        frequencies = torch.arange(1, self.degree + 1, dtype=angles.dtype, device=angles.device)
        phases = angles.unsqueeze(-1) * frequencies  # (..., n, degree)
        waves = torch.stack([phases.cos(), phases.sin()], dim=-1).flatten(-2)  # (..., n, 2 degree)
        # products[j]: the products over exactly j of the qubits seen so far, (..., count).
        products = [angles.new_ones(*angles.shape[:-1], 1)]
        for qubit in range(self.n_qubits):
            wave = waves[..., qubit, :]
            grown = [
                (products[j - 1].unsqueeze(-1) * wave.unsqueeze(-2)).flatten(-2)
                for j in range(1, min(len(products), self.order) + 1)
            ]
            products = [products[0]] + [
                torch.cat([products[j], new], dim=-1) if j < len(products) else new
                for j, new in enumerate(grown, start=1)
            ]
        return torch.cat(products[1:], dim=-1)

    def extra_repr(self) -> str:
        return f"n_qubits={self.n_qubits}, degree={self.degree}, order={self.order}"
