"""Partial fine-tuning: a backbone as a sequence of stages, of which only the last K train.

A backbone that can be split says so with a ``stages()`` method: its own modules grouped into
``nn.Sequential`` stages (no copies) that, applied in turn, compute its ``forward``:

- torchvision's ResNets: ``layer1`` to ``layer4`` (4 stages), the stem (``conv1``, ``bn1``,
  ``relu``, ``maxpool``) with ``layer1`` and the pooling with ``layer4``;
- timm's EfficientNets (EfficientNet-Lite0: 7 stages): each ``blocks[i]`` group, the stem
  (``conv_stem``, ``bn1``) with ``blocks[0]`` and ``conv_head``, ``bn2`` and the pooling with
  the last;
- ``small_cnn``: its two conv-BN-ReLU blocks, the pooling with the second.

``train_last_stages=K`` freezes the stages before the last K (the frozen prefix) and trains
the rest; 0 freezes the whole backbone (``freeze_backbone=True``), ``"all"`` (or the number of
stages) trains all of it. The frozen prefix is a fixed function of the image, so
``precompute_features`` caches its output, the activations entering the first trained stage
(`FrozenPrefix`), as it caches a frozen backbone's features.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from hqnn_lightning.models.backbones import DescribedByWeights

ALL_STAGES = "all"
"""``train_last_stages``'s value for a backbone that trains whole."""

TrainLastStages = int | Literal["all"] | None
"""``train_last_stages``'s type: a stage count, ``"all"``, or ``None`` (unset)."""


class FrozenPrefix(DescribedByWeights, nn.Sequential):
    """The frozen first stages of a backbone, ``(B, C, H, W) -> (B, C', H', W')``: the
    activations entering its first trained stage. It holds the backbone's own modules, and
    describes itself by their structure and weights for the feature cache's key."""


def trained_stage_count(train_last_stages: TrainLastStages, freeze_backbone: bool) -> int | None:
    """How many of the backbone's last stages train: 0 for a frozen backbone, ``None`` for
    all of them.

    ``train_last_stages``, when given, decides; ``freeze_backbone=True`` is the same as
    ``train_last_stages=0``, and given with any other value it is refused.

    Raises:
        ValueError: a negative count, or ``freeze_backbone=True`` with a count other than 0.
    """
    if train_last_stages is None:
        return 0 if freeze_backbone else None
    if train_last_stages != ALL_STAGES and (
        not isinstance(train_last_stages, int) or train_last_stages < 0
    ):
        raise ValueError(
            f"train_last_stages must be 0 or more stages, or {ALL_STAGES!r}; got "
            f"{train_last_stages!r}"
        )
    if freeze_backbone and train_last_stages != 0:
        raise ValueError(
            f"freeze_backbone=True trains no stage of the backbone but train_last_stages="
            f"{train_last_stages!r} trains some: give one of the two (freeze_backbone=True is "
            "train_last_stages=0)"
        )
    return None if train_last_stages == ALL_STAGES else train_last_stages


def backbone_stages(backbone: nn.Module, arch: str) -> list[nn.Sequential]:
    """``backbone``'s stages, in order (its ``stages()``).

    Raises:
        ValueError: the backbone defines no stages; the message names the architecture.
    """
    if not hasattr(backbone, "stages"):
        raise ValueError(
            f"train_last_stages: backbone {arch} defines no stages (ResNets, timm EfficientNets "
            "and small_cnn do); give 0 or all"
        )
    return backbone.stages()


def split_stages(
    stages: list[nn.Sequential], trained: int, arch: str
) -> tuple[list[nn.Sequential], list[nn.Sequential]]:
    """``(frozen, trained)``: the first ``len(stages) - trained`` stages and the last
    ``trained``.

    Raises:
        ValueError: ``trained`` is more than the stages there are; the message names the
            option and the architecture.
    """
    if trained > len(stages):
        raise ValueError(
            f"train_last_stages={trained} but backbone {arch} has {len(stages)} stages: give at "
            f"most {len(stages)}, or {ALL_STAGES}"
        )
    split = len(stages) - trained
    return stages[:split], stages[split:]


def stage_input_shape(prefix: FrozenPrefix, in_channels: int, image_size: int) -> tuple[int, ...]:
    """The shape ``(C', H', W')`` of the activations ``prefix`` gives for one image of
    ``in_channels`` x ``image_size`` x ``image_size`` pixels (192 x 7 x 7 entering
    EfficientNet-Lite0's last stage at 224 px)."""
    with torch.no_grad():
        return tuple(prefix(torch.zeros(1, in_channels, image_size, image_size)).shape[1:])
