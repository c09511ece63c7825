"""QuanvNet: a quanvolutional layer feeding a small classical CNN."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from hqnn_lightning.models.filter_classifier import FilterClassifier
from hqnn_lightning.models.registry import MODELS
from hqnn_lightning.quantum import QuanvolutionLayer


@MODELS.register("quanv", control="quanv_control")
@MODELS.register("quanv_tiny", head_width=8)
class QuanvNet(FilterClassifier):
    """The study's quanvolutional network, ``f = d(q(e(patch)))`` then a CNN.

    ``(B, C, H, W)`` images go through a `QuanvolutionLayer` (random circuits on
    ``kernel_size x kernel_size`` patches, fixed unless ``trainable_filter``) to
    ``(B, C * kernel_size**2, H', W')``, then a `SmallCNN` head to ``(B, 2 * head_width)``
    features and a linear layer to ``(B, num_classes)`` logits.

    With ``precompute_features=True`` the training, validation and test batches hold the
    quanvolution's output instead of images (a `FeatureCacheDataModule` computes and caches it
    once per dataset), so only the head runs per step; ``forward`` still takes images.

    Args:
        num_classes: Number of classes.
        in_channels: Image channels.
        image_size: Image side in pixels; must hold at least one patch.
        kernel_size: Patch side (2 or 3), so 4 or 9 qubits.
        stride: Step between patches.
        n_layers: ``RandomLayers`` in the filter circuit.
        filter_seed: Seed of the random filter.
        q_device: ``"torch"`` (exact, fastest; see `QuanvolutionLayer`) or a PennyLane
            device name.
        shots: ``None`` for exact expectation values, else samples per circuit (PennyLane
            devices only).
        q_device_options: Options of the PennyLane device (noise, fake backend, ARN; see
            ``docs/devices.md``).
        trainable_filter: Learn the filter's ``RandomLayers`` angles with the head.
        q_lr: AdamW learning rate of a trainable filter's angles; ``None`` uses ``lr``.
        precompute_features: Steps take the cached quanvolution ``(B, C * k**2, H', W')``
            rather than images (see ``FeatureCacheDataModule``); needs a fixed filter and no
            augmentation.
        head_width: Channels of the head's first block.
        lr: AdamW learning rate.
        weight_decay: AdamW weight decay.

    Raises:
        ValueError: a negative ``filter_seed``, an image smaller than a patch, or
            ``precompute_features`` with ``trainable_filter``.
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
        q_device: str = "torch",
        shots: int | None = None,
        q_device_options: dict[str, Any] | None = None,
        trainable_filter: bool = False,
        q_lr: float | None = None,
        precompute_features: bool = False,
        head_width: int = 32,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
    ) -> None:
        if filter_seed < 0:
            raise ValueError(f"filter_seed must be 0 or more (a NumPy seed), got {filter_seed}")
        super().__init__(num_classes=num_classes)
        self.quanvolution = QuanvolutionLayer(
            kernel_size,
            stride,
            n_layers=n_layers,
            seed=filter_seed,
            device=q_device,
            shots=shots,
            trainable=trainable_filter,
            **(q_device_options or {}),
        )
        self.build_head(
            in_channels * self.quanvolution.channels_per_input_channel,
            self.quanvolution.output_size(image_size),
        )

    def patch_filter(self) -> nn.Module:
        return self.quanvolution

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W)`` images ``-> (B, num_classes)`` logits."""
        if images.ndim != 4 or images.shape[1] != self.hparams.in_channels:
            raise ValueError(
                f"expected images (B, {self.hparams.in_channels}, H, W), got "
                f"{tuple(images.shape)}; cached quanvolution features go through "
                "classify_features (precompute_features=True)"
            )
        return super().forward(images)
