"""The LightningModule base of every classifier in the library."""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
from torch import nn

from hqnn_lightning.models.metrics import ClassificationMetricsMixin


class ImageClassifier(ClassificationMetricsMixin, L.LightningModule):
    """Images ``(B, C, H, W)`` to logits ``(B, num_classes)``, trained with cross-entropy.

    Gives subclasses the shared metrics and steps, AdamW with a cosine learning-rate decay
    over ``max_epochs``, and frozen sub-modules that stay in eval mode (their batch-norm
    statistics do not drift while the rest trains). Subclasses call
    ``self.save_hyperparameters()``, which records ``lr`` and ``weight_decay``.

    Args:
        num_classes: Number of classes.
    """

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self._init_metrics(num_classes)
        self._frozen: list[nn.Module] = []

    def setup(self, stage: str) -> None:
        """Checks, before any batch, that the DataModule has the model's number of classes.

        Raises:
            ValueError: the two disagree (labels would fall outside the logits).
        """
        datamodule = self.trainer.datamodule
        data_classes = getattr(datamodule, "num_classes", None)
        model_classes = self.hparams.get("num_classes")
        if None not in (data_classes, model_classes) and data_classes != model_classes:
            raise ValueError(
                f"{type(self).__name__} was built with num_classes={model_classes} but "
                f"{type(datamodule).__name__} has {data_classes} classes; build the model with "
                "num_classes=datamodule.num_classes"
            )

    def freeze_module(self, module: nn.Module) -> None:
        """Stops training ``module``: no gradients, and eval mode even during ``fit``."""
        module.requires_grad_(False)
        module.eval()
        self._frozen.append(module)

    def train(self, mode: bool = True) -> ImageClassifier:
        super().train(mode)
        for module in self._frozen:
            module.eval()
        return self

    def feature_extractor(self) -> nn.Module:
        """The fixed first stage whose output `FeatureCacheDataModule` can cache."""
        raise NotImplementedError(f"{type(self).__name__} has no cacheable feature extractor")

    def _precomputed_logits(self, features: torch.Tensor, flag: str) -> torch.Tensor:
        """Logits of a batch of cached ``(B, F)`` features, for models built with ``flag``."""
        if features.ndim != 2:
            raise ValueError(
                f"{flag}=True expects batches of (B, F) features, got {tuple(features.shape)}; "
                "wrap the DataModule in FeatureCacheDataModule"
            )
        return self.classify_features(features)

    def classify_features(self, features: torch.Tensor) -> torch.Tensor:
        """What follows `feature_extractor`: its output ``-> (B, num_classes)``."""
        raise NotImplementedError(f"{type(self).__name__} does not classify features")

    def configure_optimizers(self) -> Any:
        parameters = [p for p in self.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(
            parameters, lr=self.hparams.lr, weight_decay=self.hparams.weight_decay
        )
        max_epochs = self.trainer.max_epochs if self._trainer is not None else None
        if not max_epochs or max_epochs < 1:
            return optimizer
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max_epochs)
        return {"optimizer": optimizer, "lr_scheduler": scheduler}


def check_precompute_features(precompute_features: bool, freeze_backbone: bool) -> None:
    """Refuses cached backbone features for a backbone that trains.

    Raises:
        ValueError: ``precompute_features`` without ``freeze_backbone``.
    """
    if precompute_features and not freeze_backbone:
        raise ValueError(
            "precompute_features needs freeze_backbone=True: a backbone that trains changes its "
            "features at every step"
        )
