"""The fused CPU kernel of the multilinear quanvolution: build, cache, call.

``kernel.c`` is compiled on first use, once per scalar type, by
`hqnn_lightning.utils.native.build_library` (cached in ``$HQNN_LIGHTNING_KERNEL_DIR``, default
``~/.cache/hqnn_lightning/kernels``, one build per source, flags, compiler and CPU), and called
through `ctypes`, which releases the GIL: the rows of a batch are split over
``torch.get_num_threads()`` threads.

Without a working compiler `load_kernel` returns ``None`` (with one warning) and callers
use their pure-torch path.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import torch

from hqnn_lightning.quantum.geometry import conv_output_size
from hqnn_lightning.utils.native import build_library, run_in_threads

SOURCE = Path(__file__).with_name("kernel.c")
COMPILE_FLAGS = ("-O3", "-march=native", "-ffast-math", "-fPIC", "-std=c11")
VARIANTS = {
    torch.float32: ("quanvolution_f32", "float", "cosf", "sinf"),
    torch.float64: ("quanvolution_f64", "double", "cos", "sin"),
}
MAX_QUBITS = 9
"""Largest patch the kernel takes (3x3); the C source sizes its stack buffers by it."""


@dataclass(frozen=True)
class CoefficientTable:
    """The expansion coefficients of a filter's support, in the kernel's row-by-row (CSR)
    layout.

    The ``n`` qubits are split into a head (the first ``n // 2``) and a tail, so that
    ``c[o, P]`` is ``c[o, r, s]`` with ``r`` indexing the head's factors and ``s`` the tail's.

    Args:
        n_qubits: Qubits of the patch.
        n_head: Qubits in the head.
        output_rows: ``(n_out + 1,)`` int64, output ``o``'s rows are ``output_rows[o:o+2]``.
        row_index: ``(n_rows,)`` int64, the head index ``r`` of each row.
        row_terms: ``(n_rows + 1,)`` int64, row ``k``'s terms are ``row_terms[k:k+2]``.
        term_index: ``(n_terms,)`` int64, the tail index ``s`` of each term.
        term_position: ``(n_terms,)`` int64, each term's index in the flattened
            ``(n_out, 3**n)`` coefficients.
        term_coef: ``(n_terms,)`` float64 coefficients.
    """

    n_qubits: int
    n_head: int
    output_rows: np.ndarray
    row_index: np.ndarray
    row_terms: np.ndarray
    term_index: np.ndarray
    term_position: np.ndarray
    term_coef: np.ndarray

    @classmethod
    def from_coefficients(cls, coefficients: np.ndarray, support: np.ndarray) -> CoefficientTable:
        """The entries of ``(n_out, 3**n)`` float64 ``coefficients`` where the bool
        ``support`` (same shape) is true."""
        n_out, size = coefficients.shape
        n = round(np.log(size) / np.log(3))
        n_head = n // 2
        tail_size = 3 ** (n - n_head)
        mask = support.reshape(n_out, 3**n_head, tail_size)
        output_rows, row_index, row_terms, term_position = [0], [], [0], []
        for o in range(n_out):
            for r in range(3**n_head):
                (nonzero,) = np.nonzero(mask[o, r])
                if nonzero.size:
                    row_index.append(r)
                    term_position.extend(o * size + r * tail_size + nonzero)
                    row_terms.append(len(term_position))
            output_rows.append(len(row_index))
        positions = np.asarray(term_position, dtype=np.int64)
        return cls(
            n,
            n_head,
            np.asarray(output_rows, dtype=np.int64),
            np.asarray(row_index, dtype=np.int64),
            np.asarray(row_terms, dtype=np.int64),
            positions % tail_size,
            positions,
            coefficients.reshape(-1)[positions].astype(np.float64),
        )

    @property
    def n_terms(self) -> int:
        """Coefficients in the support, summed over the outputs."""
        return len(self.term_coef)

    def structure(self) -> list[int]:
        """Addresses of the four CSR index arrays, as the kernel takes them."""
        arrays = (self.output_rows, self.row_index, self.row_terms, self.term_index)
        return [array.ctypes.data for array in arrays]


@cache
def load_kernel() -> ctypes.CDLL | None:
    """The compiled kernel library, built on first use; ``None`` if it cannot be built."""
    variants = [
        (f"-DNAME={name}", f"-DSCALAR={scalar}", f"-DCOS={cos}", f"-DSIN={sin}")
        for name, scalar, cos, sin in VARIANTS.values()
    ]
    library = build_library("quanvolution", SOURCE, COMPILE_FLAGS, variants)
    if library is None:
        return None
    pointer, i64 = ctypes.c_void_p, ctypes.c_int64
    for name, *_ in VARIANTS.values():
        for function in (getattr(library, name), getattr(library, name + "_grad")):
            function.argtypes = [pointer, pointer, *[i64] * 7, *[pointer] * 5, i64, i64]
            function.restype = None
    return library


def run_kernel(
    library: ctypes.CDLL,
    images: torch.Tensor,
    table: CoefficientTable,
    kernel_size: int,
    stride: int,
    term_coef: np.ndarray | None = None,
) -> torch.Tensor:
    """The quanvolution of unpadded, contiguous CPU images.

    Args:
        library: From `load_kernel`.
        images: ``(B, C, H, W)`` float32 or float64 pixels, contiguous, on the CPU.
        table: The filter's coefficients.
        kernel_size: Patch side; ``kernel_size**2 == table.n_qubits``.
        stride: Step between patches, in pixels.
        term_coef: ``(n_terms,)`` coefficient values replacing ``table.term_coef``.

    Returns:
        ``(B, C * k**2, H', W')`` of ``images``' dtype, with ``H' = (H - k) // stride + 1``.
    """
    batch, channels, height, width = images.shape
    out_h = conv_output_size(height, kernel_size, stride)
    out_w = conv_output_size(width, kernel_size, stride)
    out = torch.empty(batch, channels * kernel_size**2, out_h, out_w, dtype=images.dtype)
    function = getattr(library, VARIANTS[images.dtype][0])
    values = table.term_coef if term_coef is None else term_coef
    coefficients = np.ascontiguousarray(values, dtype=_numpy_dtype(images.dtype))
    geometry = (height, width, kernel_size, stride, out_h, out_w, table.n_head)
    pointers = [*table.structure(), coefficients.ctypes.data]

    def work(begin: int, end: int, _: int) -> None:
        function(images.data_ptr(), out.data_ptr(), *geometry, *pointers, begin, end)

    run_in_threads(batch * channels * out_h, work)
    return out


def run_kernel_grad(
    library: ctypes.CDLL,
    images: torch.Tensor,
    grad_out: torch.Tensor,
    table: CoefficientTable,
    kernel_size: int,
    stride: int,
) -> np.ndarray:
    """The gradient of a loss with respect to the table's coefficients.

    Args:
        library: From `load_kernel`.
        images: ``(B, C, H, W)`` pixels as given to `run_kernel`.
        grad_out: ``(B, C * k**2, H', W')`` gradient of the loss with respect to the output,
            contiguous, of ``images``' dtype.
        table: The filter's coefficients (their values are not used).
        kernel_size: Patch side.
        stride: Step between patches.

    Returns:
        ``(n_terms,)`` float64, accumulated in double over the patches.
    """
    batch, channels, height, width = images.shape
    out_h = conv_output_size(height, kernel_size, stride)
    out_w = conv_output_size(width, kernel_size, stride)
    function = getattr(library, VARIANTS[images.dtype][0] + "_grad")
    geometry = (height, width, kernel_size, stride, out_h, out_w, table.n_head)
    rows = batch * channels * out_h
    partial = np.zeros((max(1, min(torch.get_num_threads(), rows)), table.n_terms))

    def work(begin: int, end: int, thread: int) -> None:
        accumulator = partial[thread].ctypes.data
        function(
            images.data_ptr(),
            grad_out.data_ptr(),
            *geometry,
            *table.structure(),
            accumulator,
            begin,
            end,
        )

    run_in_threads(rows, work)
    return partial.sum(0)


def _numpy_dtype(dtype: torch.dtype) -> np.dtype:
    return np.dtype(np.float32) if dtype == torch.float32 else np.dtype(np.float64)
