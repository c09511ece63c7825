"""The study's image augmentation as per-sample torchvision pipelines, and its configuration.

Training images are resized to ``S x S``, randomly flipped, colour-jittered and slightly rotated,
then scaled to ``[0, 1]`` and (optionally) standardised with the ImageNet mean and std.

Two ways to apply it:

* `train_transform` / `eval_transform` (here): torchvision ``v2`` pipelines applied to one
  decoded image at a time (uint8 ``(3, H, W)`` tensor or PIL image), in the loader's workers.
* ``BatchAugmentation`` / ``BatchNormalize`` (`batch_transforms`): the same distribution
  applied to a whole batch of already-resized images on any device.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torchvision.transforms.v2.functional as TF
from torch import Tensor, nn
from torchvision.transforms import v2

IMAGENET_MEAN = (0.485, 0.456, 0.406)
"""Per-channel RGB mean of ImageNet, for images scaled to ``[0, 1]``."""

IMAGENET_STD = (0.229, 0.224, 0.225)
"""Per-channel RGB standard deviation of ImageNet, for images scaled to ``[0, 1]``."""

HFLIP_PROBABILITY = 0.5


@dataclass(frozen=True)
class AugmentationConfig:
    """The augmentation of the training images and the preprocessing of every image.

    Args:
        image_size: Side ``S`` of the square output images, in pixels.
        hflip: Random horizontal flip with probability 0.5.
        color_jitter: Strength ``s`` of the colour jitter: brightness, contrast and saturation
            factors are each uniform in ``[max(0, 1 - s), 1 + s]``; 0 disables them.
        hue: Hue shift range (torchvision's convention, a fraction of the hue circle): the shift
            is uniform in ``[-hue, hue]``, at most 0.5; 0 disables it. Hue jitter converts each
            image to HSV and back, which costs several times the three other colour operations
            together, and `BatchAugmentation` applies it one image at a time.
        rotation: Random rotation range in degrees: the angle is uniform in
            ``[-rotation, rotation]`` (positive is counter-clockwise), corners filled with 0;
            0 disables it.
        normalize: Standardise each RGB channel with ``mean`` and ``std`` after scaling to
            ``[0, 1]``.
        mean: Per-channel RGB mean for ``normalize``, of images in ``[0, 1]``: `IMAGENET_MEAN`,
            or a pretrained backbone's own (``backbones.pretrained_data_config``).
        std: Per-channel RGB standard deviation for ``normalize``, each above 0.

    Raises:
        ValueError: a field is out of range; the message names it.
    """

    image_size: int = 224
    hflip: bool = True
    color_jitter: float = 0.2
    hue: float = 0.0
    rotation: float = 10.0
    normalize: bool = True
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD

    def __post_init__(self) -> None:
        # Lists from YAML or the command line become tuples, so the config stays hashable.
        object.__setattr__(self, "mean", tuple(float(x) for x in self.mean))
        object.__setattr__(self, "std", tuple(float(x) for x in self.std))
        if len(self.mean) != 3 or len(self.std) != 3:
            raise ValueError(
                f"mean and std need one value per RGB channel, got {self.mean} and {self.std}"
            )
        if not all(math.isfinite(x) and x > 0 for x in self.std):
            raise ValueError(f"std must be finite and above 0, got {self.std}")
        if isinstance(self.image_size, bool) or not isinstance(self.image_size, int):
            raise ValueError(f"image_size must be an int, got {self.image_size!r}")
        if self.image_size < 1:
            raise ValueError(f"image_size must be >= 1, got {self.image_size}")
        if not (math.isfinite(self.color_jitter) and self.color_jitter >= 0):
            raise ValueError(f"color_jitter must be finite and >= 0, got {self.color_jitter}")
        if not 0 <= self.hue <= 0.5:
            raise ValueError(f"hue must lie in [0, 0.5], got {self.hue}")
        if not 0 <= self.rotation <= 180:
            raise ValueError(f"rotation must lie in [0, 180] degrees, got {self.rotation}")

    @property
    def jitter_range(self) -> tuple[float, float]:
        """Bounds of the brightness, contrast and saturation factors, ``(low, high)``."""
        return max(0.0, 1.0 - self.color_jitter), 1.0 + self.color_jitter


def train_transform(config: AugmentationConfig) -> v2.Compose:
    """The per-sample training pipeline.

    Resize -> random horizontal flip -> colour jitter -> random rotation (bilinear, fill 0) ->
    scale to ``[0, 1]`` -> normalise; disabled steps are left out. PIL images are converted to
    uint8 tensors first, so both kinds of input go through the same tensor operations.

    Args:
        config: The augmentation.

    Returns:
        A callable mapping a uint8 ``(3, H, W)`` tensor or an RGB PIL image to a float32
        ``(3, S, S)`` tensor.
    """
    steps: list[nn.Module] = [_resize(config)]
    if config.hflip:
        steps.append(v2.RandomHorizontalFlip(HFLIP_PROBABILITY))
    if config.color_jitter > 0 or config.hue > 0:
        strength = config.color_jitter
        steps.append(
            v2.ColorJitter(
                brightness=strength, contrast=strength, saturation=strength, hue=config.hue
            )
        )
    if config.rotation > 0:
        steps.append(
            v2.RandomRotation(config.rotation, interpolation=v2.InterpolationMode.BILINEAR, fill=0)
        )
    return v2.Compose([v2.ToImage(), *steps, *_to_float(config)])


def eval_transform(config: AugmentationConfig) -> v2.Compose:
    """The deterministic per-sample evaluation pipeline: resize -> scale -> normalise.

    Args:
        config: The augmentation (only ``image_size`` and the normalisation matter).

    Returns:
        A callable mapping a uint8 ``(3, H, W)`` tensor or an RGB PIL image to a float32
        ``(3, S, S)`` tensor.
    """
    return v2.Compose([v2.ToImage(), _resize(config), *_to_float(config)])


def _resize(config: AugmentationConfig) -> v2.Resize:
    return v2.Resize((config.image_size, config.image_size), antialias=True)


def _to_float(config: AugmentationConfig) -> list[nn.Module]:
    steps: list[nn.Module] = [v2.ToDtype(torch.float32, scale=True)]
    if config.normalize:
        steps.append(v2.Normalize(config.mean, config.std))
    return [*steps, v2.ToPureTensor()]


def scale_and_normalize(
    images: Tensor,
    normalize: bool,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
) -> Tensor:
    """Scales uint8 images to float32 ``[0, 1]`` and optionally standardises them.

    The same operations as the end of `eval_transform`, so the values are identical.

    Args:
        images: uint8 or float ``(..., 3, H, W)``; float values are taken to be in ``[0, 1]``.
        normalize: Standardise with ``mean`` and ``std``.
        mean: Per-channel mean, of values in ``[0, 1]``.
        std: Per-channel standard deviation.

    Returns:
        float32 ``(..., 3, H, W)``.
    """
    images = TF.to_dtype(images, torch.float32, scale=True)
    return TF.normalize(images, list(mean), list(std)) if normalize else images
