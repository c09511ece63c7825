"""The car datasets' input checks say what the DataModules say when set up, in the same words,
and only what they would say."""

import pytest

from hqnn_lightning.data import DATAMODULES, create_datamodule
from hqnn_lightning.preflight import car_layouts
from hqnn_lightning.preflight.car_layouts import (
    combined_problem,
    is_image_file,
    stanford_cars_layout,
    stanford_cars_problem,
    vmmrdb_problem,
)
from hqnn_lightning.run.option_table import derived_option_table
from tests.data.car_files import write_devkit, write_folders, write_single_file, write_vmmrdb


def arguments(data: str, **given):
    """The DataModule's arguments as the command line passes them: defaults, then ``given``."""
    return dict(derived_option_table().datasets.arguments[data]) | given


def setup_error(data: str, tmp_path, **given) -> str | None:
    """What setting up the DataModule raises, as one line; ``None`` when it sets up."""
    module = create_datamodule(
        data, cache_dir=str(tmp_path / "cache"), image_size=16, val_fraction=0.25, **given
    )
    try:
        module.prepare_data()
        module.setup("fit")
    except (FileNotFoundError, PermissionError, ValueError, ImportError) as error:
        return str(error)
    return None


@pytest.mark.parametrize(
    ("name", "expected"),
    [("a.jpg", True), ("b.JPEG", True), ("c.png", True), ("._a.jpg", False), ("d.txt", False)],
)
def test_is_image_file(tmp_path, name, expected):
    assert is_image_file(tmp_path / name) is expected


def test_each_dataset_names_its_check():
    table = derived_option_table()
    assert table.datasets.input_problems == {
        name: (
            {
                "stanford_cars": "hqnn_lightning.preflight.car_layouts:stanford_cars_problem",
                "vmmrdb": "hqnn_lightning.preflight.car_layouts:vmmrdb_problem",
                "combined": "hqnn_lightning.preflight.car_layouts:combined_problem",
            }.get(name)
        )
        for name in DATAMODULES.names()
    }


class TestStanfordCars:
    @pytest.mark.parametrize(
        ("write", "layout"),
        [(write_devkit, "devkit"), (write_single_file, "single"), (write_folders, "folders")],
    )
    def test_finds_each_layout(self, tmp_path, write, layout):
        root = write(tmp_path / "cars")
        assert stanford_cars_layout(root, crop=False) == layout
        assert stanford_cars_problem(arguments("stanford_cars", data_dir=str(root))) is None

    @pytest.mark.parametrize(
        "case",
        ["missing", "empty", "file", "crop_folders", "download_without_package", "download_file"],
    )
    def test_says_what_setting_up_says(self, tmp_path, monkeypatch, case):
        root = tmp_path / "cars"
        given = {"data_dir": str(root)}
        if case == "empty":
            root.mkdir()
        if case in ("file", "download_file"):
            root.write_text("not a folder")
            given["download"] = case == "download_file"
        if case == "crop_folders":
            write_folders(root)
            given["crop_to_bbox"] = True
        if case == "download_without_package":
            monkeypatch.setattr(car_layouts, "is_installed", lambda module: False)
            monkeypatch.setattr(
                "hqnn_lightning.utils.extras.importlib.import_module",
                _refusing_import("datasets"),
            )
            given["download"] = True
        expected = setup_error("stanford_cars", tmp_path, **given)
        assert expected is not None
        assert stanford_cars_problem(arguments("stanford_cars", **given)) == expected

    def test_download_lets_an_empty_directory_through_when_it_can_download(
        self, tmp_path, monkeypatch
    ):
        monkeypatch.setattr(car_layouts, "is_installed", lambda module: True)
        given = arguments("stanford_cars", data_dir=str(tmp_path), download=True)
        assert stanford_cars_problem(given) is None

    def test_a_layout_already_there_needs_no_download_package(self, tmp_path, monkeypatch):
        monkeypatch.setattr(car_layouts, "is_installed", lambda module: False)
        root = write_folders(tmp_path / "cars")
        given = arguments("stanford_cars", data_dir=str(root), download=True)
        assert stanford_cars_problem(given) is None


def _refusing_import(refused: str):
    import importlib

    real = importlib.import_module

    def import_module(name, *args):
        if name.split(".")[0] == refused:
            raise ModuleNotFoundError(f"No module named {refused!r}", name=refused)
        return real(name, *args)

    return import_module


class TestVMMRdb:
    def test_a_directory_with_a_big_enough_class_passes(self, tmp_path):
        root = write_vmmrdb(tmp_path / "v", {"audi_s6_2011": 3})
        given = arguments("vmmrdb", data_dir=str(root), min_images_per_class=3)
        assert vmmrdb_problem(given) is None
        assert vmmrdb_problem(given | {"min_images_per_class": 4}) is not None

    @pytest.mark.parametrize("case", ["missing", "file", "no_class_folder", "classes_too_small"])
    def test_says_what_setting_up_says(self, tmp_path, case):
        root = tmp_path / "v"
        given = {"data_dir": str(root), "min_images_per_class": 5}
        if case == "file":
            root.write_text("not a folder")
        if case == "no_class_folder":
            (root / "notes").mkdir(parents=True)
            (root / "notes" / "readme.txt").write_text("no image")
        if case == "classes_too_small":
            write_vmmrdb(root, {"audi_s6_2011": 4, "volvo_240_1993": 2})
        expected = setup_error("vmmrdb", tmp_path, **given)
        assert expected is not None
        assert vmmrdb_problem(arguments("vmmrdb", **given)) == expected


class TestCombined:
    @pytest.mark.parametrize("case", ["no_stanford", "no_vmmrdb", "vmmrdb_given_missing"])
    def test_says_what_setting_up_says_and_names_the_option(self, tmp_path, case):
        given = {"data_dir": str(tmp_path)}
        if case != "no_stanford":
            write_folders(tmp_path / "stanford_cars")
        if case == "vmmrdb_given_missing":
            given["vmmrdb_dir"] = str(tmp_path / "elsewhere")
        expected = setup_error("combined", tmp_path, **given)
        assert combined_problem(arguments("combined", **given)) == expected
        option = "--stanford-dir" if case == "no_stanford" else "--vmmrdb-dir"
        assert option in expected
