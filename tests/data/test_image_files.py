import json
import warnings
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from hqnn_lightning.data.image_files import (
    ImageSample,
    drop_unreadable,
    find_unreadable,
    load_rgb,
)
from hqnn_lightning.data.index_cache import cached_unreadable
from tests.data.car_files import write_bomb_png, write_broken_files, write_image


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
        assert find_unreadable(good + broken) == dict.fromkeys(broken, "undecodable") | {
            broken[0]: "empty"
        }

    def test_missing_file_is_unreadable(self, tmp_path):
        assert find_unreadable([tmp_path / "gone.jpg"]) == {tmp_path / "gone.jpg": "missing"}

    def test_a_header_claiming_20000_by_20000_pixels_is_too_large_not_a_crash(self, tmp_path):
        bomb = write_bomb_png(tmp_path / "bomb.png")
        assert find_unreadable([bomb]) == {bomb: "too_large"}
        with pytest.raises(OSError, match=r"bomb.png: .*raise PIL.Image.MAX_IMAGE_PIXELS"):
            load_rgb(bomb)
        with pytest.warns(UserWarning) as caught:
            drop_unreadable([[ImageSample(bomb, "a")]], {bomb: "too_large"}, "cars")
        assert str(caught[0].message) == (
            "cars: skipped 1 unreadable image file(s): 1 over Pillow's pixel limit "
            f"(raise PIL.Image.MAX_IMAGE_PIXELS to read it), e.g. {bomb}"
        )

    def test_drop_warns_once_counting_only_the_dropped_samples(self, tmp_path):
        train = [ImageSample(tmp_path / f"{k}.jpg", "a") for k in range(4)]
        test = [ImageSample(tmp_path / "t.jpg", "a")]
        unreadable = {
            train[1].path: "undecodable",
            train[3].path: "inaccessible",
            tmp_path / "elsewhere.jpg": "empty",
        }
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            kept = drop_unreadable([train, test], unreadable, "cars")
        assert kept == [[train[0], train[2]], test]
        assert len(caught) == 1
        assert str(caught[0].message) == (
            f"cars: skipped 2 unreadable image file(s): 1 cannot be decoded, e.g. {train[1].path}; "
            "1 could not be read (permission or I/O error; checked again on every run), "
            f"e.g. {train[3].path}"
        )


class TestUnreadableCache:
    """A file excluded for a reason that may pass is checked again; one that cannot decode is
    checked again only when asked."""

    @pytest.fixture
    def files(self, tmp_path):
        good = write_image(tmp_path / "good.jpg", seed=0)
        garbage = write_broken_files(tmp_path / "broken")[2]
        return good, garbage

    @pytest.fixture
    def opened(self, monkeypatch):
        """``paths``: the files Pillow opens; ``denied`` ones fail as without permission."""
        real_open = Image.open
        opened = SimpleNamespace(paths=[], denied=set())

        def open_(path, *args, **kwargs):
            opened.paths.append(path)
            if path in opened.denied:
                raise PermissionError(13, "Permission denied", str(path))
            return real_open(path, *args, **kwargs)

        monkeypatch.setattr(Image, "open", open_)
        return opened

    def test_a_file_denied_once_is_used_when_it_can_be_read(self, files, opened, tmp_path):
        good, garbage = files
        opened.denied.add(good)
        cache = tmp_path / "cache"
        assert cached_unreadable(files, cache, "checking") == {
            good: "inaccessible",
            garbage: "undecodable",
        }
        opened.denied.clear()
        opened.paths.clear()
        assert cached_unreadable(files, cache, "checking") == {garbage: "undecodable"}
        assert opened.paths == [good]  # the undecodable file is not opened again
        (cache_file,) = cache.glob("unreadable-*.json")
        assert json.loads(cache_file.read_text())["unreadable"] == {str(garbage): "undecodable"}

    def test_recheck_checks_every_excluded_file_again(self, files, opened, tmp_path):
        garbage = files[1]
        cached_unreadable(files, tmp_path, "checking")
        opened.paths.clear()
        assert cached_unreadable(files, tmp_path, "checking", recheck=True) == {
            garbage: "undecodable"
        }
        assert opened.paths == [garbage]

    def test_a_cache_without_reasons_is_checked_again(self, files, opened, tmp_path):
        good, garbage = files
        cached_unreadable(files, tmp_path, "checking")
        (cache_file,) = tmp_path.glob("unreadable-*.json")
        cache_file.write_text(json.dumps([str(good), str(garbage)]))  # the format before
        opened.paths.clear()
        assert cached_unreadable(files, tmp_path, "checking") == {garbage: "undecodable"}
        assert sorted(opened.paths) == sorted(files)
