"""QuanvNet's classical control: the quanvolution swapped for a convolution of the same shape."""

from __future__ import annotations

import torch
from torch import nn

from hqnn_lightning.models.backbones import DescribedByWeights
from hqnn_lightning.models.filter_classifier import FilterClassifier
from hqnn_lightning.models.registry import MODELS
from hqnn_lightning.quantum.geometry import conv_output_size


class PatchConv2d(DescribedByWeights, nn.Conv2d):
    """``nn.Conv2d`` (same parameters and state dict keys) that describes itself for the
    feature cache."""


@MODELS.register("quanv_control")
@MODELS.register("quanv_control_trainable", trainable_filter=True)
@MODELS.register("quanv_control_tiny", head_width=8)
class ConvControlNet(FilterClassifier):
    """`QuanvNet` with a classical filter in place of the
    quantum one, so that a comparison isolates what the circuit does.

    ``(B, C, H, W)`` images go through ``tanh(Conv2d(C, C * k**2, k, stride, groups=C))`` to
    ``(B, C * k**2, H', W')``: like the quanvolution, each input channel's ``k x k`` patch
    becomes ``k**2`` values in ``[-1, 1]``, without mixing channels. The same `SmallCNN`
    head and linear classifier as QuanvNet follow. The filter is random and fixed (seeded by
    ``filter_seed``, PyTorch's default ``Conv2d`` initialisation), as the quanvolution's is,
    unless ``trainable_filter``.

    Args:
        num_classes: Number of classes.
        in_channels: Image channels.
        image_size: Image side in pixels; must hold at least one patch.
        kernel_size: Patch side (2 or 3).
        stride: Step between patches.
        filter_seed: Seed of the random filter.
        trainable_filter: Learn the filter with the head.
        precompute_features: Steps take the cached convolution ``(B, C * k**2, H', W')``
            (before the ``tanh``) rather than images (see ``FeatureCacheDataModule``); needs a
            fixed filter and no augmentation. ``forward`` still takes images.
        head_width: Channels of the head's first block.
        lr: Learning rate, under any optimizer (AdamW unless ``--optimizer``).
        weight_decay: Weight decay of every parameter group, under any optimizer.

    Raises:
        ValueError: an image smaller than one patch, or ``precompute_features`` with
            ``trainable_filter``.
    """

    def __init__(
        self,
        num_classes: int,
        in_channels: int = 3,
        image_size: int = 224,
        kernel_size: int = 2,
        stride: int = 2,
        filter_seed: int = 0,
        trainable_filter: bool = False,
        precompute_features: bool = False,
        head_width: int = 32,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
    ) -> None:
        super().__init__(
            num_classes=num_classes,
            in_channels=in_channels,
            image_size=image_size,
            kernel_size=kernel_size,
            trainable_filter=trainable_filter,
            precompute_features=precompute_features,
            head_width=head_width,
            lr=lr,
            weight_decay=weight_decay,
        )
        channels = in_channels * kernel_size**2
        side = conv_output_size(image_size, kernel_size, stride)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(filter_seed)
            self.filter = PatchConv2d(
                in_channels, channels, kernel_size, stride=stride, groups=in_channels
            )
        if not trainable_filter:
            self.freeze_module(self.filter)
        self.build_head(channels, side)

    @property
    def unit_pixels_reason(self) -> str | None:
        """A control sees the images its `QuanvNet` sees."""
        return (
            "it is quanv's control, so it takes quanv's images, and quanv's quanvolution "
            "encodes each pixel x in [0, 1] as RY(pi x)"
        )

    def patch_filter(self) -> nn.Module:
        return self.filter

    def classify_features(self, features: torch.Tensor) -> torch.Tensor:
        """Convolution output ``(B, C * k**2, H', W') -> (B, num_classes)`` logits."""
        return super().classify_features(torch.tanh(features))
