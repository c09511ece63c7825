"""Caches that cannot lie (issue 26 item 2): a decoded-image, feature or unreadable-files cache
that was truncated, zeroed, overwritten or replaced is built again with one warning naming it,
never used; a source image replaced with its size and modification time kept is not served from
the old cache."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest
import torch
from torch.utils.data import TensorDataset

from hqnn_lightning.data.cache_check import CacheRebuiltWarning
from hqnn_lightning.data.feature_store import build_feature_cache
from hqnn_lightning.data.image_cache import build_image_cache
from hqnn_lightning.data.image_files import ImageSample
from hqnn_lightning.data.index_cache import cached_unreadable, files_signature
from tests.data.car_files import write_broken_files, write_image

IMAGE_SIZE = 8


class Doubling(torch.nn.Module):
    """A fixed extractor without parameters that describes itself: ``(B, C, H, W)`` images to
    ``(B, C * H * W)`` features, twice the pixels."""

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return 2 * images.flatten(1)

    def describe(self) -> dict:
        return {"kind": "features", "name": "doubling"}


def samples_in(folder, n=3):
    return [
        ImageSample(write_image(folder / f"{i}.jpg", seed=i, size=(12, 10)), "car")
        for i in range(n)
    ]


def overwrite(path, offset, data):
    with open(path, "r+b") as file:
        file.seek(offset)
        file.write(data)


def truncate(path, size):
    os.truncate(path, size)


IMAGE_DAMAGE = {
    "truncated by one byte": (lambda p: truncate(p, p.stat().st_size - 1), "no manifest"),
    "cut to its images": (lambda p: truncate(p, 3 * 3 * IMAGE_SIZE**2), "truncated"),
    "zeroed images": (lambda p: overwrite(p, 10, bytes(100)), "fails its checksum"),
    "zeroed manifest": (lambda p: overwrite(p, p.stat().st_size - 40, bytes(40)), "no manifest"),
    "one byte more": (lambda p: p.write_bytes(p.read_bytes() + b"\0"), "no manifest"),
    "a directory": (lambda p: (p.unlink(), p.mkdir(), (p / "x").write_text("x")), "not a regular"),
    "empty": (lambda p: truncate(p, 0), "truncated"),
}


class TestTheDecodedImageCache:
    @pytest.mark.parametrize("damage", IMAGE_DAMAGE)
    def test_a_damaged_cache_is_built_again_with_a_warning_naming_it(self, tmp_path, damage):
        samples = samples_in(tmp_path / "images")
        expected = np.array(build_image_cache(samples, IMAGE_SIZE, tmp_path / "fresh"))
        build_image_cache(samples, IMAGE_SIZE, tmp_path / "cache")
        (path,) = (tmp_path / "cache").glob("images-*.u8")
        spoil, reason = IMAGE_DAMAGE[damage]
        spoil(path)
        with pytest.warns(CacheRebuiltWarning, match=f"cache {path} .*{reason}.*building it again"):
            images = build_image_cache(samples, IMAGE_SIZE, tmp_path / "cache")
        np.testing.assert_array_equal(images, expected)
        build_image_cache(samples, IMAGE_SIZE, tmp_path / "cache")  # whole again: no warning

    def test_a_cache_of_other_images_copied_over_it_is_not_used(self, tmp_path):
        """The same number of bytes, a valid manifest and checksum, another cache's images."""
        samples = samples_in(tmp_path / "images")
        build_image_cache(samples[:2], IMAGE_SIZE * 2, tmp_path / "cache")
        (other,) = (tmp_path / "cache").glob("images-*.u8")
        build_image_cache(samples + samples[:1] * 5, IMAGE_SIZE, tmp_path / "cache")
        (path,) = set((tmp_path / "cache").glob("images-*.u8")) - {other}
        shutil.copyfile(other, path)
        with pytest.warns(CacheRebuiltWarning, match="manifest of another cache"):
            images = build_image_cache(samples + samples[:1] * 5, IMAGE_SIZE, tmp_path / "cache")
        expected = build_image_cache(samples + samples[:1] * 5, IMAGE_SIZE, tmp_path / "fresh")
        np.testing.assert_array_equal(images, expected)


def feature_dataset(n=5):
    images = torch.arange(n * 2 * 3 * 3, dtype=torch.float32).reshape(n, 2, 3, 3)
    return TensorDataset(images, torch.arange(n) % 2)


def replace_labels(directory):
    np.save(directory / "labels.npy", np.arange(4, dtype=np.int64))


def reshape_features(directory):
    features = np.load(directory / "features.npy")
    np.save(directory / "features.npy", features.reshape(len(features), 2, -1))


def directory_for_features(directory):
    (directory / "features.npy").unlink()
    (directory / "features.npy").mkdir()


FEATURE_DAMAGE = {
    "truncated features.npy": (lambda d: truncate(d / "features.npy", 200), "features.npy of"),
    "zeroed features": (lambda d: overwrite(d / "features.npy", 140, bytes(16)), "checksum"),
    "labels of another length": (replace_labels, "labels.npy"),
    "features of another shape": (reshape_features, "features.npy"),
    "meta.json missing": (lambda d: (d / "meta.json").unlink(), "no meta.json"),
    "meta.json truncated": (lambda d: truncate(d / "meta.json", 20), "corrupt meta.json"),
    "meta.json a list": (lambda d: (d / "meta.json").write_text("[]"), "another cache"),
    "a directory for features.npy": (directory_for_features, "no features.npy"),
    "labels.npy missing": (lambda d: (d / "labels.npy").unlink(), "no labels.npy"),
}


class TestTheFeatureCache:
    @pytest.mark.parametrize("damage", FEATURE_DAMAGE)
    def test_a_damaged_cache_is_built_again_with_a_warning_naming_it(self, tmp_path, damage):
        dataset = feature_dataset()
        build_feature_cache(Doubling(), dataset, tmp_path)
        (directory,) = tmp_path.glob("features-*")
        spoil, reason = FEATURE_DAMAGE[damage]
        spoil(directory)
        with pytest.warns(CacheRebuiltWarning, match=f"cache {directory} .*{reason}"):
            cached = build_feature_cache(Doubling(), dataset, tmp_path)
        features = torch.stack([cached[i][0] for i in range(len(cached))])
        torch.testing.assert_close(features, 2 * dataset.tensors[0].flatten(1), atol=0, rtol=0)
        assert torch.equal(cached.labels, dataset.tensors[1])
        assert sorted(path.name for path in directory.iterdir()) == [
            "features.npy",
            "labels.npy",
            "meta.json",
        ]

    def test_the_files_are_ordinary_npy_files_recorded_in_meta_json(self, tmp_path):
        dataset = feature_dataset()
        build_feature_cache(Doubling(), dataset, tmp_path)
        (directory,) = tmp_path.glob("features-*")
        meta = json.loads((directory / "meta.json").read_text())
        features = np.load(directory / "features.npy", allow_pickle=False)
        assert meta["shape"] == [5, 18] and features.shape == (5, 18)
        assert {name: record["bytes"] for name, record in meta["files"].items()} == {
            name: (directory / name).stat().st_size for name in ("features.npy", "labels.npy")
        }


class TestTheUnreadableFilesIndex:
    @pytest.fixture
    def files(self, tmp_path):
        good = write_image(tmp_path / "good.jpg", seed=0)
        return [good, *write_broken_files(tmp_path / "broken")]

    @pytest.mark.parametrize(
        ("content", "reason"),
        [
            ('"a string"', "not an index"),
            ("[1, 2]", "not an index"),
            ('{"format": 2, "unreadable": {"x": [1]}, "crc32": 0}', "not {path: reason}"),
            ('{"format": 2, "unreadable": {}, "crc32": 0}', "checksum"),
            ('{"format": 2, "unrea', "truncated or corrupt"),
            ("\0" * 50, "truncated or corrupt"),
            (b"\xff\xfe", "truncated or corrupt"),
            (None, "cannot be read"),
        ],
    )
    def test_a_damaged_index_is_checked_again_with_a_warning(
        self, files, tmp_path, content, reason
    ):
        expected = cached_unreadable(files, tmp_path / "cache", "checking")
        (path,) = (tmp_path / "cache").glob("unreadable-*.json")
        if content is None:  # a directory where the file should be
            path.unlink()
            path.mkdir()
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        with pytest.warns(CacheRebuiltWarning, match=f"cache {path} .*{reason}"):
            assert cached_unreadable(files, tmp_path / "cache", "checking") == expected
        entries = json.loads(path.read_text())["unreadable"]
        assert entries == {str(file): reason for file, reason in expected.items()}

    def test_an_index_that_names_other_files_is_not_used(self, files, tmp_path):
        cached_unreadable(files, tmp_path / "cache", "checking")
        (path,) = (tmp_path / "cache").glob("unreadable-*.json")
        index = json.loads(path.read_text())
        other = cached_unreadable([files[0], tmp_path / "gone.jpg"], tmp_path / "other", "x")
        entries = {str(p): r for p, r in other.items()}
        index["unreadable"] = entries
        index["crc32"] = json.loads(next((tmp_path / "other").glob("*.json")).read_text())["crc32"]
        path.write_text(json.dumps(index))
        with pytest.warns(CacheRebuiltWarning, match="names files that are not in the dataset"):
            assert len(cached_unreadable(files, tmp_path / "cache", "checking")) == 3


def replace_keeping_size_and_mtime(path, source):
    """Replaces ``path``'s bytes with ``source``'s (same size), then restores its mtime."""
    stat = path.stat()
    assert source.stat().st_size == stat.st_size
    path.write_bytes(source.read_bytes())
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_mtime_ns == stat.st_mtime_ns


class TestAReplacedSourceFile:
    """Replaced by another of the same size, its modification time restored (``cp`` then
    ``touch -r``): caught by the status-change time, which ``utime`` cannot set back."""

    @pytest.fixture
    def images(self, tmp_path):
        """Two BMPs of the same size (BMP sizes follow the pixel count) and other pixels."""
        return [
            write_image(tmp_path / f"{name}.bmp", seed=seed, size=(12, 10), fmt="BMP")
            for name, seed in (("a", 1), ("b", 2))
        ]

    def test_the_signature_changes(self, images):
        before = files_signature(images[:1])
        replace_keeping_size_and_mtime(images[0], images[1])
        assert files_signature(images[:1]) != before

    def test_the_decoded_image_cache_serves_the_new_pixels(self, images, tmp_path):
        sample = [ImageSample(images[0], "car")]
        old = np.array(build_image_cache(sample, IMAGE_SIZE, tmp_path / "cache"))
        replace_keeping_size_and_mtime(images[0], images[1])
        new = np.array(build_image_cache(sample, IMAGE_SIZE, tmp_path / "cache"))
        expected = build_image_cache([ImageSample(images[1], "car")], IMAGE_SIZE, tmp_path / "b")
        assert not np.array_equal(new, old)
        np.testing.assert_array_equal(new, expected)

    def test_the_unreadable_files_index_checks_the_new_file(self, images, tmp_path):
        garbage = tmp_path / "garbage.bmp"
        garbage.write_bytes(b"x" * images[0].stat().st_size)
        assert cached_unreadable(images[:1], tmp_path / "cache", "checking") == {}
        replace_keeping_size_and_mtime(images[0], garbage)
        assert cached_unreadable(images[:1], tmp_path / "cache", "checking") == {
            images[0]: "undecodable"
        }
