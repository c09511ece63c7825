import logging

import pytest

from hqnn_lightning.data import CombinedCarsDataModule, create_datamodule
from tests.data.car_files import write_folders, write_vmmrdb


@pytest.fixture
def root(tmp_path):
    write_folders(tmp_path / "both" / "stanford_cars")
    write_vmmrdb(
        tmp_path / "both" / "vmmrdb",
        {
            "am_general_hummer_2000": 10,
            "mercedes_benz_c_class_2012": 10,
            "volvo_240_1993": 10,
            "bmw_m3_2012": 10,
        },
    )
    return tmp_path / "both"


def datamodule(root, tmp_path, **kwargs):
    kwargs = {"image_size": 16, "batch_size": 8, "cache_dir": str(tmp_path / "cache"), **kwargs}
    return CombinedCarsDataModule(str(root), **kwargs)


class TestCombinedCars:
    def test_matched_classes_merge_both_datasets(self, root, tmp_path):
        data = datamodule(root, tmp_path)
        data.setup()
        assert data.class_names == [
            "am_general_hummer_2000",
            "mercedes_benz_c_class_2012",
            "volvo_240_1993",
        ]
        match = data.taxonomy_match
        assert match.stanford_only == ["Audi S6 Sedan 2011"]
        assert match.vmmrdb_only == ["bmw_m3_2012"]
        paths = [str(s.path) for s in data.train_set.samples + data.val_set.samples]
        assert any("stanford_cars" in p for p in paths) and any("vmmrdb" in p for p in paths)
        stanford_test = [s for s in data.test_set.samples if "stanford_cars" in str(s.path)]
        assert len(stanford_test) == 3 * 2

    def test_union_keeps_every_class(self, root, tmp_path):
        data = datamodule(root, tmp_path, keep="union")
        assert data.num_classes == 5
        assert {"audi_s6_2011", "bmw_m3_2012"} <= set(data.class_names)

    def test_summary_is_logged(self, root, tmp_path, caplog):
        with caplog.at_level(logging.INFO):
            datamodule(root, tmp_path).setup()
        assert "3 classes matched" in caplog.text

    def test_bad_keep_rule(self, root, tmp_path):
        with pytest.raises(ValueError, match="keep must be one of matched, union"):
            datamodule(root, tmp_path, keep="both")

    def test_registered(self, root):
        assert create_datamodule("combined", data_dir=str(root)).keep == "matched"
