"""The quanvolutional layer: a fixed quantum filter slid over the image like a convolution."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from hqnn_lightning.quantum.circuits import QuanvolutionFilterCircuit
from hqnn_lightning.quantum.layers import QuantumLayer


class QuanvolutionLayer(nn.Module):
    """Applies a :class:`QuanvolutionFilterCircuit` to every patch of every channel.

    Each input channel is cut into ``kernel_size x kernel_size`` patches with ``stride`` (as
    ``torch.nn.functional.unfold`` does); each patch is one circuit evaluation returning
    ``kernel_size**2`` expectation values, which become that many output channels. All patches
    of all channels of all images go to the device in one broadcast call.

    ``(B, C, H, W) -> (B, C * kernel_size**2, H', W')`` with
    ``H' = (H + 2 * padding - kernel_size) // stride + 1`` (same for ``W'``). Pixels are
    expected in ``[0, 1]`` (they are rotated by ``pi * x``); values outside still work, as
    larger angles. Output channel ``c * k**2 + q`` is qubit ``q``'s ``<Z>`` on input channel
    ``c``. The filter has no trainable parameters.

    Args:
        kernel_size: Patch side (2 or 3 in the study).
        stride: Step between patches.
        padding: Zero padding on each side.
        n_layers: Number of ``RandomLayers`` in the filter.
        seed: Seed of the fixed random filter.
        device: PennyLane device name.
        shots: ``None`` for exact expectation values, else samples per circuit.
        **device_options: Passed to the PennyLane device.
    """

    def __init__(
        self,
        kernel_size: int = 2,
        stride: int = 2,
        padding: int = 0,
        n_layers: int = 1,
        seed: int = 0,
        device: str = "default.qubit",
        shots: int | None = None,
        **device_options: Any,
    ) -> None:
        super().__init__()
        if stride < 1:
            raise ValueError(f"stride must be at least 1, got {stride}")
        if padding < 0:
            raise ValueError(f"padding must be non-negative, got {padding}")
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = padding
        self.circuit = QuanvolutionFilterCircuit(kernel_size, n_layers, seed)
        self.filter = QuantumLayer(self.circuit, device=device, shots=shots, **device_options)

    @property
    def channels_per_input_channel(self) -> int:
        """Output channels produced from each input channel (``kernel_size**2``)."""
        return self.circuit.n_outputs

    def output_size(self, size: int) -> int:
        """Output side length for an input side of ``size`` pixels."""
        return (size + 2 * self.padding - self.kernel_size) // self.stride + 1

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W) -> (B, C * kernel_size**2, H', W')``."""
        if images.ndim != 4:
            raise ValueError(f"expected images of shape (B, C, H, W), got {tuple(images.shape)}")
        batch, channels, height, width = images.shape
        out_h, out_w = self.output_size(height), self.output_size(width)
        if out_h < 1 or out_w < 1:
            raise ValueError(
                f"images of {height}x{width} pixels are smaller than one {self.kernel_size}x"
                f"{self.kernel_size} patch"
            )
        k2 = self.kernel_size**2
        patches = F.unfold(images, self.kernel_size, padding=self.padding, stride=self.stride)
        # (B, C*k2, L) -> (B, C, L, k2): one row per circuit evaluation.
        patches = patches.view(batch, channels, k2, -1).transpose(2, 3)
        expectations = self.filter(patches)
        # (B, C, L, n_out) -> (B, C, n_out, L) -> (B, C*n_out, H', W')
        return expectations.transpose(2, 3).reshape(batch, channels * k2, out_h, out_w)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
