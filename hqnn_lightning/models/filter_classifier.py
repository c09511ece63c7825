"""The base of the models that classify the output of a patch filter."""

from __future__ import annotations

import torch
from torch import nn

from hqnn_lightning.models.backbones import SmallCNN
from hqnn_lightning.models.base import ImageClassifier


class FilterClassifier(ImageClassifier):
    """A patch filter ``(B, C, H, W) -> (B, C * k**2, H', W')``, then a `SmallCNN` head to
    ``(B, 2 * head_width)`` and a linear layer to ``(B, num_classes)`` logits.

    A subclass builds its filter, returns it from `patch_filter`, then calls `build_head`;
    it takes the arguments ``head_width``, ``trainable_filter`` and ``precompute_features``.
    A fixed filter is the `feature_extractor` whose output ``precompute_features`` caches.

    Args:
        num_classes: Number of classes.
    """

    def patch_filter(self) -> nn.Module:
        """The filter, ``(B, C, H, W) -> (B, *feature_shape)``."""
        raise NotImplementedError(f"{type(self).__name__} does not define its filter")

    def build_head(self, channels: int, side: int) -> None:
        """Builds the head for the filter's ``(channels, side, side)`` output.

        Raises:
            ValueError: ``head_width`` below 1, ``side`` below 1 (an image smaller than one
                patch), or ``precompute_features`` with ``trainable_filter``.
        """
        if self.hparams.head_width < 1:
            raise ValueError(f"head_width must be at least 1, got {self.hparams.head_width}")
        if side < 1:
            k = self.hparams.kernel_size
            raise ValueError(
                f"image_size={self.hparams.image_size} is smaller than one {k}x{k} patch"
            )
        self.feature_shape = (channels, side, side)
        self.head = SmallCNN(channels, self.hparams.head_width)
        self.classifier = nn.Linear(self.head.num_features, self.hparams.num_classes)
        self.check_precompute_features()

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W)`` images ``-> (B, num_classes)`` logits."""
        return self.classify_features(self.patch_filter()(images))

    def feature_extractor(self) -> nn.Module:
        if self.hparams.trainable_filter:
            raise ValueError(
                "precompute_features needs a fixed filter: a trainable_filter changes at every step"
            )
        return self.patch_filter()

    def monitored_parts(self) -> dict[str, nn.Module]:
        """``filter`` (the quantum or classical patch filter, unless its output is
        precomputed), ``head`` and ``classifier``."""
        parts = {} if self.hparams.precompute_features else {"filter": self.patch_filter()}
        return parts | {"head": self.head, "classifier": self.classifier}

    def classify_features(self, features: torch.Tensor) -> torch.Tensor:
        """Filter output ``(B, *feature_shape) -> (B, num_classes)`` logits."""
        return self.classifier(self.head(features))
