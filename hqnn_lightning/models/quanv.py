"""QuanvNet: a fixed quanvolutional layer feeding a small classical CNN."""

from __future__ import annotations

import torch
from torch import nn

from hqnn_lightning.models.backbones import SmallCNN
from hqnn_lightning.models.base import ImageClassifier
from hqnn_lightning.models.registry import MODELS
from hqnn_lightning.quantum import QuanvolutionLayer


@MODELS.register("quanv")
@MODELS.register("quanv_tiny", head_width=8)
class QuanvNet(ImageClassifier):
    """The study's quanvolutional network, ``f = d(q(e(patch)))`` then a CNN.

    ``(B, C, H, W)`` images go through a :class:`QuanvolutionLayer` (fixed random circuits on
    ``kernel_size x kernel_size`` patches) to ``(B, C * kernel_size**2, H', W')``, then a
    :class:`SmallCNN` head to ``(B, 2 * head_width)`` features and a linear layer to
    ``(B, num_classes)`` logits. Only the head trains.

    Args:
        num_classes: Number of classes.
        in_channels: Image channels.
        image_size: Image side in pixels; must hold at least one patch.
        kernel_size: Patch side (2 or 3), so 4 or 9 qubits.
        stride: Step between patches.
        n_layers: ``RandomLayers`` in the filter circuit.
        filter_seed: Seed of the fixed random filter.
        q_device: PennyLane device name.
        shots: ``None`` for exact expectation values, else samples per circuit.
        head_width: Channels of the head's first block.
        lr: AdamW learning rate.
        weight_decay: AdamW weight decay.
    """

    def __init__(
        self,
        num_classes: int,
        in_channels: int = 3,
        image_size: int = 224,
        kernel_size: int = 2,
        stride: int = 2,
        n_layers: int = 1,
        filter_seed: int = 0,
        q_device: str = "default.qubit",
        shots: int | None = None,
        head_width: int = 32,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
    ) -> None:
        super().__init__(num_classes)
        self.save_hyperparameters()
        self.quanvolution = QuanvolutionLayer(
            kernel_size, stride, n_layers=n_layers, seed=filter_seed, device=q_device, shots=shots
        )
        if self.quanvolution.output_size(image_size) < 1:
            raise ValueError(
                f"image_size={image_size} is smaller than one {kernel_size}x{kernel_size} patch"
            )
        self.head = SmallCNN(in_channels * self.quanvolution.channels_per_input_channel, head_width)
        self.classifier = nn.Linear(self.head.num_features, num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W) -> (B, num_classes)`` logits."""
        return self.classifier(self.head(self.quanvolution(images)))
