"""The quanvolutional layer: a fixed quantum filter slid over the image like a convolution."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from hqnn_lightning.quantum.circuits import (
    QuantumCircuit,
    QuanvolutionFilterCircuit,
    TrainableQuanvolutionFilterCircuit,
)
from hqnn_lightning.quantum.devices import TORCH_DEVICE, QuantumDevice, as_device
from hqnn_lightning.quantum.expansion.layer import ExpansionQuanvolution
from hqnn_lightning.quantum.factory import make_layer
from hqnn_lightning.quantum.geometry import conv_output_size
from hqnn_lightning.quantum.module import QuantumModule


class QuanvolutionLayer(QuantumModule):
    """Applies a `QuanvolutionFilterCircuit` to every patch of every channel.

    Each input channel is cut into ``kernel_size x kernel_size`` patches with ``stride`` (as
    ``torch.nn.functional.unfold`` does); each patch is one circuit evaluation returning
    ``kernel_size**2`` expectation values, which become that many output channels.

    ``(B, C, H, W) -> (B, C * kernel_size**2, H', W')`` with
    ``H' = conv_output_size(H, kernel_size, stride, padding)`` (same for ``W'``). Pixels are
    expected in ``[0, 1]`` (they are rotated by ``pi * x``); values outside still work, as
    larger angles. Output channel ``c * k**2 + q`` is qubit ``q``'s ``<Z>`` on input channel
    ``c``.

    The filter on each patch is ``make_layer(circuit, device)``. ``device="torch"`` (the
    default) evaluates the circuit's exact expansion in the patch's
    cosines and sines (`ExpansionQuanvolution`): a fused compiled kernel on the CPU when
    no gradient flows through the layer, pure torch otherwise; it agrees with ``default.qubit``
    to rounding. A PennyLane device name (``"default.qubit"``, ``"lightning.qubit"``) runs the
    circuit's QNode instead, all patches of all channels of all images in one broadcast call:
    the reference, and the route to finite shots and hardware.

    A fixed filter (``trainable=False``) has no parameters, and its output requires no grad
    unless the images do; input gradients are exact on every device.

    Args:
        kernel_size: Patch side (2 or 3 in the study).
        stride: Step between patches.
        padding: Zero padding on each side.
        n_layers: Number of ``RandomLayers`` in the filter.
        seed: Seed of the random filter (its gates, and its angles' initial values).
        device: ``"torch"``, a PennyLane device name, or a `QuantumDevice` of
            ``kernel_size**2`` wires from `make_device` (then without shots or options here).
        shots: ``None`` for exact expectation values, else samples per circuit (PennyLane
            devices only).
        trainable: Learn the ``RandomLayers`` angles (a parameter of shape
            ``(n_layers, kernel_size**2)``, initialised to the seed's angles).
        circuit: Another filter circuit on the ``kernel_size**2`` pixels of a patch, in place
            of the random one (``n_layers``, ``seed`` and ``trainable`` then do not apply).
        **device_options: Passed to the PennyLane device.
    """

    def __init__(
        self,
        kernel_size: int = 2,
        stride: int = 2,
        padding: int = 0,
        n_layers: int = 1,
        seed: int = 0,
        device: str | QuantumDevice = TORCH_DEVICE,
        shots: int | None = None,
        trainable: bool = False,
        circuit: QuantumCircuit | None = None,
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
        if circuit is None:
            circuit_type = (
                TrainableQuanvolutionFilterCircuit if trainable else QuanvolutionFilterCircuit
            )
            circuit = circuit_type(kernel_size, n_layers, seed)
        elif circuit.n_qubits != kernel_size**2:
            raise ValueError(
                f"the filter circuit has {circuit.n_qubits} qubits, a {kernel_size}x{kernel_size} "
                f"patch needs {kernel_size**2}"
            )
        self.circuit = circuit
        quantum_device = as_device(device, self.circuit.n_qubits, shots, **device_options)
        self.device_name = quantum_device.name
        # A trainable filter starts from the seed's angles, whichever layer runs it.
        self.filter = make_layer(self.circuit, quantum_device, init="uniform")
        if isinstance(circuit, TrainableQuanvolutionFilterCircuit):
            self.filter.load_state_dict({"weights": torch.as_tensor(self.circuit.random_weights)})

    @property
    def channels_per_input_channel(self) -> int:
        """Output channels produced from each input channel (``kernel_size**2``)."""
        return self.circuit.n_outputs

    @property
    def trainable(self) -> bool:
        """Whether the filter's angles are parameters."""
        return bool(self.circuit.weight_shapes)

    def describe(self) -> dict[str, Any]:
        """What identifies this filter's output, for the feature cache: ``kind`` ``"quanv"``,
        the circuit (its seed and angles included) and the patch geometry."""
        return {
            "kind": "quanv",
            "circuit": repr(self.circuit),
            "kernel_size": self.kernel_size,
            "stride": self.stride,
            "padding": self.padding,
        }

    def circuit_executions(self, inputs: torch.Tensor) -> int:
        """One circuit per patch of every channel of ``inputs`` ``(B, C, H, W)``."""
        batch, channels, height, width = inputs.shape
        return batch * channels * self.output_size(height) * self.output_size(width)

    def on_device(self, device: QuantumDevice) -> nn.Module:
        """The same filter (and, if trainable, the same angles) run on ``device``."""
        moved = QuanvolutionLayer(
            self.kernel_size, self.stride, self.padding, device=device, circuit=self.circuit
        )
        if self.trainable:
            moved.filter.load_state_dict(self.filter.state_dict())
        return moved

    def output_size(self, size: int) -> int:
        """Output side length for an input side of ``size`` pixels."""
        return conv_output_size(size, self.kernel_size, self.stride, self.padding)

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
        if isinstance(self.filter, ExpansionQuanvolution):
            if self.padding:
                images = F.pad(images, [self.padding] * 4)
            return self.filter(images, self.stride)
        k2, n_out = self.kernel_size**2, self.circuit.n_outputs
        patches = F.unfold(images, self.kernel_size, padding=self.padding, stride=self.stride)
        # (B, C*k2, L) -> (B, C, L, k2): one row per circuit evaluation.
        patches = patches.view(batch, channels, k2, -1).transpose(2, 3)
        expectations = self.filter(patches)
        # (B, C, L, n_out) -> (B, C, n_out, L) -> (B, C*n_out, H', W')
        return expectations.transpose(2, 3).reshape(batch, channels * n_out, out_h, out_w)

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
            f"device={self.device_name!r}"
        )
