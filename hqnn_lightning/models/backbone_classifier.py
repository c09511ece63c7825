"""The base of the models that classify a backbone's features."""

from __future__ import annotations

import torch
from torch import nn

from hqnn_lightning.models.backbones import create_backbone
from hqnn_lightning.models.base import ImageClassifier


class BackboneClassifier(ImageClassifier):
    """A backbone ``(B, C, H, W) -> (B, F)`` (`create_backbone`), then `classify_features`.

    Builds ``self.backbone`` from the subclass's arguments ``arch``, ``backbone_weights``,
    ``in_channels`` and ``image_size``, freezes it with ``freeze_backbone``, and sets
    ``feature_shape = (F,)``; the frozen backbone is the `feature_extractor` whose
    ``(B, F)`` features ``precompute_features`` caches.

    Args:
        num_classes: Number of classes.

    Raises:
        ValueError: ``precompute_features`` without ``freeze_backbone``.
    """

    def __init__(self, num_classes: int) -> None:
        super().__init__(num_classes=num_classes)
        options = self.hparams
        self.backbone, num_features = create_backbone(
            options.arch, options.backbone_weights, options.in_channels, options.image_size
        )
        self.feature_shape = (num_features,)
        if options.freeze_backbone:
            self.freeze_module(self.backbone)
        self.check_precompute_features()

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W) -> (B, num_classes)`` logits."""
        return self.classify_features(self.backbone(images))

    def feature_extractor(self) -> nn.Module:
        if not self.hparams.freeze_backbone:
            raise ValueError(
                "precompute_features needs freeze_backbone=True: a backbone that trains changes "
                "its features at every step"
            )
        return self.backbone
