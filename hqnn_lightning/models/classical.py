"""ClassicalResNet: the study's classical baseline."""

from __future__ import annotations

import torch
from torch import nn

from hqnn_lightning.models.backbones import create_backbone
from hqnn_lightning.models.base import ImageClassifier, check_precompute_features
from hqnn_lightning.models.registry import MODELS


@MODELS.register("classical")
@MODELS.register("classical_tiny", arch="resnet18")
class ClassicalResNet(ImageClassifier):
    """A ResNet (ResNet-50 by default) with a linear classifier on its pooled features.

    Args:
        num_classes: Number of classes.
        arch: Backbone name (see ``backbones.BACKBONES``).
        backbone_weights: ``"none"``, ``"imagenet"`` or a local checkpoint's path (see
            ``create_backbone``).
        freeze_backbone: Train only the classifier.
        precompute_features: Steps take cached backbone features ``(B, F)`` rather than images
            (`FeatureCacheDataModule` computes them
            once); needs ``freeze_backbone``. ``forward`` still takes images.
        in_channels: Image channels.
        image_size: Image side in pixels (below 64 the ResNet gets a small-image stem).
        lr: AdamW learning rate.
        weight_decay: AdamW weight decay.
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
    ) -> None:
        super().__init__(num_classes)
        self.save_hyperparameters()
        check_precompute_features(precompute_features, freeze_backbone)
        self.backbone, num_features = create_backbone(
            arch, backbone_weights, in_channels, image_size
        )
        self.classifier = nn.Linear(num_features, num_classes)
        if freeze_backbone:
            self.freeze_module(self.backbone)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W) -> (B, num_classes)`` logits."""
        return self.classify_features(self.backbone(images))

    def feature_extractor(self) -> nn.Module:
        return self.backbone

    def classify_features(self, features: torch.Tensor) -> torch.Tensor:
        """Backbone features ``(B, F) -> (B, num_classes)`` logits."""
        return self.classifier(features)

    def _batch_logits(self, inputs: torch.Tensor) -> torch.Tensor:
        if not self.hparams.precompute_features:
            return self(inputs)
        return self._precomputed_logits(inputs, "precompute_features")
