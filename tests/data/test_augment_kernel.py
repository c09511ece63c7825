"""The fused CPU kernel of BatchAugmentation against its tensor path, and its fallback."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from hqnn_lightning.data import augment_kernel
from hqnn_lightning.data.batch_transforms import BatchAugmentation
from hqnn_lightning.data.transforms import AugmentationConfig
from hqnn_lightning.utils.native import build_library

KERNEL = augment_kernel.load_augment_kernel()
needs_kernel = pytest.mark.skipif(KERNEL is None, reason="no C compiler")

CONFIGS = {
    "study": AugmentationConfig(image_size=64),
    "jitter_only": AugmentationConfig(image_size=64, hflip=False, rotation=0, color_jitter=0.8),
    "flip_only": AugmentationConfig(image_size=64, rotation=0, color_jitter=0),
    "rotation_only": AugmentationConfig(image_size=48, hflip=False, color_jitter=0, rotation=180),
    "unnormalized_224": AugmentationConfig(normalize=False),
    "own_statistics": AugmentationConfig(image_size=32, mean=(0.5, 0.4, 0.3), std=(0.5, 0.2, 0.1)),
}


def both_paths(config: AugmentationConfig, batch: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    size = config.image_size
    images = torch.randint(0, 256, (batch, 3, size, size), dtype=torch.uint8, generator=generator)
    kernel, tensor_ops = BatchAugmentation(config), BatchAugmentation(config, cpu_kernel=False)
    params = kernel.sample_params(batch, images.device, generator)
    difference = (kernel.augment(images, params) - tensor_ops.augment(images, params)).abs()
    if config.normalize:
        difference = difference * torch.tensor(config.std).view(3, 1, 1)
    return difference * 255, images


@needs_kernel
@pytest.mark.parametrize("name", list(CONFIGS))
def test_kernel_matches_the_tensor_path(name: str) -> None:
    """The colour operations and the flip agree exactly; the rotation's sampling grid is
    computed in another order, so a rounded pixel may differ by one level, rarely."""
    config = CONFIGS[name]
    levels, _ = both_paths(config)
    if config.rotation == 0:
        assert levels.max() < 1e-3
    else:
        assert levels.max() <= 1 + 1e-3
        assert (levels > 1e-3).float().mean() <= 1e-3


@needs_kernel
def test_kernel_runs_where_it_applies_and_not_elsewhere(monkeypatch) -> None:
    calls = []
    real = augment_kernel.augment_uint8

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr("hqnn_lightning.data.batch_transforms.augment_uint8", counting)
    images = torch.randint(0, 256, (2, 3, 16, 16), dtype=torch.uint8)
    config = AugmentationConfig(image_size=16)
    BatchAugmentation(config)(images)
    assert len(calls) == 1
    BatchAugmentation(config)(images.float() / 255)  # float input: tensor path
    BatchAugmentation(replace(config, hue=0.1))(images)  # hue: tensor path
    BatchAugmentation(config, cpu_kernel=False)(images)
    assert len(calls) == 1


def test_without_a_compiler_the_tensor_path_is_used(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("CC", str(tmp_path / "no-such-compiler"))
    monkeypatch.setenv("HQNN_LIGHTNING_KERNEL_DIR", str(tmp_path / "kernels"))
    with pytest.warns(UserWarning, match="no C compiler found"):
        assert build_library("augment", augment_kernel.SOURCE, augment_kernel.COMPILE_FLAGS) is None
    monkeypatch.setattr(augment_kernel, "load_augment_kernel", lambda: None)
    monkeypatch.setattr("hqnn_lightning.data.batch_transforms.load_augment_kernel", lambda: None)
    images = torch.randint(0, 256, (2, 3, 16, 16), dtype=torch.uint8)
    out = BatchAugmentation(AugmentationConfig(image_size=16))(images)
    assert out.shape == (2, 3, 16, 16) and out.dtype == torch.float32


@needs_kernel
def test_a_build_is_cached_by_source_and_flags(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("HQNN_LIGHTNING_KERNEL_DIR", str(tmp_path))
    source, flags = augment_kernel.SOURCE, augment_kernel.COMPILE_FLAGS
    assert build_library("augment", source, flags) is not None
    (library,) = tmp_path.glob("augment-*.so")
    built = library.stat().st_mtime_ns
    assert build_library("augment", source, flags) is not None
    assert library.stat().st_mtime_ns == built  # loaded, not rebuilt
    assert build_library("augment", source, (*flags, "-DUNUSED")) is not None
    assert len(list(tmp_path.glob("augment-*.so"))) == 2


@needs_kernel
@pytest.mark.parametrize("damage", ["truncated", "zeroed", "no checksum"])
def test_a_damaged_cached_library_is_built_again_not_loaded(monkeypatch, tmp_path, damage) -> None:
    monkeypatch.setenv("HQNN_LIGHTNING_KERNEL_DIR", str(tmp_path))
    source, flags = augment_kernel.SOURCE, augment_kernel.COMPILE_FLAGS
    assert build_library("augment", source, flags) is not None
    (library,) = tmp_path.glob("augment-*.so")
    whole = library.read_bytes()
    # Damaged into a new file renamed over it: this process has the library mapped, and
    # cutting short the file it maps would kill it with SIGBUS at its next touch of the pages.
    damaged = tmp_path / "damaged.so"
    if damage == "truncated":
        damaged.write_bytes(whole[: len(whole) // 2])
        damaged.replace(library)
    elif damage == "zeroed":
        damaged.write_bytes(whole[:4096] + bytes(len(whole) - 4096))
        damaged.replace(library)
    else:
        library.with_name(library.name + ".sha256").unlink()
    with pytest.warns(UserWarning, match=f"cached kernel {library} .*; building it again"):
        assert build_library("augment", source, flags) is not None
    assert library.read_bytes() == whole
