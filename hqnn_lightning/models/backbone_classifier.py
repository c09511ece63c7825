"""The base of the models that classify a backbone's features."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from hqnn_lightning.models.backbones import create_backbone
from hqnn_lightning.models.base import ImageClassifier
from hqnn_lightning.models.stages import (
    FrozenPrefix,
    TrainLastStages,
    backbone_stages,
    split_stages,
    stage_input_shape,
    trained_stage_count,
)


class BackboneClassifier(ImageClassifier):
    """A backbone ``(B, C, H, W) -> (B, F)`` (`create_backbone`), then `classify_features`.

    Builds ``self.backbone`` (``F = self.num_features``), trains all of it, its last
    ``train_last_stages`` stages (`hqnn_lightning.models.stages`) or none of it
    (``freeze_backbone``). The frozen part is the `feature_extractor` whose output
    ``precompute_features`` caches: the ``(B, F)`` features of a frozen backbone
    (``feature_shape = (F,)``), or the activations entering the first trained stage
    (``feature_shape = (C', H', W')``), which steps then take through the trained stages
    (`classify_stage_input`).

    A frozen backbone or frozen prefix with pretrained weights (``"imagenet"`` or a file) is
    left out of the checkpoints, which hold its fingerprint instead (`frozen_source`); a
    randomly initialised one is kept, since building the model again would draw other weights.

    Args:
        num_classes: Number of classes.
        arch: Backbone name: resnet18, resnet34, resnet50, resnet101,
            resnet152, small_cnn, or a timm model's name
            (``efficientnet_lite0``).
        backbone_weights: ``"none"``, ``"imagenet"`` or a local checkpoint's path.
        freeze_backbone: Train only what follows the backbone (``train_last_stages=0``).
        train_last_stages: Train only the backbone's last K stages (ResNet: ``layer1`` to
            ``layer4``; EfficientNet: its ``blocks`` groups, 7 for EfficientNet-Lite0; see
            ``docs/models.md``), the earlier ones frozen; 0 is ``freeze_backbone=True``,
            ``"all"`` full fine-tuning; ``None`` (unset) leaves it to ``freeze_backbone``.
        precompute_features: Steps take the frozen part's cached output rather than images
            (see ``FeatureCacheDataModule``); needs ``freeze_backbone`` or
            ``train_last_stages`` below the stage count. ``forward`` still takes images.
        in_channels: Image channels.
        image_size: Image side in pixels (below 64 a ResNet gets a small-image stem).
        lr: Learning rate, under any optimizer (AdamW unless ``--optimizer``).
        weight_decay: Weight decay of every parameter group, under any optimizer.
        q_lr: Learning rate of the quantum modules' weights; ``None`` uses ``lr``.

    Raises:
        ValueError: ``precompute_features`` with a backbone that trains whole,
            ``freeze_backbone=True`` with ``train_last_stages`` other than 0, or
            ``train_last_stages`` beyond the backbone's stages.
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
        q_lr: float | None = None,
    ) -> None:
        super().__init__(
            num_classes=num_classes,
            lr=lr,
            weight_decay=weight_decay,
            q_lr=q_lr,
            precompute_features=precompute_features,
        )
        self.backbone, self.num_features = create_backbone(
            arch, backbone_weights, in_channels, image_size
        )
        self.backbone_source: dict[str, Any] = {
            "arch": arch,
            "backbone_weights": backbone_weights,
            "in_channels": in_channels,
            "image_size": image_size,
        }
        trained = trained_stage_count(train_last_stages, freeze_backbone)
        self.freeze_backbone = trained == 0
        # Set for partial fine-tuning only: the backbone's own modules, not registered again.
        self.frozen_stages: list[nn.Sequential] = []
        self.trained_stages: list[nn.Sequential] = []
        if self.freeze_backbone:
            self.freeze_module(self.backbone)
        elif trained is not None:
            self._freeze_stages_before(trained, arch)
        self.feature_shape: tuple[int, ...] = (self.num_features,)
        if precompute_features and self.frozen_stages:
            self.feature_shape = stage_input_shape(
                FrozenPrefix(*self.frozen_stages), in_channels, image_size
            )
        self.check_precompute_features()

    def _freeze_stages_before(self, trained: int, arch: str) -> None:
        """Freezes every stage of the backbone but its last ``trained``; none when it has no
        more stages than that."""
        self.frozen_stages, self.trained_stages = split_stages(
            backbone_stages(self.backbone, arch), trained, arch
        )
        if not self.frozen_stages:
            self.trained_stages = []
            return
        for stage in self.frozen_stages:
            for module in stage:
                self.freeze_module(module)
        self.backbone_source["train_last_stages"] = trained

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W) -> (B, num_classes)`` logits."""
        return self.classify_features(self.backbone(images))

    def classify_stage_input(self, activations: torch.Tensor) -> torch.Tensor:
        """The activations entering the first trained stage ``(B, *feature_shape)`` through the
        trained stages and `classify_features`: ``(B, num_classes)`` logits, those of
        ``forward`` on the images they come from."""
        for stage in self.trained_stages:
            activations = stage(activations)
        return self.classify_features(activations)

    def _batch_logits(self, inputs: torch.Tensor) -> torch.Tensor:
        """As `ImageClassifier`'s, where cached inputs are the frozen prefix's activations
        ``(B, C', H', W')`` with partial fine-tuning (`classify_stage_input`).

        Raises:
            ValueError: ``precompute_features`` and inputs of another shape.
        """
        if not (self.precompute_features and self.trained_stages):
            return super()._batch_logits(inputs)
        if tuple(inputs.shape[1:]) != self.feature_shape:
            raise ValueError(
                "precompute_features=True with train_last_stages expects batches of the "
                f"activations entering the first trained stage, (B, "
                f"{', '.join(map(str, self.feature_shape))}), got {tuple(inputs.shape)}; wrap "
                "the DataModule in FeatureCacheDataModule"
            )
        return self.classify_stage_input(inputs)

    def steps_run_backbone(self) -> bool:
        """Whether a training step runs (part of) the backbone: always but when it takes the
        cached features of a frozen backbone."""
        return not self.precompute_features or bool(self.trained_stages)

    def frozen_source(self) -> dict[str, Any] | None:
        """``{"arch", "backbone_weights", "in_channels", "image_size"}`` (and
        ``"train_last_stages"`` for a frozen prefix), which build the frozen part again, when
        its weights are pretrained and every frozen module is part of the backbone; else
        ``None``."""
        inside = {id(module) for module in self.backbone.modules()}
        if self.backbone_source["backbone_weights"] == "none" or not all(
            id(module) in inside for module in self._frozen
        ):
            return None
        return dict(self.backbone_source)

    def feature_extractor(self) -> nn.Module:
        """The frozen backbone, or the frozen prefix (`FrozenPrefix`) of one that trains its
        last stages."""
        if self.freeze_backbone:
            return self.backbone
        if self.frozen_stages:
            return FrozenPrefix(*self.frozen_stages)
        raise ValueError(
            "precompute_features needs freeze_backbone=True or train_last_stages below the "
            "backbone's stage count: a backbone that trains whole changes its features at "
            "every step"
        )
