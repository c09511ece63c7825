import time

import pytest

from hqnn_lightning.data.cache_check import CacheRebuiltWarning
from hqnn_lightning.data.vmmrdb import VMMRdbDataModule, read_class_folders
from tests.data.car_files import VMMRDB_CLASSES, write_broken_files, write_vmmrdb


def datamodule(root, tmp_path, **kwargs):
    kwargs = {"image_size": 16, "batch_size": 8, "cache_dir": str(tmp_path / "cache"), **kwargs}
    return VMMRdbDataModule(str(root), **kwargs)


class TestVMMRdb:
    def test_reads_class_folders_ignoring_appledouble_and_non_images(self, tmp_path):
        folders = read_class_folders(write_vmmrdb(tmp_path / "v"), min_images_per_class=1)
        assert list(folders) == sorted(VMMRDB_CLASSES)
        for name, files in folders.items():
            assert len(files) == VMMRDB_CLASSES[name]
            assert all(f.suffix == ".jpg" and not f.name.startswith("._") for f in files)

    def test_min_images_per_class_cuts_the_tail(self, tmp_path):
        data = datamodule(write_vmmrdb(tmp_path / "v"), tmp_path, min_images_per_class=10)
        assert "honda_civic ex_2005" not in data.class_names
        assert data.num_classes == 4

    def test_top_k_by_count(self, tmp_path):
        data = datamodule(write_vmmrdb(tmp_path / "v"), tmp_path, num_classes=2)
        assert data.class_names == ["am_general_hummer_2000", "mercedes_benz_c_class_2012"]

    def test_stratified_seeded_test_split(self, tmp_path):
        root = write_vmmrdb(tmp_path / "v")
        first = datamodule(root, tmp_path, test_fraction=0.2, seed=1)
        first.setup()
        again = datamodule(root, tmp_path, test_fraction=0.2, seed=1)
        again.setup()
        assert [s.path for s in first.test_set.samples] == [s.path for s in again.test_set.samples]
        total = sum(n for n in VMMRDB_CLASSES.values() if n >= 10)
        sizes = (len(first.train_set), len(first.val_set), len(first.test_set))
        assert sum(sizes) == total
        assert {s.class_name for s in first.test_set.samples} == set(first.class_names)

    def test_broken_files_are_found_once_and_cached(self, tmp_path):
        root = write_vmmrdb(tmp_path / "v")
        write_broken_files(root / "volvo_240_1993")
        with pytest.warns(UserWarning, match="skipped 3 unreadable"):
            datamodule(root, tmp_path).setup()
        start = time.monotonic()
        with pytest.warns(UserWarning, match="skipped 3 unreadable"):
            datamodule(root, tmp_path).setup()
        assert time.monotonic() - start < 5

    @pytest.mark.parametrize("content", ['"a string"', "{}", '{"format": 2, "unrea'])
    def test_a_corrupt_index_of_broken_files_is_checked_again(self, tmp_path, content):
        """It used to end in AttributeError (a string) or to skip nothing (``{}``)."""
        root = write_vmmrdb(tmp_path / "v")
        write_broken_files(root / "volvo_240_1993")
        with pytest.warns(UserWarning, match="skipped 3 unreadable"):
            datamodule(root, tmp_path).setup()
        (index,) = (tmp_path / "cache").glob("unreadable-*.json")
        index.write_text(content)
        with (
            pytest.warns(CacheRebuiltWarning, match=f"cache {index} "),
            pytest.warns(UserWarning, match="skipped 3 unreadable"),
        ):
            datamodule(root, tmp_path).setup()

    def test_missing_directory_explains_the_layout(self, tmp_path):
        with pytest.raises(FileNotFoundError, match="make_model_year"):
            datamodule(tmp_path / "nowhere", tmp_path).setup()


class TestConstructorArguments:
    def test_hyperparameters_hold_own_inherited_and_default_arguments(self, tmp_path):
        data = VMMRdbDataModule(str(tmp_path), min_images_per_class=5, image_size=64)
        hparams = data.hparams
        assert hparams["min_images_per_class"] == 5 and hparams["test_fraction"] == 0.2
        assert hparams["image_size"] == 64 and hparams["class_selection"] == "most_images"
        assert hparams["rotation"] == 10.0 and hparams["data_dir"] == str(tmp_path)

    def test_registry_accepts_inherited_arguments_and_names_unknown_ones(self, tmp_path):
        from hqnn_lightning.data import DATAMODULES, create_datamodule

        assert {"min_images_per_class", "rotation", "cache_images"} <= (
            DATAMODULES.accepted_arguments("vmmrdb")
        )
        assert (
            create_datamodule("vmmrdb", data_dir=str(tmp_path), rotation=5.0).hparams["rotation"]
            == 5.0
        )
        with pytest.raises(TypeError, match="does not take crop_to_bbox"):
            create_datamodule("vmmrdb", data_dir=str(tmp_path), crop_to_bbox=True)
