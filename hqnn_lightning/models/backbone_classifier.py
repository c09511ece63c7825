"""The base of the models that classify a backbone's features."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from hqnn_lightning.models.backbones import create_backbone
from hqnn_lightning.models.base import ImageClassifier


class BackboneClassifier(ImageClassifier):
    """A backbone ``(B, C, H, W) -> (B, F)`` (`create_backbone`), then `classify_features`.

    Builds ``self.backbone``, freezes it with ``freeze_backbone``, and sets
    ``feature_shape = (F,)``; the frozen backbone is the `feature_extractor` whose
    ``(B, F)`` features ``precompute_features`` caches.

    A frozen backbone with pretrained weights (``"imagenet"`` or a file) is left out of the
    checkpoints, which hold its fingerprint instead (`frozen_source`); a randomly initialised
    one is kept, since building the model again would draw other weights.

    Args:
        num_classes: Number of classes.
        arch: Backbone name: one of ``backbones.BACKBONES``, or a timm model
            (``efficientnet_lite0``).
        backbone_weights: ``"none"``, ``"imagenet"`` or a local checkpoint's path (see
            ``create_backbone``).
        freeze_backbone: Train only what follows the backbone.
        precompute_features: Steps take cached backbone features ``(B, F)`` rather than images
            (see ``FeatureCacheDataModule``); needs ``freeze_backbone``. ``forward`` still
            takes images.
        in_channels: Image channels.
        image_size: Image side in pixels (below 64 a ResNet gets a small-image stem).
        lr: Learning rate, under any optimizer (AdamW by default; `--optimizer`).
        weight_decay: Weight decay of every parameter group, under any optimizer.
        q_lr: Learning rate of the quantum modules' weights; ``None`` uses ``lr``.

    Raises:
        ValueError: ``precompute_features`` without ``freeze_backbone``.
    """

    def __init__(
        self,
        num_classes: int,
        arch: str = "resnet50",
        backbone_weights: str = "none",
        freeze_backbone: bool = False,
        precompute_features: bool = False,
        in_channels: int = 3,
        image_size: int = 224,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        q_lr: float | None = None,
    ) -> None:
        super().__init__(
            num_classes=num_classes,
            lr=lr,
            weight_decay=weight_decay,
            q_lr=q_lr,
            precompute_features=precompute_features,
        )
        self.backbone, num_features = create_backbone(
            arch, backbone_weights, in_channels, image_size
        )
        self.feature_shape = (num_features,)
        self.backbone_source = {
            "arch": arch,
            "backbone_weights": backbone_weights,
            "in_channels": in_channels,
            "image_size": image_size,
        }
        self.freeze_backbone = freeze_backbone
        if freeze_backbone:
            self.freeze_module(self.backbone)
        self.check_precompute_features()

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W) -> (B, num_classes)`` logits."""
        return self.classify_features(self.backbone(images))

    def frozen_source(self) -> dict[str, Any] | None:
        """``{"arch", "backbone_weights", "in_channels", "image_size"}``, which build the frozen
        backbone again, when its weights are pretrained and every frozen module is part of it;
        else ``None``."""
        inside = {id(module) for module in self.backbone.modules()}
        if self.backbone_source["backbone_weights"] == "none" or not all(
            id(module) in inside for module in self._frozen
        ):
            return None
        return dict(self.backbone_source)

    def feature_extractor(self) -> nn.Module:
        if not self.freeze_backbone:
            raise ValueError(
                "precompute_features needs freeze_backbone=True: a backbone that trains changes "
                "its features at every step"
            )
        return self.backbone
