"""Classes a split lacks, and classes too small to split: named, never silent, never a
traceback; and data directories that cannot be read."""

from __future__ import annotations

import json
import os
import shutil
import warnings

import pytest

from hqnn_lightning.data import CombinedCarsDataModule, StanfordCarsDataModule
from hqnn_lightning.data.vmmrdb import VMMRdbDataModule
from hqnn_lightning.run.cli import main
from tests.data.car_files import CLASS_NAMES, write_devkit, write_folders, write_vmmrdb

AUDI = CLASS_NAMES[1]


def setup(data):
    """``data`` set up; the warnings it gave, as strings."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data.setup("fit")
    return [str(warning.message) for warning in caught]


def setup_error(data, kind: type[Exception]) -> str:
    """The message of the ``kind`` error that setting ``data`` up raises."""
    with pytest.raises(kind) as raised:
        data.setup("fit")
    return str(raised.value)


def cars(root, tmp_path, **kwargs):
    options = {"image_size": 16, "cache_dir": str(tmp_path / "cache"), "val_fraction": 0.25}
    return StanfordCarsDataModule(str(root), **{**options, **kwargs})


class TestClassesWithoutImages:
    def test_a_test_folder_without_a_class_is_named_once(self, tmp_path):
        root = write_folders(tmp_path / "cars")
        shutil.rmtree(root / "test" / AUDI)
        data = cars(root, tmp_path)
        messages = setup(data)
        said = [message for message in messages if AUDI in message]
        assert said == [
            f"{root}: no test image of 1 of the 4 classes: {AUDI}; test metrics are computed "
            "over the other classes (results.json: test_classes_missing; "
            "test/f1_macro_classes counts the classes macro F1 averages over)"
        ]
        assert data.test_classes_missing == [AUDI]
        assert setup(data) == []  # set up once, said once

    def test_a_test_class_whose_images_all_fail_to_decode(self, tmp_path):
        root = write_folders(tmp_path / "cars")
        for image in (root / "test" / AUDI).iterdir():
            image.write_bytes(b"not a jpeg")
        data = cars(root, tmp_path)
        messages = setup(data)
        assert any("skipped 2 unreadable" in message for message in messages)
        assert any(f"no test image of 1 of the 4 classes: {AUDI}" in m for m in messages)
        assert data.test_classes_missing == [AUDI]

    def test_a_class_with_test_images_and_no_training_image(self, tmp_path):
        root = write_devkit(tmp_path / "cars")
        for image in sorted((root / "cars_train").iterdir())[4:8]:  # class 2's four
            image.write_bytes(b"not a jpeg")
        messages = setup(cars(root, tmp_path))
        assert any(
            f"no training image of 1 of the 4 classes: {AUDI}; the model cannot learn them" in m
            for m in messages
        )

    def test_a_vmmrdb_split_that_draws_no_test_image_of_a_class(self, tmp_path):
        root = write_vmmrdb(tmp_path / "vmmrdb", {"audi_s6_2011": 20, "volvo_240_1993": 2})
        data = VMMRdbDataModule(
            str(root), min_images_per_class=2, image_size=16, cache_dir=str(tmp_path / "c")
        )
        messages = setup(data)
        assert any("no test image of 1 of the 2 classes: volvo_240_1993" in m for m in messages)
        assert data.test_classes_missing == ["volvo_240_1993"]

    def test_every_class_present_says_nothing(self, tmp_path):
        data = cars(write_folders(tmp_path / "cars"), tmp_path)
        assert setup(data) == [] and data.test_classes_missing == []

    def test_combined_names_the_class_by_its_key(self, tmp_path):
        write_folders(tmp_path / "both" / "stanford_cars")
        shutil.rmtree(tmp_path / "both" / "stanford_cars" / "test" / AUDI)
        write_vmmrdb(tmp_path / "both" / "vmmrdb", {"volvo_240_1993": 10})
        data = CombinedCarsDataModule(
            str(tmp_path / "both"),
            keep="union",
            image_size=16,
            val_fraction=0.25,
            cache_dir=str(tmp_path / "c"),
        )
        setup(data)
        assert data.test_classes_missing == ["audi_s6_2011"]

    def test_results_json_names_them_and_the_classes_macro_f1_averaged(self, tmp_path):
        root = write_folders(tmp_path / "cars", per_class=6)
        shutil.rmtree(root / "test" / AUDI)
        argv = ["--model", "classical_tiny", "--data", "stanford_cars", "--data-dir", str(root)]
        argv += ["--image-size", "16", "--val-fraction", "0.5", "--max-epochs", "1"]
        argv += ["--cache-dir", str(tmp_path / "cache"), "--logger", "csv"]
        with pytest.warns(UserWarning, match="no test image of 1 of the 4 classes"):
            (results,) = main([*argv, "--output-dir", str(tmp_path / "runs")])
        written = json.loads((tmp_path / "runs").glob("*/results.json").__next__().read_text())
        assert written["test_classes_missing"] == [AUDI]
        assert written["test/f1_macro_classes"] in (3, 4)  # 4 when the model predicts Audi
        assert written["val/f1_macro_classes"] >= 4 and results == written


class TestClassesTooSmallToSplit:
    def test_a_class_with_one_image_is_named_with_its_file(self, tmp_path):
        root = write_folders(tmp_path / "cars")
        for image in sorted((root / "train" / AUDI).iterdir())[1:]:
            image.unlink()
        assert setup_error(cars(root, tmp_path), ValueError) == (
            f"{root}: class {AUDI!r} has 1 training image(s) ({root / 'train' / AUDI / '000.jpg'})"
            ", too few to hold one out for validation and train on another; add images to it, "
            "remove it, or leave it out with classes (--classes)"
        )

    def test_the_command_line_says_it_on_one_line(self, tmp_path, capsys):
        root = write_folders(tmp_path / "cars")
        for image in sorted((root / "train" / AUDI).iterdir())[1:]:
            image.unlink()
        argv = ["--data", "stanford_cars", "--data-dir", str(root), "--val-fraction", "0.25"]
        argv += ["--cache-dir", str(tmp_path / "cache"), "--output-dir", str(tmp_path / "runs")]
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        error = capsys.readouterr().err.strip().splitlines()[-1]
        assert exit_info.value.code == 2
        assert error.startswith(f"error: {root}: class {AUDI!r} has 1 training image(s)")

    def test_a_vmmrdb_folder_with_one_image_names_min_images_per_class(self, tmp_path):
        root = write_vmmrdb(tmp_path / "vmmrdb", {"audi_s6_2011": 10, "volvo_240_1993": 1})
        data = VMMRdbDataModule(
            str(root), min_images_per_class=1, image_size=16, cache_dir=str(tmp_path / "c")
        )
        assert setup_error(data, ValueError) == (
            f"{root / 'volvo_240_1993'}: 1 image(s), too few to test on one and train on "
            "another; raise min_images_per_class (--min-images-per-class, now 1) to leave such "
            "folders out, or remove it"
        )

    def test_a_vmmrdb_class_left_with_one_training_image(self, tmp_path):
        root = write_vmmrdb(tmp_path / "vmmrdb", {"audi_s6_2011": 10, "volvo_240_1993": 2})
        data = VMMRdbDataModule(
            str(root),
            min_images_per_class=2,
            test_fraction=0.5,  # one of volvo's two images is drawn for testing
            image_size=16,
            cache_dir=str(tmp_path / "c"),
        )
        with pytest.raises(ValueError, match="now 2\\) to leave such classes out") as raised:
            data.setup("fit")
        assert "class 'volvo_240_1993' has 1 training image(s)" in str(raised.value)


@pytest.fixture
def unreadable(tmp_path, monkeypatch):
    """Stanford Cars in a directory this user may not read. Root reads it regardless of its
    mode, so for root ``os.access`` answers as it does for any other user."""
    root = write_folders(tmp_path / "cars")
    root.chmod(0)
    if os.access(root, os.R_OK):
        access = os.access
        monkeypatch.setattr(
            os, "access", lambda path, mode: access(path, mode) and str(path) != str(root)
        )
    yield root
    root.chmod(0o755)


class TestDataDirectories:
    def test_an_unreadable_directory_is_named_with_the_reason(self, unreadable, tmp_path):
        assert setup_error(cars(unreadable, tmp_path), PermissionError) == (
            f"{unreadable}: this user has no permission to read this directory (mode "
            "d---------); give it read and execute permission (chmod +rx), or run as a user "
            "who has them"
        )

    def test_the_command_line_says_it_on_one_line(self, unreadable, tmp_path, capsys):
        argv = ["--data", "stanford_cars", "--data-dir", str(unreadable)]
        argv += ["--cache-dir", str(tmp_path / "cache"), "--output-dir", str(tmp_path / "runs")]
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2
        error = capsys.readouterr().err.strip().splitlines()[-1]
        assert error.startswith(f"error: {unreadable}: this user has no permission to read")

    def test_a_file(self, tmp_path):
        (tmp_path / "cars.zip").write_bytes(b"PK")
        with pytest.raises(FileNotFoundError, match="cars.zip: it is a file, not a directory"):
            cars(tmp_path / "cars.zip", tmp_path).setup("fit")

    def test_a_loop_of_symbolic_links(self, tmp_path):
        (tmp_path / "a").symlink_to(tmp_path / "b")
        (tmp_path / "b").symlink_to(tmp_path / "a")
        with pytest.raises(FileNotFoundError, match=r"found in .*a: a loop of symbolic links"):
            cars(tmp_path / "a", tmp_path).setup("fit")

    def test_train_without_class_folders(self, tmp_path):
        root = write_folders(tmp_path / "cars")
        for folder in (root / "train").iterdir():
            for image in folder.iterdir():
                image.rename(root / "train" / f"{folder.name[:4]}-{image.name}")
            folder.rmdir()
        with pytest.raises(FileNotFoundError, match="train has no class folder with images"):
            cars(root, tmp_path).setup("fit")
