import os
import socket
import sys
import time
import types
import warnings
from pathlib import Path

import lightning as L
import pytest
import torch
from lightning.pytorch.loggers import CSVLogger

from hqnn_lightning.data import create_datamodule
from hqnn_lightning.data.stanford_cars import StanfordCarsDataModule, detect_layout, read_devkit
from hqnn_lightning.models import create_model
from hqnn_lightning.utils.extras import MissingPackageError
from tests.data.car_files import (
    CLASS_NAMES,
    write_bomb_png,
    write_broken_files,
    write_devkit,
    write_folders,
    write_single_file,
)

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"


def datamodule(root, tmp_path, **kwargs):
    kwargs = {
        "image_size": 32,
        "batch_size": 4,
        "cache_dir": str(tmp_path / "cache"),
        "val_fraction": 0.25,
        **kwargs,
    }
    return StanfordCarsDataModule(str(root), **kwargs)


class TestLayouts:
    @pytest.mark.parametrize("in_devkit", [False, True])
    def test_devkit_layout_with_1_based_ids(self, tmp_path, in_devkit):
        root = write_devkit(tmp_path / "cars", test_annos_in_devkit=in_devkit)
        index = read_devkit(root, crop=False)
        assert index.class_names == CLASS_NAMES
        assert len(index.train) == 16 and len(index.test) == 8
        assert index.train[0].class_name == CLASS_NAMES[0]
        assert index.train[-1].class_name == CLASS_NAMES[-1]
        assert index.train[0].path == root / "cars_train" / "00001.jpg"

    def test_devkit_bounding_boxes_when_cropping(self, tmp_path):
        root = write_devkit(tmp_path / "cars")
        assert read_devkit(root, crop=True).train[0].bbox == (2, 3, 40, 25)
        assert read_devkit(root, crop=False).train[0].bbox is None

    def test_missing_annotation_file_is_named(self, tmp_path):
        root = write_devkit(tmp_path / "cars")
        (root / "cars_test_annos_withlabels.mat").unlink()
        with pytest.raises(FileNotFoundError, match="cars_test_annos_withlabels.mat"):
            datamodule(root, tmp_path).setup()

    def test_single_file_layout_uses_the_test_flag(self, tmp_path):
        root = write_single_file(tmp_path / "cars", per_class=3)
        index = detect_layout(root, crop=False)()
        assert len(index.train) == 12 and len(index.test) == 4
        assert {s.class_name for s in index.test} == set(CLASS_NAMES)

    def test_folder_layout(self, tmp_path):
        root = write_folders(tmp_path / "cars")
        index = detect_layout(root, crop=False)()
        assert index.class_names == sorted(CLASS_NAMES)
        assert len(index.train) == 16 and len(index.test) == 8

    def test_no_layout_lists_what_it_looked_for(self, tmp_path):
        with pytest.raises(FileNotFoundError, match="cars_annos.mat") as error:
            datamodule(tmp_path, tmp_path).setup()
        message = str(error.value)
        assert "\n" not in message
        for layout in ("cars_train/, cars_test/ and devkit/", "car_ims/", "train/ and test/"):
            assert layout in message
        assert message.endswith("or set download (--download true)")


class TestStanfordCarsDataModule:
    def test_batches_splits_and_names(self, tmp_path):
        data = datamodule(write_devkit(tmp_path / "cars", per_class=10), tmp_path, val_fraction=0.2)
        data.setup()
        assert data.num_classes == 4 and data.class_names == CLASS_NAMES
        assert (len(data.train_set), len(data.val_set), len(data.test_set)) == (32, 8, 8)
        images, labels = next(iter(data.train_dataloader()))
        assert images.shape == (4, 3, 32, 32) and images.dtype == torch.float32
        assert labels.dtype == torch.int64
        val_labels = torch.stack([label for _, label in data.val_set])
        assert torch.bincount(val_labels).tolist() == [2, 2, 2, 2]

    def test_subset_of_k_classes(self, tmp_path):
        data = datamodule(write_folders(tmp_path / "cars"), tmp_path, num_classes=3)
        data.setup()
        assert data.class_names == sorted(CLASS_NAMES)[:3]
        labels = {int(label) for _, label in data.test_set}
        assert labels == {0, 1, 2}

    @pytest.mark.parametrize(
        "requested", [{}, {"classes": ["Audi S6 Sedan 2011", "Volvo 240 Sedan 1993"]}]
    )
    def test_fit_logs_the_class_count_the_model_has(self, tmp_path, requested):
        """Lightning refuses to log a DataModule's num_classes that differs from the model's."""
        data = datamodule(write_folders(tmp_path / "cars"), tmp_path, image_size=8, **requested)
        data.setup()
        model = create_model("classical_tiny", num_classes=data.num_classes, image_size=8)
        trainer = L.Trainer(
            max_epochs=1,
            limit_train_batches=1,
            limit_val_batches=1,
            logger=CSVLogger(tmp_path / "logs"),
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
        )
        trainer.fit(model, datamodule=data)
        assert trainer.logged_metrics  # the fit ran and logged
        rebuilt = StanfordCarsDataModule(**data.hparams)
        assert rebuilt.class_names == data.class_names

    def test_named_subset_and_unknown_name(self, tmp_path):
        root = write_devkit(tmp_path / "cars")
        data = datamodule(root, tmp_path, classes=["Volvo 240 Sedan 1993", "Audi S6 Sedan 2011"])
        assert data.class_names == ["Audi S6 Sedan 2011", "Volvo 240 Sedan 1993"]
        with pytest.raises(ValueError, match="did you mean 'Volvo 240 Sedan 1993'"):
            _ = datamodule(root, tmp_path, classes=["Volvo 240 Sedan 1994"]).num_classes

    def test_evaluation_is_deterministic_and_training_is_augmented(self, tmp_path):
        data = datamodule(write_folders(tmp_path / "cars"), tmp_path)
        data.setup()
        torch.testing.assert_close(data.test_set[0][0], data.test_set[0][0])
        views = torch.stack([data.train_set[(epoch, 0)][0] for epoch in range(8)])
        assert views.std(dim=0).mean() > 0

    def test_augmentation_is_fixed_by_seed_epoch_and_index(self, tmp_path):
        """Whatever the workers, and after a mid-epoch resume: torchvision's transforms draw
        from each worker's own generator unless each sample seeds them."""
        root = write_folders(tmp_path / "cars")

        def epochs(num_workers: int, state: dict | None = None) -> list[list[torch.Tensor]]:
            data = datamodule(root, tmp_path, num_workers=num_workers, seed=3)
            data.setup()
            if state is not None:
                data.load_state_dict(state)
            loader = data.train_dataloader()
            first = loader.sampler.epoch
            batches = []
            for epoch in range(first, 2):
                loader.sampler.set_epoch(epoch)
                batches.append([images for images, _ in loader])
            return batches

        in_process = epochs(num_workers=0)
        assert not torch.equal(in_process[0][0], in_process[1][0])  # other epoch, other draws
        for batches, expected in zip(epochs(num_workers=2), in_process, strict=True):
            torch.testing.assert_close(batches, expected, rtol=0, atol=0)
        resumed = epochs(num_workers=2, state={"epoch": 1, "samples_done": 4, "world_size": 1})
        torch.testing.assert_close(resumed[0], in_process[1][1:], rtol=0, atol=0)

    def test_broken_files_are_skipped_with_one_warning(self, tmp_path):
        root = write_folders(tmp_path / "cars")
        write_broken_files(root / "train" / CLASS_NAMES[0])
        (root / "train" / "Empty Class 2020").mkdir()
        data = datamodule(root, tmp_path)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            data.setup()
        skipped = [str(w.message) for w in caught if "unreadable" in str(w.message)]
        assert len(skipped) == 1 and "skipped 3 unreadable image file" in skipped[0]
        assert len(data.train_set) + len(data.val_set) == 16
        for loader in (data.train_dataloader(), data.val_dataloader(), data.test_dataloader()):
            for _ in loader:
                pass

    def test_a_decompression_bomb_is_skipped_with_how_to_allow_it(self, tmp_path):
        root = write_folders(tmp_path / "cars")
        bomb = write_bomb_png(root / "train" / CLASS_NAMES[0] / "huge.png")
        with pytest.warns(UserWarning, match="skipped 1 unreadable image file") as caught:
            datamodule(root, tmp_path).setup()
        assert str(bomb) in str(caught[0].message)
        assert "raise PIL.Image.MAX_IMAGE_PIXELS" in str(caught[0].message)

    @pytest.mark.skipif(sys.platform != "linux", reason="file names are bytes on Linux only")
    def test_a_class_folder_whose_name_is_not_utf8(self, tmp_path):
        root = write_folders(tmp_path / "cars")
        for split in ("train", "test"):
            folder = root / split / CLASS_NAMES[0]
            os.rename(bytes(folder), bytes(folder.parent) + b"/caf\xe9")
        data = datamodule(root, tmp_path)
        data.setup()
        assert "caf\\xe9" in data.class_names
        assert len(data.test_set) == 8

    def test_unreadable_check_is_cached(self, tmp_path):
        root = write_folders(tmp_path / "cars")
        datamodule(root, tmp_path).setup()
        assert len(list((tmp_path / "cache").glob("unreadable-*.json"))) == 1
        write_broken_files(root / "train" / CLASS_NAMES[1])
        with pytest.warns(UserWarning, match="skipped 3"):
            datamodule(root, tmp_path).setup()
        assert len(list((tmp_path / "cache").glob("unreadable-*.json"))) == 2

    def test_registered_for_the_command_line(self, tmp_path):
        data = create_datamodule(
            "stanford_cars",
            data_dir=str(write_folders(tmp_path / "c")),
            num_classes=2,
            image_size=16,
        )
        assert data.num_classes == 2 and data.image_size == 16

    def test_offline_download_fails_fast_with_instructions(self, tmp_path, monkeypatch):
        def unreachable(address, timeout):
            raise OSError("network is unreachable")

        monkeypatch.setattr(socket, "create_connection", unreachable)
        monkeypatch.setitem(sys.modules, "datasets", types.ModuleType("datasets"))  # installed
        data = datamodule(tmp_path / "empty", tmp_path, download=True)
        start = time.monotonic()
        with pytest.raises(RuntimeError, match="cannot reach huggingface.co") as error:
            data.prepare_data()
        assert time.monotonic() - start < 5
        assert "train/<Class Name>" in str(error.value)

    def test_download_without_datasets_names_the_extra_before_the_network(
        self, tmp_path, monkeypatch
    ):
        def no_network(address, timeout):
            raise AssertionError(f"the network was asked ({address}) before the package")

        monkeypatch.setattr(socket, "create_connection", no_network)
        monkeypatch.setitem(sys.modules, "datasets", None)  # not installed
        data = datamodule(tmp_path / "empty", tmp_path, download=True)
        with pytest.raises(MissingPackageError) as error:
            data.prepare_data()
        assert str(error.value) == (
            "--download true (download=True) needs the datasets package: "
            "pip install 'hqnn_lightning[download]'"
        )


@pytest.mark.skipif(not (SHARED / "stanford_cars_subset").is_dir(), reason="no shared data")
def test_real_subset_in_the_folder_layout(tmp_path):
    data = datamodule(
        SHARED / "stanford_cars_subset",
        tmp_path,
        image_size=64,
        num_classes=3,
        class_selection="most_images",
    )
    data.setup()
    assert data.class_names == [
        "Chevrolet Corvette ZR1 2012",
        "GMC Savana Van 2012",
        "Mercedes-Benz 300-Class Convertible 1993",
    ]
    assert len(data.test_set) == 15 + 22 + 16
    assert len(data.train_set) + len(data.val_set) == 32 + 46 + 32
    images, _ = next(iter(data.val_dataloader()))
    assert images.shape[1:] == (3, 64, 64)


@pytest.mark.skipif(not (SHARED / "stanford_cars_devkit").is_dir(), reason="no shared data")
def test_real_devkit_annotations(tmp_path):
    devkit = tmp_path / "cars" / "devkit"
    devkit.mkdir(parents=True)
    real = SHARED / "stanford_cars_devkit"
    for name in ("cars_meta.mat", "cars_train_annos.mat"):
        (devkit / name).symlink_to(real / name)
    (tmp_path / "cars" / "cars_test_annos_withlabels.mat").symlink_to(
        real / "cars_test_annos_withlabels.mat"
    )
    index = read_devkit(tmp_path / "cars", crop=True)
    assert len(index.class_names) == 196 and index.class_names[0] == "AM General Hummer SUV 2000"
    assert (len(index.train), len(index.test)) == (8144, 8041)
    first = index.train[0]
    assert first.path.name == "00001.jpg" and first.bbox == (39, 116, 569, 375)
    assert first.class_name == index.class_names[14 - 1]


class TestImageCache:
    def test_cached_eval_batches_equal_the_per_sample_path(self, tmp_path):
        root = write_devkit(tmp_path / "cars")
        plain = datamodule(root, tmp_path, crop_to_bbox=True)
        fast = datamodule(root, tmp_path, crop_to_bbox=True, cache_images=True)
        for data in (plain, fast):
            data.setup()
        images, labels = next(iter(fast.test_dataloader()))
        assert images.dtype == torch.uint8 and images.shape == (4, 3, 32, 32)
        expected, expected_labels = next(iter(plain.test_dataloader()))
        torch.testing.assert_close(fast.batch_transform(images, train=False), expected)
        assert torch.equal(labels, expected_labels)

    def test_training_batches_are_augmented_per_sample(self, tmp_path):
        data = datamodule(write_folders(tmp_path / "cars"), tmp_path, cache_images=True)
        data.setup()
        images, _ = next(iter(data.train_dataloader()))
        same = images[:1].expand(64, -1, -1, -1)
        views = data.batch_transform(same, train=True)
        assert views.dtype == torch.float32
        assert views.flatten(1).std(dim=0).mean() > 0

    def test_cache_is_built_once_and_rebuilt_when_a_file_changes(self, tmp_path):
        root = write_folders(tmp_path / "cars")
        datamodule(root, tmp_path, cache_images=True).setup()
        assert len(list((tmp_path / "cache").glob("images-*.u8"))) == 1
        datamodule(root, tmp_path, cache_images=True).setup()
        assert len(list((tmp_path / "cache").glob("images-*.u8"))) == 1
        write_image_again = root / "train" / CLASS_NAMES[0] / "000.jpg"
        write_image_again.write_bytes(write_image_again.read_bytes() + b"\0")
        datamodule(root, tmp_path, cache_images=True).setup()
        assert len(list((tmp_path / "cache").glob("images-*.u8"))) == 2
