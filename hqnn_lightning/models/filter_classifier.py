"""The base of the models that classify the output of a patch filter."""

from __future__ import annotations

import torch
from torch import nn

from hqnn_lightning.models.backbones import SmallCNN
from hqnn_lightning.models.base import ImageClassifier


class FilterClassifier(ImageClassifier):
    """A patch filter ``(B, C, H, W) -> (B, C * k**2, H', W')``, then a `SmallCNN` head to
    ``(B, 2 * head_width)`` and a linear layer to ``(B, num_classes)`` logits.

    A subclass builds its filter, returns it from `patch_filter`, then calls `build_head`.
    A fixed filter is the `feature_extractor` whose output ``precompute_features`` caches.

    Args:
        num_classes: Number of classes.
        in_channels: Image channels.
        image_size: Image side in pixels; must hold at least one patch.
        kernel_size: Patch side.
        trainable_filter: Whether the filter learns (then its output cannot be cached).
        precompute_features: Steps take the filter's cached output rather than images (see
            ``FeatureCacheDataModule``); needs a fixed filter.
        head_width: Channels of the head's first block.
        lr: Learning rate, under any optimizer (AdamW unless ``--optimizer``).
        weight_decay: Weight decay of every parameter group, under any optimizer.
        q_lr: Learning rate of the quantum modules' weights; ``None`` uses ``lr``.
    """

    def __init__(
        self,
        num_classes: int,
        in_channels: int = 3,
        image_size: int = 224,
        kernel_size: int = 2,
        trainable_filter: bool = False,
        precompute_features: bool = False,
        head_width: int = 32,
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
        self.in_channels = in_channels
        self.image_size = image_size
        self.kernel_size = kernel_size
        self.trainable_filter = trainable_filter
        self.head_width = head_width

    @property
    def unit_pixels_reason(self) -> str | None:
        """Why the filter wants pixels in ``[0, 1]`` rather than standardised ones, as a
        clause (the runner warns with it when the images are normalised); ``None`` when it
        takes either."""
        return None

    def patch_filter(self) -> nn.Module:
        """The filter, ``(B, C, H, W) -> (B, *feature_shape)``."""
        raise NotImplementedError(f"{type(self).__name__} does not define its filter")

    def build_head(self, channels: int, side: int) -> None:
        """Builds the head for the filter's ``(channels, side, side)`` output.

        Raises:
            ValueError: ``head_width`` below 1, ``side`` below 1 (an image smaller than one
                patch), or ``precompute_features`` with ``trainable_filter``.
        """
        if self.head_width < 1:
            raise ValueError(f"head_width must be at least 1, got {self.head_width}")
        if side < 1:
            k = self.kernel_size
            raise ValueError(f"image_size={self.image_size} is smaller than one {k}x{k} patch")
        self.feature_shape = (channels, side, side)
        self.head = SmallCNN(channels, self.head_width)
        self.classifier = nn.Linear(self.head.num_features, self.num_classes)
        self.check_precompute_features()

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W)`` images ``-> (B, num_classes)`` logits."""
        return self.classify_features(self.patch_filter()(images))

    def feature_extractor(self) -> nn.Module:
        if self.trainable_filter:
            raise ValueError(
                "precompute_features needs a fixed filter: a trainable_filter changes at every step"
            )
        return self.patch_filter()

    def monitored_parts(self) -> dict[str, nn.Module]:
        """``filter`` (the quantum or classical patch filter, unless its output is
        precomputed), ``head`` and ``classifier``."""
        parts = {} if self.precompute_features else {"filter": self.patch_filter()}
        return parts | {"head": self.head, "classifier": self.classifier}

    def classify_features(self, features: torch.Tensor) -> torch.Tensor:
        """Filter output ``(B, *feature_shape) -> (B, num_classes)`` logits."""
        return self.classifier(self.head(features))
