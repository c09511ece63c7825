"""The batched equivalent of the per-sample pipelines of `transforms`.

`BatchAugmentation` applies the training augmentation, `BatchNormalize` the evaluation
preprocessing, to a whole batch of already-resized images (uint8 or float ``(B, 3, S, S)``, on
any device) with tensor operations, each sample with its own random parameters. Meant for an
on-disk cache of resized images, where augmenting on the accelerator avoids a per-sample CPU
bottleneck.

On uint8 input the batched version reproduces torchvision's uint8 arithmetic (each colour
operation truncates to an integer, the grayscale image is floored, the rotation rounds), so that
for the same random parameters both agree up to float rounding: see `BatchAugmentation`.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass

import torch
import torch.nn.functional as nnF
import torchvision.transforms.v2.functional as TF
from torch import Tensor, nn

from hqnn_lightning.data.augment_kernel import augment_uint8, load_augment_kernel
from hqnn_lightning.data.transforms import (
    HFLIP_PROBABILITY,
    AugmentationConfig,
    scale_and_normalize,
)

BRIGHTNESS, CONTRAST, SATURATION, HUE = range(4)
"""Indices of the colour-jitter operations, as torchvision's ``ColorJitter`` numbers them."""


def _check_batch(images: Tensor, image_size: int) -> None:
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"expected images of shape (B, 3, S, S), got {tuple(images.shape)}")
    if images.shape[-2:] != (image_size, image_size):
        raise ValueError(
            f"expected {image_size}x{image_size} images (image_size), got "
            f"{images.shape[-2]}x{images.shape[-1]}"
        )
    if images.dtype != torch.uint8 and not images.is_floating_point():
        raise ValueError(f"expected uint8 or floating-point images, got {images.dtype}")


class BatchNormalize(nn.Module):
    """The evaluation preprocessing of a batch of already-resized images.

    Gives the same values as `eval_transform` on each image (whose resize is then a
    no-op).

    Args:
        config: The augmentation (only ``image_size`` and the normalisation matter).
    """

    def __init__(self, config: AugmentationConfig) -> None:
        super().__init__()
        self.config = config

    def forward(self, images: Tensor) -> Tensor:
        """Scales and normalises a batch.

        Args:
            images: uint8 (or float in ``[0, 1]``) ``(B, 3, S, S)``.

        Returns:
            float32 ``(B, 3, S, S)``.

        Raises:
            ValueError: wrong shape, size or dtype.
        """
        _check_batch(images, self.config.image_size)
        config = self.config
        return scale_and_normalize(images, config.normalize, config.mean, config.std)


@dataclass(frozen=True)
class AugmentationParams:
    """The random parameters of a batch's augmentation, one entry per sample.

    Args:
        flip: bool ``(B,)``: flip this sample horizontally; ``None`` if flips are disabled.
        jitter: float32 ``(B, 4)``: brightness, contrast and saturation factors and the hue shift;
            ``None`` if colour jitter is disabled. Entries of disabled operations are ignored.
        order: int64 ``(B, 4)``: a permutation of the operation indices `BRIGHTNESS`,
            `CONTRAST`, `SATURATION`, `HUE` per sample, the order in which
            they are applied (disabled ones are skipped), as torchvision draws it.
        angle: float32 ``(B,)``: counter-clockwise rotation in degrees; ``None`` if disabled.
    """

    flip: Tensor | None
    jitter: Tensor | None
    order: Tensor | None
    angle: Tensor | None


class BatchAugmentation(nn.Module):
    """`train_transform` without the resize, applied to a batch with tensor operations.

    Each sample gets its own flip, jitter factors, jitter order and angle, drawn from the same
    distribution as torchvision's ``RandomHorizontalFlip``, ``ColorJitter`` and
    ``RandomRotation(bilinear, fill=0)``. Works on any device; random numbers are drawn on the
    images' device.

    uint8 input is processed as torchvision processes a uint8 tensor: brightness, contrast and
    saturation truncate their result to an integer, the grayscale image used by contrast and
    saturation is floored, hue goes through uint8, and the rotated image is rounded. Given the
    same parameters, the output matches the torchvision functional ops on each sample up to
    float rounding (an intermediate value within a few ulp of an integer may floor the other
    way: at most 1/255 on rare pixels). The rotation is one ``grid_sample`` for the batch (its
    grid also mirrors the flipped samples), multiplied by the coverage mask as torchvision's
    ``fill=0`` does. Its sampling grid differs from torchvision's by float rounding (about 1e-5
    pixel at ``S = 224``), so it matches ``rotate(..., BILINEAR, fill=0)`` to within 1e-4 on
    float images in ``[0, 1]`` for ``S <= 224`` (white noise, the worst case, angles from -30
    to 30 degrees, flipped or not: at most 6e-6 at ``S = 64``, 4.1e-5 at 224) and, on uint8
    images, up to one rounding step (1/255) on at most 0.1 % of the pixels (measured: 0.05 % at
    224 on white noise, none on smooth images); ``test_rotation_matches_torchvision`` checks
    both bounds.

    Float input (values in ``[0, 1]``) is processed in float32 without quantisation, as
    torchvision processes float tensors.

    On the CPU, uint8 batches without hue jitter go through a fused C kernel
    (`augment_kernel`, compiled on first use) that does the same
    arithmetic per image in one pass; ``cpu_kernel=False``, or no C compiler, keeps the tensor
    operations.

    Args:
        config: The augmentation; ``image_size`` is the side of the input images.
        cpu_kernel: Use the fused kernel where it applies.
    """

    def __init__(self, config: AugmentationConfig, cpu_kernel: bool = True) -> None:
        super().__init__()
        self.config = config
        self.cpu_kernel = cpu_kernel

    def sample_params(
        self, batch_size: int, device: torch.device, generator: torch.Generator | None = None
    ) -> AugmentationParams:
        """Draws the random parameters of a batch.

        Args:
            batch_size: Number of samples ``B``.
            device: Where to draw them.
            generator: Random generator on ``device``; ``None`` uses the global one.

        Returns:
            The parameters, on ``device``.
        """
        config = self.config

        def uniform(low: float, high: float, *shape: int) -> Tensor:
            unit = torch.rand(batch_size, *shape, device=device, generator=generator)
            return unit.mul_(high - low).add_(low)

        flip = None
        if config.hflip:
            flip = torch.rand(batch_size, device=device, generator=generator) < HFLIP_PROBABILITY
        jitter = order = None
        if config.color_jitter > 0 or config.hue > 0:
            jitter = uniform(*config.jitter_range, 4)
            jitter[:, HUE] = uniform(-config.hue, config.hue)
            order = torch.rand(batch_size, 4, device=device, generator=generator).argsort(dim=1)
        angle = uniform(-config.rotation, config.rotation) if config.rotation > 0 else None
        return AugmentationParams(flip=flip, jitter=jitter, order=order, angle=angle)

    def forward(self, images: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Augments a batch, each sample independently.

        Args:
            images: uint8 (or float in ``[0, 1]``) ``(B, 3, S, S)``.
            generator: Random generator on the images' device, for reproducibility; ``None``
                uses the global one.

        Returns:
            float32 ``(B, 3, S, S)``, normalised if configured.

        Raises:
            ValueError: wrong shape, size or dtype.
        """
        _check_batch(images, self.config.image_size)
        params = self.sample_params(images.shape[0], images.device, generator)
        return self.augment(images, params)

    def augment(self, images: Tensor, params: AugmentationParams) -> Tensor:
        """Applies given parameters to a batch.

        Args:
            images: uint8 (or float in ``[0, 1]``) ``(B, 3, S, S)``.
            params: One entry per sample, e.g. from `sample_params`.

        Returns:
            float32 ``(B, 3, S, S)``, normalised if configured.
        """
        quantized = images.dtype == torch.uint8
        library = self._kernel_for(images)
        if library is not None:
            return self._augment_with_kernel(library, images, params)
        x = images.to(torch.float32, copy=True)
        bound = 255.0 if quantized else 1.0
        # Colour jitter acts on each pixel alone or through the image mean, so it commutes with
        # the flip, which can then ride along in the rotation's sampling grid for free.
        if params.jitter is not None and params.order is not None:
            x = self._jitter(x, params.jitter, params.order, bound, quantized)
        if params.angle is not None:
            x = _rotate(x, params.angle, params.flip)
            if quantized:
                x = x.round_()
        elif params.flip is not None:
            x = torch.where(params.flip.view(-1, 1, 1, 1), x.flip(-1), x)
        if quantized:  # the integer values in [0, 255] scaled as to_dtype scales uint8
            x = x.mul_(1.0 / 255)
        if self.config.normalize:
            x = TF.normalize(x, list(self.config.mean), list(self.config.std), inplace=True)
        return x

    def _kernel_for(self, images: Tensor) -> ctypes.CDLL | None:
        """The fused CPU kernel, if it applies to ``images`` and could be built."""
        applies = (
            self.cpu_kernel
            and images.dtype == torch.uint8
            and images.device.type == "cpu"
            and self.config.hue == 0
        )
        return load_augment_kernel() if applies else None

    def _augment_with_kernel(
        self, library: ctypes.CDLL, images: Tensor, params: AugmentationParams
    ) -> Tensor:
        ops = factors = None
        if params.jitter is not None and params.order is not None and self.config.color_jitter:
            ops = params.order[params.order != HUE].view(images.shape[0], -1)
            factors = params.jitter.gather(1, ops)
        mean, std = (self.config.mean, self.config.std) if self.config.normalize else (None, None)
        return augment_uint8(library, images, ops, factors, params.flip, params.angle, mean, std)

    def _jitter(
        self, x: Tensor, factors: Tensor, order: Tensor, bound: float, quantized: bool
    ) -> Tensor:
        """Brightness, contrast, saturation (and hue) of float ``(B, 3, S, S)`` in each sample's
        order.

        Brightness, contrast and saturation are one formula, ``f * x + (1 - f) * G`` clamped,
        with ``G`` zero, the image's mean luma or the pixel's luma: each step applies it to the
        whole batch, with each sample's own operation and factor.
        """
        batch = x.shape[0]
        if self.config.hue == 0:
            order = order[order != HUE].view(batch, -1)
        for step in range(order.shape[1]):
            op = order[:, step]
            if self.config.hue > 0:
                for i in (op == HUE).nonzero().flatten().tolist():
                    x[i] = _adjust_hue(x[i], float(factors[i, HUE]), quantized)
            if self.config.color_jitter > 0:
                x = _adjust_each(x, op, factors, bound, quantized)
        return x


def _grayscale(x: Tensor, quantized: bool) -> Tensor:
    """Luma of float ``(B, 3, H, W)``, ``(B, 1, H, W)``, as torchvision computes it."""
    r, g, b = x.unbind(dim=-3)
    gray = r.mul(0.2989).add_(g, alpha=0.587).add_(b, alpha=0.114).unsqueeze(-3)
    return gray.floor_() if quantized else gray


def _adjust_each(x: Tensor, op: Tensor, factors: Tensor, bound: float, quantized: bool) -> Tensor:
    """Sample ``i`` of float ``(B, 3, H, W)`` through operation ``op[i]`` with its factor.

    ``op`` ``(B,)`` holds `BRIGHTNESS`, `CONTRAST` or `SATURATION` (samples
    with `HUE` are left unchanged); ``factors`` is ``(B, 4)``.
    """
    shape = (-1, 1, 1, 1)
    is_hue = (op == HUE).view(shape)
    factor = factors.gather(1, op.clamp(max=SATURATION).view(-1, 1)).view(shape)
    factor = factor.masked_fill(is_hue, 1.0)
    gray = _grayscale(x, quantized)
    mean = gray.mean(dim=(-3, -2, -1), keepdim=True)
    # In place: the luma where saturation, the mean luma where contrast, else 0.
    blend = gray.mul_((op == SATURATION).view(shape)).add_((op == CONTRAST).view(shape) * mean)
    x = x.mul_(factor).addcmul_(blend, 1.0 - factor).clamp_(0.0, bound)
    return x.floor_() if quantized else x


def _adjust_hue(image: Tensor, shift: float, quantized: bool) -> Tensor:
    """Hue of one float ``(3, H, W)`` image, through uint8 if ``quantized``."""
    if not quantized:
        return TF.adjust_hue(image, shift)
    return TF.adjust_hue(image.to(torch.uint8), shift).to(torch.float32)


def _rotate(x: Tensor, angle: Tensor, flip: Tensor | None = None) -> Tensor:
    """Flips (where ``flip``) then rotates float ``(B, C, H, W)`` counter-clockwise by ``angle``
    ``(B,)`` degrees.

    Bilinear, about the image centre, outside filled with 0 the way torchvision's
    ``rotate(..., fill=0)`` does it: the interpolated image is multiplied by the coverage mask
    (the bilinear interpolation of an all-ones image), which darkens the pixels along the edge.
    The flip mirrors the sampling grid, so it costs nothing.
    """
    height, width = x.shape[-2:]
    radians = torch.deg2rad(angle.to(x.dtype)).view(-1, 1, 1)
    cos, sin = radians.cos(), radians.sin()
    mirror = 1.0 - 2.0 * flip.to(x.dtype).view(-1, 1, 1) if flip is not None else 1.0
    # Pixel centres in grid units ([-1, 1] spans each axis, align_corners=False).
    columns = torch.linspace(-1 + 1 / width, 1 - 1 / width, width, device=x.device).view(1, 1, -1)
    rows = torch.linspace(-1 + 1 / height, 1 - 1 / height, height, device=x.device).view(1, -1, 1)
    # Inverse map from output to input pixel coordinates (y down), then the mirror.
    x_terms = (cos * mirror * columns, sin * mirror * (height / width) * rows)
    y_terms = (sin * (width / height) * columns, cos * rows)
    # Written into the interleaved grid directly: stacking separate planes costs more.
    grid = x.new_empty(x.shape[0], height, width, 2)
    torch.sub(*x_terms, out=grid[..., 0])
    torch.add(*y_terms, out=grid[..., 1])
    image = nnF.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    mask = _coverage(torch.sub(*x_terms), width).mul_(_coverage(torch.add(*y_terms), height))
    return image.mul_(mask.unsqueeze(1))


def _coverage(coordinate: Tensor, size: int) -> Tensor:
    """Bilinear interpolation of ones along one axis at grid ``coordinate`` (``[-1, 1]`` spans
    it), computed in place of ``coordinate``.

    With ``align_corners=False`` pixel ``i`` sits at ``(2 i + 1) / size - 1``: the weight is 1
    between the first and last pixel centres and falls linearly to 0 half a pixel outside,
    ``clamp((size + 1) / 2 - |coordinate| * size / 2, 0, 1)``.
    """
    return coordinate.abs_().mul_(-size / 2).add_((size + 1) / 2).clamp_(0, 1)
