"""The per-sample transforms, their batched equivalent and the augmented-samples figure."""

from __future__ import annotations

import functools
import math
from dataclasses import replace

import numpy as np
import pytest
import torch
import torch.nn.functional as nnF
import torchvision.transforms.v2.functional as TF
from PIL import Image
from scipy.stats import ks_2samp
from torch import Tensor
from torchvision.transforms.v2 import InterpolationMode

from hqnn_lightning.data.augmentation_grid import save_augmentation_grid
from hqnn_lightning.data.batch_transforms import (
    BRIGHTNESS,
    CONTRAST,
    HUE,
    SATURATION,
    AugmentationParams,
    BatchAugmentation,
    BatchNormalize,
)
from hqnn_lightning.data.transforms import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    AugmentationConfig,
    eval_transform,
    scale_and_normalize,
    train_transform,
)

SIZE = 32
N_SAMPLES = 2000
P_MIN = 1e-3

DISABLED = AugmentationConfig(
    image_size=SIZE, hflip=False, color_jitter=0.0, hue=0.0, rotation=0.0, normalize=True
)


def smooth_image(size: int = SIZE, seed: int = 0) -> Tensor:
    """A car-photo-like uint8 ``(3, size, size)``: smooth colour blobs on a left-right ramp."""
    generator = torch.Generator().manual_seed(seed)
    blobs = nnF.interpolate(
        torch.rand(1, 3, 4, 4, generator=generator), size=(size, size), mode="bicubic"
    )[0]
    ramp = torch.linspace(0.0, 0.5, size).view(1, 1, size)
    return ((0.15 + 0.6 * blobs + ramp).clamp(0, 1) * 255).round().to(torch.uint8)


def smooth_batch(batch: int, size: int = SIZE) -> Tensor:
    return torch.stack([smooth_image(size, seed) for seed in range(batch)])


def reference_augment(
    image: Tensor, params: AugmentationParams, i: int, config: AugmentationConfig
) -> Tensor:
    """Sample ``i``'s parameters applied with torchvision's functional ops."""
    if params.flip is not None and params.flip[i]:
        image = TF.horizontal_flip(image)
    if params.jitter is not None and params.order is not None:
        factors = params.jitter[i].tolist()
        ops = {
            BRIGHTNESS: TF.adjust_brightness,
            CONTRAST: TF.adjust_contrast,
            SATURATION: TF.adjust_saturation,
            HUE: TF.adjust_hue,
        }
        enabled = {HUE: config.hue > 0}
        for op in params.order[i].tolist():
            if enabled.get(op, config.color_jitter > 0):
                image = ops[op](image, factors[op])
    if params.angle is not None:
        angle = float(params.angle[i])
        image = TF.rotate(image, angle, interpolation=InterpolationMode.BILINEAR, fill=0)
    return scale_and_normalize(image, config.normalize)


def assert_within_one_level(ours: Tensor, theirs: Tensor, normalized: bool) -> None:
    """Outputs of uint8 input: equal but for a rare floor or round the other way (1/255)."""
    difference = (ours - theirs).abs()
    if normalized:
        difference = difference * torch.tensor(IMAGENET_STD).view(3, 1, 1)
    assert difference.max() <= 1 / 255 + 1e-5
    assert (difference > 1e-5).float().mean() <= 1e-3


# --- configuration and per-sample pipelines ---------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("image_size", 0),
        ("image_size", 22.5),
        ("color_jitter", -0.1),
        ("color_jitter", math.inf),
        ("hue", 0.6),
        ("hue", -0.1),
        ("rotation", -1.0),
        ("rotation", 181.0),
    ],
)
def test_config_rejects_bad_fields(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=field):
        AugmentationConfig(**{field: value})


@pytest.mark.parametrize(
    ("mean", "std"), [((0.5, 0.5), (0.5, 0.5, 0.5)), ((0.5, 0.5, 0.5), (0.5, 0.0, 0.5))]
)
def test_config_rejects_bad_statistics(mean: tuple, std: tuple) -> None:
    with pytest.raises(ValueError, match="std"):
        AugmentationConfig(mean=mean, std=std)


def test_a_backbones_own_statistics_normalise_every_path() -> None:
    mean, std = (0.5, 0.4, 0.3), (0.5, 0.25, 0.125)
    config = AugmentationConfig(image_size=8, mean=[*mean], std=[*std])  # lists, as from YAML
    assert config.mean == mean
    image = torch.randint(0, 256, (3, 8, 8), dtype=torch.uint8)
    expected = (image.float() / 255 - torch.tensor(mean).view(3, 1, 1)) / torch.tensor(std).view(
        3, 1, 1
    )
    torch.testing.assert_close(eval_transform(config)(image), expected)
    torch.testing.assert_close(BatchNormalize(config)(image[None])[0], expected)


def test_jitter_range_is_clipped_at_zero() -> None:
    assert AugmentationConfig(color_jitter=0.2).jitter_range == pytest.approx((0.8, 1.2))
    assert AugmentationConfig(color_jitter=1.5).jitter_range == (0.0, 2.5)


@pytest.mark.parametrize("height, width", [(37, 51), (224, 224), (61, 29)])
@pytest.mark.parametrize("pil", [False, True])
def test_transforms_give_float_square_images(height: int, width: int, pil: bool) -> None:
    image = torch.randint(0, 256, (3, height, width), dtype=torch.uint8)
    source = Image.fromarray(image.permute(1, 2, 0).numpy()) if pil else image
    config = AugmentationConfig(image_size=48, hue=0.1)
    for transform in (train_transform(config), eval_transform(config)):
        out = transform(source)
        assert type(out) is Tensor
        assert out.dtype == torch.float32
        assert out.shape == (3, 48, 48)


def test_pil_and_tensor_inputs_agree() -> None:
    image = smooth_image()
    pil = Image.fromarray(image.permute(1, 2, 0).numpy())
    transform = eval_transform(AugmentationConfig(image_size=24))
    torch.testing.assert_close(transform(pil), transform(image), atol=0, rtol=0)


def test_eval_transform_is_deterministic() -> None:
    image = torch.randint(0, 256, (3, 50, 70), dtype=torch.uint8)
    transform = eval_transform(AugmentationConfig(image_size=40))
    torch.testing.assert_close(transform(image), transform(image), atol=0, rtol=0)


def test_normalization_switch() -> None:
    image = smooth_image()
    plain = eval_transform(replace(DISABLED, normalize=False))(image)
    normalized = eval_transform(DISABLED)(image)
    torch.testing.assert_close(plain, image.float() / 255)
    mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(3, 1, 1)
    torch.testing.assert_close(normalized, (plain - mean) / std)


# --- batched preprocessing ---------------------------------------------------------------------


@pytest.mark.parametrize("normalize", [False, True])
def test_disabled_batch_augmentation_equals_eval_path(normalize: bool) -> None:
    config = replace(DISABLED, normalize=normalize)
    images = torch.randint(0, 256, (8, 3, SIZE, SIZE), dtype=torch.uint8)
    expected = torch.stack([eval_transform(config)(image) for image in images])
    torch.testing.assert_close(BatchNormalize(config)(images), expected, atol=1e-6, rtol=0)
    torch.testing.assert_close(BatchAugmentation(config)(images), expected, atol=1e-6, rtol=0)


@pytest.mark.parametrize("module", [BatchAugmentation, BatchNormalize])
def test_batch_modules_check_their_input(module: type[torch.nn.Module]) -> None:
    transform = module(AugmentationConfig(image_size=SIZE))
    with pytest.raises(ValueError, match="image_size"):
        transform(torch.zeros(2, 3, SIZE + 1, SIZE + 1, dtype=torch.uint8))
    with pytest.raises(ValueError, match="shape"):
        transform(torch.zeros(3, SIZE, SIZE, dtype=torch.uint8))
    with pytest.raises(ValueError, match="dtype|int16"):
        transform(torch.zeros(2, 3, SIZE, SIZE, dtype=torch.int16))


def test_batch_augmentation_leaves_float_input_alone() -> None:
    images = smooth_batch(4).float() / 255
    before = images.clone()
    BatchAugmentation(AugmentationConfig(image_size=SIZE, hue=0.1))(images)
    torch.testing.assert_close(images, before, atol=0, rtol=0)


def test_generator_makes_batches_reproducible() -> None:
    augment = BatchAugmentation(AugmentationConfig(image_size=SIZE, hue=0.1))
    images = smooth_batch(6)
    first = augment(images, generator=torch.Generator().manual_seed(3))
    second = augment(images, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(first, second, atol=0, rtol=0)


def test_samples_of_a_batch_are_independent() -> None:
    augment = BatchAugmentation(AugmentationConfig(image_size=SIZE))
    out = augment(smooth_image().expand(16, -1, -1, -1))
    assert len({tuple(sample.flatten().tolist()) for sample in out}) == 16


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_batch_augmentation_runs_on_cuda() -> None:
    config = AugmentationConfig(image_size=SIZE, hue=0.1)
    augment, images = BatchAugmentation(config), smooth_batch(16)
    out = augment(images.cuda(), generator=torch.Generator("cuda").manual_seed(0))
    assert out.device.type == "cuda" and out.shape == (16, 3, SIZE, SIZE)
    params = augment.sample_params(16, torch.device("cpu"), torch.Generator().manual_seed(0))
    on_cuda = AugmentationParams(*(None if p is None else p.cuda() for p in vars(params).values()))
    ours = augment.augment(images.cuda(), on_cuda).cpu()
    assert_within_one_level(ours, augment.augment(images, params), normalized=True)


# --- parity with torchvision for given parameters ---------------------------------------------


@pytest.mark.parametrize("flip", [False, True], ids=["plain", "flipped"])
@pytest.mark.parametrize("angle", [7.3, -7.3, 10.0, -0.4, 33.0])
@pytest.mark.parametrize("height, width", [(64, 64), (48, 64), (224, 224)])
def test_rotation_matches_torchvision(angle: float, height: int, width: int, flip: bool) -> None:
    """The flip rides in the rotation's sampling grid: it must equal flipping first."""
    config = replace(DISABLED, image_size=height, rotation=45.0, normalize=False)
    generator = torch.Generator().manual_seed(0)
    image = torch.randint(0, 256, (3, height, width), dtype=torch.uint8, generator=generator)
    params = AugmentationParams(torch.tensor([flip]), None, None, torch.tensor([angle]))

    def both(source: Tensor) -> tuple[Tensor, Tensor]:
        ours = BatchAugmentation(config).augment(source[None], params)[0]
        flipped = TF.horizontal_flip(source) if flip else source
        theirs = TF.rotate(flipped, angle, interpolation=InterpolationMode.BILINEAR, fill=0)
        return ours, TF.to_dtype(theirs, torch.float32, scale=True)

    ours, theirs = both(image.float() / 255)
    torch.testing.assert_close(ours, theirs, atol=1e-4, rtol=0)
    assert_within_one_level(*both(image), normalized=False)


def test_rotation_is_counter_clockwise() -> None:
    image = torch.zeros(1, 3, 33, 33, dtype=torch.uint8)
    image[..., 16, 20:] = 255  # a ray pointing right from the centre
    config = replace(DISABLED, image_size=33, rotation=90.0, normalize=False)
    params = AugmentationParams(None, None, None, torch.tensor([90.0]))
    out = BatchAugmentation(config).augment(image, params)[0, 0]
    assert out[:16, 16].sum() > 3  # now points up
    assert out[17:, 16].sum() == 0


@pytest.mark.parametrize("hue", [0.0, 0.1])
@pytest.mark.parametrize("strength", [0.2, 0.8])
def test_augment_matches_torchvision_ops(hue: float, strength: float) -> None:
    config = AugmentationConfig(image_size=SIZE, color_jitter=strength, hue=hue)
    augment = BatchAugmentation(config)
    images = smooth_batch(24)
    params = augment.sample_params(24, images.device, torch.Generator().manual_seed(1))

    def both(source: Tensor) -> tuple[Tensor, Tensor]:
        theirs = [reference_augment(source[i], params, i, config) for i in range(len(source))]
        return augment.augment(source, params), torch.stack(theirs)

    torch.testing.assert_close(*both(images.float() / 255), atol=1e-4, rtol=0)
    assert_within_one_level(*both(images), normalized=True)


# --- distribution ------------------------------------------------------------------------------


def flip_fraction(config: AugmentationConfig) -> float:
    image = smooth_image()
    out = BatchAugmentation(config)(image.expand(N_SAMPLES, -1, -1, -1))
    plain = scale_and_normalize(image, config.normalize)
    flipped = torch.isclose(out, plain.flip(-1)).flatten(1).all(1)
    assert (flipped | torch.isclose(out, plain).flatten(1).all(1)).all()
    return flipped.float().mean().item()


def test_flip_probability_is_one_half() -> None:
    torch.manual_seed(0)
    bound = 5 * math.sqrt(0.25 / N_SAMPLES)
    assert abs(flip_fraction(replace(DISABLED, hflip=True)) - 0.5) <= bound


def statistics(images: Tensor, config: AugmentationConfig) -> dict[str, np.ndarray]:
    """Scalar statistics of float ``(N, 3, S, S)`` outputs, un-normalised to ``[0, 1]``."""
    if config.normalize:
        images = images * torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
        images = images + torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    half, corner = images.shape[-1] // 2, 4
    corners = torch.cat(
        [images[..., :corner, :corner], images[..., -corner:, -corner:]], dim=-1
    ).mean((1, 2, 3)) - torch.cat(
        [images[..., :corner, -corner:], images[..., -corner:, :corner]], dim=-1
    ).mean((1, 2, 3))
    stats = {
        "mean": images.mean((1, 2, 3)),
        "std_r": images[:, 0].std((1, 2)),
        "std_g": images[:, 1].std((1, 2)),
        "std_b": images[:, 2].std((1, 2)),
        "red_minus_blue": (images[:, 0] - images[:, 2]).mean((1, 2)),
        "left_minus_right": images[..., :half].mean((1, 2, 3)) - images[..., half:].mean((1, 2, 3)),
        "zero_filled": (images < 0.5 / 255).all(1).float().mean((1, 2)),
        "diagonal_corners": corners,
    }
    return {name: value.numpy() for name, value in stats.items()}


CONFIGS = {
    "study": AugmentationConfig(image_size=SIZE),
    "strong_with_hue": AugmentationConfig(image_size=SIZE, color_jitter=0.4, hue=0.1, rotation=20),
}


@functools.cache
def per_sample_statistics(name: str) -> dict[str, np.ndarray]:
    """Statistics of ``train_transform`` applied ``N_SAMPLES`` times to one image (seeded)."""
    config = CONFIGS[name]
    transform, image = train_transform(config), smooth_image()
    torch.manual_seed(0)
    return statistics(torch.stack([transform(image) for _ in range(N_SAMPLES)]), config)


def batch_p_values(
    name: str, config: AugmentationConfig, cpu_kernel: bool = True
) -> dict[str, float]:
    """KS p-value of each statistic: ``BatchAugmentation(config)`` against the reference."""
    images = smooth_image().expand(N_SAMPLES, -1, -1, -1)
    augment = BatchAugmentation(config, cpu_kernel=cpu_kernel)
    out = augment(images, generator=torch.Generator().manual_seed(1))
    batched, reference = statistics(out, CONFIGS[name]), per_sample_statistics(name)
    return {stat: float(ks_2samp(reference[stat], batched[stat]).pvalue) for stat in reference}


@pytest.mark.parametrize("cpu_kernel", [True, False], ids=["kernel", "tensor_ops"])
@pytest.mark.parametrize("name", list(CONFIGS))
def test_batch_augmentation_has_torchvision_distribution(name: str, cpu_kernel: bool) -> None:
    p_values = batch_p_values(name, CONFIGS[name], cpu_kernel)
    assert min(p_values.values()) > P_MIN, p_values


@pytest.mark.parametrize(
    "change",
    [{"color_jitter": 0.5}, {"rotation": 20.0}, {"hflip": False}, {"hue": 0.05}],
    ids=str,
)
def test_distribution_test_detects_a_different_augmentation(change: dict) -> None:
    """Negative control: the test above has the power to see a change of one setting."""
    p_values = batch_p_values("study", replace(CONFIGS["study"], **change))
    assert min(p_values.values()) < P_MIN, p_values


# --- figure ------------------------------------------------------------------------------------


def test_save_augmentation_grid_writes_a_png(tmp_path) -> None:
    config = AugmentationConfig(image_size=SIZE)
    sources = [smooth_image(seed=0), Image.fromarray(smooth_image(seed=1).permute(1, 2, 0).numpy())]
    path = save_augmentation_grid(
        sources, train_transform(config), tmp_path / "figures" / "grid.png", 4, config
    )
    assert path == tmp_path / "figures" / "grid.png"
    with Image.open(path) as png:
        assert png.format == "PNG"
        width, height = png.size
    assert width >= 5 * 100 and height >= 2 * 100
    assert width > 2 * height


def test_save_augmentation_grid_takes_a_batch_and_caps_the_rows(tmp_path) -> None:
    config = AugmentationConfig(image_size=SIZE)
    path = save_augmentation_grid(smooth_batch(12), train_transform(config), tmp_path / "g.png", 2)
    with Image.open(path) as png:
        width, height = png.size
    assert height > 2 * width  # 8 rows of 3 cells


def test_save_augmentation_grid_rejects_no_views(tmp_path) -> None:
    with pytest.raises(ValueError, match="n_views"):
        save_augmentation_grid([smooth_image()], lambda image: image, tmp_path / "g.png", 0)
