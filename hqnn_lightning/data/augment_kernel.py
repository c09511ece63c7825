"""The CPU fast path of `BatchAugmentation`.

On the CPU the tensor path makes a dozen passes over each batch in memory, and its rotation
(``grid_sample``) alone takes half the time. ``augment_kernel.c`` does the whole augmentation of
an image (colour jitter, flip, bilinear rotation, scaling, normalisation) in one pass over it
while it sits in cache, with the same arithmetic; the batch's images are split over threads.
It takes uint8 input without hue jitter (the tensor path handles the rest, and every other
device).
"""

from __future__ import annotations

import ctypes
from functools import cache
from pathlib import Path

import torch
from torch import Tensor

from hqnn_lightning.utils.native import build_library, run_in_threads

SOURCE = Path(__file__).with_name("augment_kernel.c")
COMPILE_FLAGS = (
    "-O3",
    "-march=native",
    "-ffp-contract=off",
    "-fno-math-errno",
    "-fno-trapping-math",
    "-fPIC",
    "-std=c11",
)


@cache
def load_augment_kernel() -> ctypes.CDLL | None:
    """The compiled kernel, built on first use; ``None`` when it cannot be built."""
    library = build_library("augment", SOURCE, COMPILE_FLAGS)
    if library is not None:
        pointer, i64 = ctypes.c_void_p, ctypes.c_int64
        library.augment_batch.argtypes = [pointer, pointer, *[i64] * 4, pointer, pointer, i64]
        library.augment_batch.argtypes += [pointer] * 4
        library.augment_batch.restype = ctypes.c_int
    return library


def augment_uint8(
    library: ctypes.CDLL,
    images: Tensor,
    ops: Tensor | None,
    factors: Tensor | None,
    flip: Tensor | None,
    angle: Tensor | None,
    mean: tuple[float, float, float] | None,
    std: tuple[float, float, float] | None,
) -> Tensor:
    """Augments a uint8 CPU batch with given per-sample parameters.

    Args:
        library: From `load_augment_kernel`.
        images: uint8 ``(B, 3, H, W)`` on the CPU.
        ops: int64 ``(B, n)``: each sample's colour operations in order (brightness 0,
            contrast 1, saturation 2), or ``None``.
        factors: float32 ``(B, n)``: the factor of each of those operations.
        flip: bool ``(B,)`` or ``None``.
        angle: float32 ``(B,)`` counter-clockwise degrees, or ``None``.
        mean: Per-channel mean subtracted from the ``[0, 1]`` values, or ``None``.
        std: Per-channel standard deviation they are divided by, or ``None``.

    Returns:
        float32 ``(B, 3, H, W)``.

    Raises:
        MemoryError: the kernel could not allocate its scratch image.
    """
    images = images.contiguous()
    out = torch.empty(images.shape, dtype=torch.float32)
    steps = 0 if ops is None else ops.shape[1]
    ops = None if ops is None else ops.to(torch.int64).contiguous()
    factors = None if factors is None else factors.to(torch.float32).contiguous()
    flips = None if flip is None else flip.to(torch.uint8).contiguous()
    cos_sin = None
    if angle is not None:
        radians = torch.deg2rad(angle.to(torch.float32))
        cos_sin = torch.stack([radians.cos(), radians.sin()], dim=1).contiguous()
    normalization = (None, None)
    if mean is not None and std is not None:
        normalization = (torch.tensor(mean), torch.tensor(std))
    arrays = [ops, factors, flips, cos_sin, *normalization]
    pointers = [None if array is None else array.data_ptr() for array in arrays]
    _run_kernel(library, images, out, steps, pointers)
    return out


def _run_kernel(
    library: ctypes.CDLL, images: Tensor, out: Tensor, steps: int, pointers: list[int | None]
) -> None:
    """Runs the kernel on contiguous uint8 ``images`` ``(B, 3, H, W)`` into float32 ``out`` of
    the same shape, the batch split over threads.

    Args:
        library: From `load_augment_kernel`.
        images: The batch.
        out: Where the augmented batch is written.
        steps: Colour operations per sample (``n`` of ``ops``).
        pointers: Addresses of the parameter arrays in the kernel's order (ops, factors,
            flips, cos and sin of the angles, mean, std), ``None`` for one left out; the
            caller keeps the arrays alive.

    Raises:
        MemoryError: the kernel could not allocate its scratch image.
    """
    batch, _, height, width = images.shape
    failures = []

    def work(begin: int, end: int, _: int) -> None:
        status = library.augment_batch(
            images.data_ptr(),
            out.data_ptr(),
            begin,
            end,
            height,
            width,
            *pointers[:2],
            steps,
            *pointers[2:],
        )
        if status:
            failures.append(status)

    run_in_threads(batch, work)
    if failures:
        raise MemoryError(f"the augmentation kernel could not allocate a {height}x{width} image")
