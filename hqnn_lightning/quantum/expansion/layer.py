"""The quanvolution's exact fast path: the filter's multilinear expansion, slid over images.

A circuit that opens each wire with ``RY(pi x_i)`` and then reads no input (checked on the
operations it emits, `expansion.match`; the library's `QuanvolutionFilterCircuit` is one) maps a
patch to ``<Z_q>`` values that are exactly ``sum_P c[q, P] prod_i f_i(P_i)`` with
``f_i = (1, cos(pi x_i), sin(pi x_i))`` (`expansion.coefficients`). `ExpansionQuanvolution`
evaluates that form on every patch in one of two ways, which agree to rounding:

- the compiled CPU kernel (`expansion.kernel`), fused so that no
  per-patch feature reaches memory, for float32/float64 CPU images that need no gradient; a
  trainable filter gets the gradient of its angles through a second kernel, which accumulates
  the gradient of each coefficient, and autograd from the coefficients to the angles;
- pure torch otherwise (CUDA, images that require grad, no C compiler): the same products in
  chunks of patches, differentiable by autograd in the pixels and the angles.

Both evaluate only the coefficients in the filter's support (`expansion_support`), the
terms that are not identically zero.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from hqnn_lightning.quantum.circuits import QuantumCircuit
from hqnn_lightning.quantum.defaults import INIT, INIT_SCALE
from hqnn_lightning.quantum.expansion.coefficients import (
    expansion_coefficients,
    expansion_support,
    filter_program,
)
from hqnn_lightning.quantum.expansion.kernel import (
    MAX_QUBITS,
    VARIANTS,
    CoefficientTable,
    load_kernel,
    run_kernel,
    run_kernel_grad,
)
from hqnn_lightning.quantum.geometry import conv_output_size
from hqnn_lightning.quantum.initialisation import initial_weights
from hqnn_lightning.quantum.module import QuantumModule
from hqnn_lightning.quantum.statevector.program import StatevectorProgram

CHUNK_ELEMENTS = 2**22
"""Intermediate values per chunk of patches in the pure-torch path (32 MiB in float64)."""


class ExpansionQuanvolution(QuantumModule):
    """A quanvolution filter evaluated exactly, without a quantum simulator, by its
    expansion: slid over images, ``forward(images, stride)`` maps ``(B, C, H, W) ->
    (B, C * k**2, H', W')`` with ``H' = conv_output_size(H, k, stride)``; on rows,
    ``forward(inputs)`` maps ``(..., n_qubits) -> (..., n_qubits)`` as the other layers do.
    `make_layer` builds it on ``"torch"`` for a circuit the expansion provably computes
    (`expansion_mismatch` on the operations it emits).

    Output channel ``c * k**2 + q`` is qubit ``q``'s ``<Z>`` on input channel ``c``; pixels are
    rotated by ``pi`` times their value. The stride and padding are the caller's
    (`QuanvolutionLayer`).

    A circuit with weights (`TrainableQuanvolutionFilterCircuit`) learns them: parameters under
    the circuit's weight names and shapes, in the default dtype; the coefficients are then
    recomputed from them (differentiably, in float64) at every forward.

    Args:
        circuit: The filter.
        program: Its compiled program, if already compiled (`make_layer`).
        init: How the weights start, a name in `INITIALISATIONS`.
        init_scale: Standard deviation of ``init="normal"`` (radians).

    Raises:
        ValueError: the expansion does not hold for the circuit (the message says why).
    """

    def __init__(
        self,
        circuit: QuantumCircuit,
        program: StatevectorProgram | None = None,
        init: str = INIT,
        init_scale: float = INIT_SCALE,
    ) -> None:
        super().__init__()
        self.circuit = circuit
        self.program = filter_program(circuit if program is None else program)
        side = math.isqrt(circuit.n_qubits)
        self.kernel_size = side if side * side == circuit.n_qubits else None
        for name, weight in initial_weights(circuit, init, init_scale).items():
            self.register_parameter(name, nn.Parameter(weight))
        self.support = expansion_support(self.program)
        weights = self.weights_vector()
        weights = None if weights is None else weights.detach().double()
        coefficients = expansion_coefficients(self.program, weights).numpy() * self.support
        self.table = CoefficientTable.from_coefficients(coefficients, self.support)
        self.fixed_coefficients = None if self.trainable else coefficients

    def weights_vector(self) -> torch.Tensor | None:
        """The weights flattened in ``weight_shapes`` order, ``(n_weights,)``; ``None``
        without weights."""
        flat = [getattr(self, name).reshape(-1) for name in self.circuit.weight_shapes]
        return torch.cat(flat) if flat else None

    def coefficients(self, like: torch.Tensor) -> torch.Tensor:
        """``c[q, P]`` on the support, ``(n, 3**n)`` float64 on ``like``'s device."""
        if self.fixed_coefficients is not None:
            return torch.as_tensor(self.fixed_coefficients, device=like.device)
        support = torch.as_tensor(self.support, device=like.device)
        return expansion_coefficients(self.program, self.weights_vector().double()) * support

    def uses_kernel(self, images: torch.Tensor) -> bool:
        """Whether ``forward(images)`` runs the compiled CPU kernel: CPU float32/float64
        images that need no gradient, and a C compiler."""
        return (
            not (torch.is_grad_enabled() and images.requires_grad)
            and images.device.type == "cpu"
            and images.dtype in VARIANTS
            and self.circuit.n_qubits <= MAX_QUBITS
            and load_kernel() is not None
        )

    @property
    def trainable(self) -> bool:
        """Whether the filter has weights to learn."""
        return bool(self.circuit.weight_shapes)

    def forward(self, images: torch.Tensor, stride: int | None = None) -> torch.Tensor:
        """``(B, C, H, W) -> (B, C * k**2, H', W')`` in the dtype of ``images``, patches
        ``stride`` pixels apart; without ``stride``, rows ``(..., n) -> (..., n)``."""
        if stride is None:
            coefficients = self.coefficients(images).to(images.dtype)
            rows = images.reshape(-1, self.circuit.n_qubits)
            return expansion_rows(rows, coefficients).reshape(images.shape)
        k = self.kernel_size
        if k is None:
            raise ValueError(f"a filter of {self.circuit.n_qubits} qubits is no square patch")
        if not self.uses_kernel(images):
            coefficients = self.coefficients(images).to(images.dtype)
            return expansion_convolution(images, coefficients, k, stride)
        images = images.contiguous()
        if self.fixed_coefficients is not None:
            return run_kernel(load_kernel(), images, self.table, k, stride)
        positions = torch.as_tensor(self.table.term_position)
        values = self.coefficients(images).reshape(-1)[positions]
        return _TrainableKernel.apply(images, values, self.table, k, stride)

    def extra_repr(self) -> str:
        return f"{self.circuit}, trainable={self.trainable}"


class _TrainableKernel(torch.autograd.Function):
    """The compiled kernel with a gradient for its coefficient values (not for the images)."""

    @staticmethod
    def forward(
        ctx: Any,
        images: torch.Tensor,
        values: torch.Tensor,
        table: CoefficientTable,
        kernel_size: int,
        stride: int,
    ) -> torch.Tensor:
        ctx.save_for_backward(images)
        ctx.table, ctx.kernel_size, ctx.stride = table, kernel_size, stride
        coefficients = values.detach().numpy()
        return run_kernel(load_kernel(), images, table, kernel_size, stride, coefficients)

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        (images,) = ctx.saved_tensors
        grad_out = grad_out.to(images.dtype).contiguous()
        grad = run_kernel_grad(
            load_kernel(), images, grad_out, ctx.table, ctx.kernel_size, ctx.stride
        )
        return None, torch.from_numpy(grad), None, None, None


def expansion_convolution(
    images: torch.Tensor, coefficients: torch.Tensor, kernel_size: int, stride: int
) -> torch.Tensor:
    """The expansion on every patch in pure torch, differentiable in both arguments.

    Args:
        images: ``(B, C, H, W)`` pixels.
        coefficients: ``(k**2, 3**(k**2))`` from `expansion_coefficients`, same dtype.
        kernel_size: Patch side ``k``.
        stride: Step between patches.

    Returns:
        ``(B, C * k**2, H', W')``.
    """
    batch, channels, height, width = images.shape
    n = kernel_size**2
    out_h = conv_output_size(height, kernel_size, stride)
    out_w = conv_output_size(width, kernel_size, stride)
    patches = F.unfold(images, kernel_size, stride=stride)
    pixels = patches.view(batch, channels, n, -1).transpose(2, 3).reshape(-1, n)
    values = expansion_rows(pixels, coefficients).view(batch, channels, out_h * out_w, n)
    return values.transpose(2, 3).reshape(batch, channels * n, out_h, out_w)


def expansion_rows(pixels: torch.Tensor, coefficients: torch.Tensor) -> torch.Tensor:
    """The expansion on rows of pixels in pure torch, ``(N, n) -> (N, n)``, chunked,
    differentiable in both arguments (``coefficients`` ``(n, 3**n)``, same dtype)."""
    n = pixels.shape[1]
    n_head = n // 2
    head_size, tail_size = 3**n_head, 3 ** (n - n_head)
    # (n_out, head, tail) -> (tail, n_out * head): one matrix product per chunk.
    weights = coefficients.view(n, head_size, tail_size).permute(2, 0, 1).reshape(tail_size, -1)
    chunk = max(1, CHUNK_ELEMENTS // (n * head_size + tail_size))
    outputs = []
    for part in pixels.split(chunk):
        angles = math.pi * part
        factors = torch.stack([torch.ones_like(angles), torch.cos(angles), torch.sin(angles)], -1)
        head = _products(factors[:, :n_head])
        tail = _products(factors[:, n_head:])
        partial = (tail @ weights).view(-1, n, head_size)
        outputs.append((partial * head[:, None, :]).sum(-1))
    return torch.cat(outputs)


def _products(factors: torch.Tensor) -> torch.Tensor:
    """``(N, m, 3) -> (N, 3**m)``: every product of one factor per qubit, qubit 0 most
    significant; ``(N, 0, 3) -> (N, 1)`` ones."""
    products = factors.new_ones(factors.shape[0], 1)
    for i in range(factors.shape[1]):
        products = (products[:, :, None] * factors[:, i, None, :]).flatten(1)
    return products
