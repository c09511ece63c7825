"""ClassicalResNet: the study's classical baseline."""

from __future__ import annotations

import torch
from torch import nn

from hqnn_lightning.models.backbone_classifier import BackboneClassifier
from hqnn_lightning.models.registry import MODELS
from hqnn_lightning.models.stages import TrainLastStages


@MODELS.register("classical")
@MODELS.register("classical_tiny", arch="resnet18")
class ClassicalResNet(BackboneClassifier):
    """A ResNet (ResNet-50 by default) with a linear classifier on its pooled features.

    Args:
        num_classes: Number of classes.
        arch: Backbone name: resnet18, resnet34, resnet50, resnet101,
            resnet152, small_cnn, or a timm model's name
            (``efficientnet_lite0``).
        backbone_weights: ``"none"``, ``"imagenet"`` or a local checkpoint's path.
        freeze_backbone: Train only the classifier.
        train_last_stages: Train only the backbone's last K stages, the earlier ones frozen
            (``docs/models.md``); 0 is ``freeze_backbone=True``, ``"all"`` full fine-tuning.
        precompute_features: Steps take the frozen part's cached output rather than images
            (computed once and cached); needs ``freeze_backbone`` or
            ``train_last_stages``. ``forward`` still takes images.
        in_channels: Image channels.
        image_size: Image side in pixels (below 64 the ResNet gets a small-image stem).
        lr: Learning rate, under any optimizer (AdamW unless ``--optimizer``).
        weight_decay: Weight decay of every parameter group, under any optimizer.

    Raises:
        ValueError: ``precompute_features`` without a frozen part, or a ``train_last_stages``
            that does not fit (see `BackboneClassifier`).
    """

    def __init__(
        self,
        num_classes: int,
        arch: str = "resnet50",
        backbone_weights: str = "none",
        freeze_backbone: bool = False,
        train_last_stages: TrainLastStages = None,
        precompute_features: bool = False,
        in_channels: int = 3,
        image_size: int = 224,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
    ) -> None:
        super().__init__(
            num_classes=num_classes,
            arch=arch,
            backbone_weights=backbone_weights,
            freeze_backbone=freeze_backbone,
            train_last_stages=train_last_stages,
            precompute_features=precompute_features,
            in_channels=in_channels,
            image_size=image_size,
            lr=lr,
            weight_decay=weight_decay,
        )
        self.classifier = nn.Linear(self.num_features, num_classes)

    def classify_features(self, features: torch.Tensor) -> torch.Tensor:
        """Backbone features ``(B, F) -> (B, num_classes)`` logits."""
        return self.classifier(features)
