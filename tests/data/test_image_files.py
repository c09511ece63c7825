import warnings

import numpy as np
import pytest

from hqnn_lightning.data.image_files import (
    ImageSample,
    drop_unreadable,
    find_unreadable,
    is_image_file,
    load_rgb,
)
from tests.data.car_files import write_broken_files, write_image


class TestLoadRGB:
    @pytest.mark.parametrize(
        ("mode", "fmt"), [("RGB", "JPEG"), ("L", "JPEG"), ("CMYK", "JPEG"), ("RGBA", "PNG")]
    )
    def test_every_mode_becomes_rgb(self, tmp_path, mode, fmt):
        path = write_image(tmp_path / f"image.{fmt.lower()}", seed=0, mode=mode, fmt=fmt)
        image = load_rgb(path)
        assert image.mode == "RGB" and image.size == (48, 32)

    def test_sixteen_bit_greyscale_is_scaled_not_clipped(self, tmp_path):
        from PIL import Image

        ramp = np.linspace(0, 65535, 48 * 32).reshape(32, 48).astype(np.uint16)
        Image.fromarray(ramp).save(tmp_path / "depth.png")
        pixels = np.asarray(load_rgb(tmp_path / "depth.png"))
        assert pixels.shape == (32, 48, 3) and (pixels[..., 0] == pixels[..., 2]).all()
        np.testing.assert_array_equal(pixels[..., 0], np.rint(ramp / 257).astype(np.uint8))
        assert pixels.mean() == pytest.approx(127.5, abs=1)  # not clipped to white at 255

    def test_crops_to_the_inclusive_bounding_box(self, tmp_path):
        path = write_image(tmp_path / "car.jpg", seed=0)
        assert load_rgb(path, (2, 3, 11, 7)).size == (10, 5)

    def test_box_past_the_edge_is_clipped(self, tmp_path):
        path = write_image(tmp_path / "car.jpg", seed=0)
        assert load_rgb(path, (40, 20, 100, 100)).size == (8, 12)

    def test_broken_file_error_names_it(self, tmp_path):
        broken = write_broken_files(tmp_path)[2]
        with pytest.raises(OSError, match="garbage.jpg"):
            load_rgb(broken)


class TestFindUnreadable:
    def test_finds_zero_byte_truncated_and_garbage_files(self, tmp_path):
        good = [write_image(tmp_path / f"{k}.jpg", seed=k) for k in range(3)]
        good.append(write_image(tmp_path / "alpha.png", seed=9, mode="RGBA", fmt="PNG"))
        broken = write_broken_files(tmp_path / "broken")
        assert find_unreadable(good + broken) == broken

    def test_missing_file_is_unreadable(self, tmp_path):
        assert find_unreadable([tmp_path / "gone.jpg"]) == [tmp_path / "gone.jpg"]

    def test_drop_warns_once_counting_only_the_dropped_samples(self, tmp_path):
        train = [ImageSample(tmp_path / f"{k}.jpg", "a") for k in range(4)]
        test = [ImageSample(tmp_path / "t.jpg", "a")]
        unreadable = [train[1].path, train[3].path, tmp_path / "elsewhere.jpg"]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            kept = drop_unreadable([train, test], unreadable, "cars")
        assert kept == [[train[0], train[2]], test]
        assert len(caught) == 1 and "skipped 2 unreadable" in str(caught[0].message)


@pytest.mark.parametrize(
    ("name", "expected"),
    [("a.jpg", True), ("b.JPEG", True), ("c.png", True), ("._a.jpg", False), ("d.txt", False)],
)
def test_is_image_file(tmp_path, name, expected):
    assert is_image_file(tmp_path / name) is expected
