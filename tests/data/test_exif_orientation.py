"""Photographs with an EXIF orientation are read upright, by every path that reads images."""

from __future__ import annotations

import struct
import warnings

import numpy as np
import pytest
import torch
import torchvision.transforms.v2.functional as TF
from PIL import Image, ImageOps

from hqnn_lightning.data import StanfordCarsDataModule, feature_cache_key, image_cache
from hqnn_lightning.data.car_base import ImageFileDataset
from hqnn_lightning.data.feature_cache import FeatureCacheDataModule
from hqnn_lightning.data.image_files import ImageSample, load_rgb, unreadable_reason
from hqnn_lightning.data.transforms import AugmentationConfig, eval_transform
from hqnn_lightning.models import SmallCNN
from tests.data.car_files import write_devkit

QUARTER_TURNS = {1: 0, 3: 2, 6: -1, 8: 1}
"""EXIF orientation -> ``np.rot90``'s ``k`` that turns the stored pixels upright (6: the camera
was turned clockwise, so the stored image is turned back clockwise; 8: counter-clockwise)."""

IMAGE_SIZE = 16


def stored_pixels(seed: int, size=(48, 32)) -> np.ndarray:
    """Smooth, asymmetric ``(H, W, 3)`` uint8 colours, so that any turn or flip shows."""
    y, x = np.mgrid[0 : size[1], 0 : size[0]]
    return np.stack([x * 5 + seed, y * 7, (x + 2 * y + seed) * 2], axis=-1).astype(np.uint8)


def write_oriented(path, orientation: int, seed: int = 0, fmt: str = "JPEG"):
    exif = Image.Exif()
    exif[0x0112] = orientation
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(stored_pixels(seed)).save(path, fmt, exif=exif)
    return path


def upright_reference(path, orientation: int, bbox=None) -> np.ndarray:
    """The file's decoded stored pixels, cropped in the stored frame, turned by numpy."""
    with Image.open(path) as image:
        pixels = np.asarray(image.convert("RGB"))  # convert alone keeps the stored frame
    if bbox is not None:
        x1, y1, x2, y2 = bbox
        pixels = pixels[y1 : y2 + 1, x1 : x2 + 1]
    return np.ascontiguousarray(np.rot90(pixels, QUARTER_TURNS[orientation]))


class TestLoadRGB:
    @pytest.mark.parametrize("orientation", sorted(QUARTER_TURNS))
    def test_a_jpeg_is_turned_upright(self, tmp_path, orientation):
        path = write_oriented(tmp_path / "car.jpg", orientation)
        expected = upright_reference(path, orientation)
        np.testing.assert_array_equal(np.asarray(load_rgb(path)), expected)
        assert unreadable_reason(path) is None

    @pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "TIFF"])
    @pytest.mark.parametrize("orientation", range(1, 9))
    def test_every_orientation_and_format_as_pillow_turns_it(self, tmp_path, fmt, orientation):
        path = write_oriented(tmp_path / f"car.{fmt.lower()}", orientation, fmt=fmt)
        with Image.open(path) as image:
            expected = np.asarray(ImageOps.exif_transpose(image).convert("RGB"))
        np.testing.assert_array_equal(np.asarray(load_rgb(path)), expected)

    @pytest.mark.parametrize("orientation", [3, 6, 8])
    def test_the_box_is_in_the_stored_frame(self, tmp_path, orientation):
        path = write_oriented(tmp_path / "car.jpg", orientation)
        box = (2, 3, 40, 25)
        expected = upright_reference(path, orientation, box)
        np.testing.assert_array_equal(np.asarray(load_rgb(path, box)), expected)

    @pytest.mark.parametrize("fmt", ["WEBP", "PNG"])
    def test_an_exif_block_that_is_not_one_is_ignored_with_a_warning(self, tmp_path, fmt):
        path = tmp_path / f"car.{fmt.lower()}"
        Image.fromarray(stored_pixels(0)).save(path, fmt, exif=b"Exif\x00\x00not a tiff header")
        with pytest.warns(UserWarning, match=rf"car\.{fmt.lower()}: cannot read its EXIF"):
            pixels = np.asarray(load_rgb(path))
        np.testing.assert_array_equal(pixels, upright_reference(path, 1))
        assert unreadable_reason(path) is None

    def test_an_exif_block_pillow_cannot_write_back_still_turns(self, tmp_path):
        exif = Image.Exif()
        exif[0x0112] = 6
        exif[0x010F] = "Canon"
        corrupt = bytearray(exif.tobytes())
        corrupt[17] = 3  # Make's type, ASCII, now SHORT
        path = tmp_path / "car.jpg"
        Image.fromarray(stored_pixels(0)).save(path, "JPEG", exif=bytes(corrupt))
        with Image.open(path) as image, pytest.raises(struct.error):
            ImageOps.exif_transpose(image)  # why load_rgb turns the pixels itself
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's own "Corrupt EXIF data"
            pixels = np.asarray(load_rgb(path))
        np.testing.assert_array_equal(pixels, upright_reference(path, 6))
        assert unreadable_reason(path) is None


@pytest.fixture
def oriented_devkit(tmp_path):
    """The devkit layout whose JPEGs carry EXIF orientations 1, 3, 6 and 8 in turn, with
    each file's upright, cropped reference pixels."""
    root = write_devkit(tmp_path / "cars", per_class=4)
    expected = {}
    for index, path in enumerate(sorted([*root.glob("cars_train/*"), *root.glob("cars_test/*")])):
        orientation = sorted(QUARTER_TURNS)[index % 4]
        write_oriented(path, orientation, seed=index)
        expected[path] = upright_reference(path, orientation, (2, 3, 40, 25))
    return root, expected


def datamodule(root, tmp_path, cache_images: bool) -> StanfordCarsDataModule:
    data = StanfordCarsDataModule(
        str(root),
        crop_to_bbox=True,
        image_size=IMAGE_SIZE,
        augment=False,
        cache_images=cache_images,
        cache_dir=str(tmp_path / "cache"),
        val_fraction=0.25,
    )
    data.setup("fit")
    return data


def test_every_image_path_sees_the_upright_pixels(oriented_devkit, tmp_path):
    """Per-sample transforms, the decoded-image cache (whose batches the augmentation kernel
    reads) and the feature cache built from either give the pixels of the upright images."""
    root, expected = oriented_devkit
    files = datamodule(root, tmp_path, cache_images=False)
    cached = datamodule(root, tmp_path, cache_images=True)
    evaluate = eval_transform(files.augmentation)
    backbone = SmallCNN(3, width=4).requires_grad_(False).eval()
    for split in ("train", "val", "test"):
        dataset = getattr(files, f"{split}_set")
        assert isinstance(dataset, ImageFileDataset)
        upright = torch.stack(
            [evaluate(Image.fromarray(expected[sample.path])) for sample in dataset.samples]
        )
        from_files = torch.stack([dataset[index][0] for index in range(len(dataset))])
        torch.testing.assert_close(from_files, upright)
        rows = getattr(cached, f"{split}_set")
        from_cache = torch.stack([rows[index][0] for index in range(len(rows))])
        torch.testing.assert_close(cached.batch_transform(from_cache, train=False), upright)
        resized = [
            TF.resize(TF.pil_to_tensor(Image.fromarray(expected[sample.path])), [IMAGE_SIZE] * 2)
            for sample in dataset.samples
        ]
        torch.testing.assert_close(from_cache, torch.stack(resized))
    for images in (files, cached):
        features = FeatureCacheDataModule(images, backbone, tmp_path / "features")
        features.setup("fit")
        test_set = files.test_set
        upright = torch.stack(
            [evaluate(Image.fromarray(expected[sample.path])) for sample in test_set.samples]
        )
        cached_features = torch.stack([row[0] for row in features.splits["test"]])
        torch.testing.assert_close(cached_features, backbone(upright))


def load_as_stored(path, bbox):
    """`load_rgb` before it read EXIF orientations."""
    with Image.open(path) as image:
        return image.convert("RGB")


def test_a_cache_built_under_another_decoding_is_not_reused(tmp_path, monkeypatch):
    path = write_oriented(tmp_path / "car.jpg", 6)
    samples = [ImageSample(path, "car")]
    with monkeypatch.context() as earlier:
        earlier.setattr(image_cache, "DECODING", "rgb8-as-stored")
        earlier.setattr(image_cache, "load_rgb", load_as_stored)
        stored = image_cache.build_image_cache(samples, IMAGE_SIZE, tmp_path / "cache")
    upright = image_cache.build_image_cache(samples, IMAGE_SIZE, tmp_path / "cache")
    expected = TF.resize(TF.pil_to_tensor(load_rgb(path)), [IMAGE_SIZE, IMAGE_SIZE])
    np.testing.assert_array_equal(np.asarray(upright[0]), expected.numpy())
    assert not np.array_equal(np.asarray(stored[0]), np.asarray(upright[0]))
    assert len(list((tmp_path / "cache").glob("images-*.u8"))) == 2

    dataset = ImageFileDataset(samples, [0], eval_transform(AugmentationConfig(IMAGE_SIZE)))
    now = feature_cache_key.dataset_fingerprint(dataset)
    monkeypatch.setattr(feature_cache_key, "DECODING", "rgb8-as-stored")
    assert feature_cache_key.dataset_fingerprint(dataset) != now
