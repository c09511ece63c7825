"""VMMRdb: 291,752 images of 9,170 ``make_model_year`` classes, one folder each."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from hqnn_lightning.data.car_base import CarDataModule, CarIndex
from hqnn_lightning.data.image_files import ImageSample, display_name
from hqnn_lightning.data.registry import DATAMODULES
from hqnn_lightning.data.splits import (
    ClassTooSmallError,
    check_split_fractions,
    stratified_split,
)
from hqnn_lightning.preflight.car_layouts import (
    DATA_DIR,
    check_vmmrdb_directory,
    is_image_file,
    vmmrdb_problem,
)


def read_class_folders(
    root: Path, min_images_per_class: int, option: str = DATA_DIR
) -> dict[str, list[Path]]:
    """Image files per class folder, for folders with at least ``min_images_per_class``.

    AppleDouble ``._*`` files and files that are not images by extension are ignored. A
    missing ``root`` is refused naming ``option``, the option that gave it.

    Raises:
        FileNotFoundError: ``root`` is not a directory (`check_vmmrdb_directory`) or has no
            class folder with enough images.
        PermissionError: this user may not read ``root``.
    """
    check_vmmrdb_directory(root, option, min_images_per_class)
    folders: dict[str, list[Path]] = {}
    with os.scandir(root) as entries:
        for entry in sorted(entries, key=lambda entry: entry.name):
            if entry.is_dir() and not entry.name.startswith("."):
                folder = Path(entry.path)
                files = sorted(path for path in folder.iterdir() if is_image_file(path))
                if len(files) >= max(1, min_images_per_class):
                    folders[display_name(entry.name)] = files
    return folders


def read_vmmrdb_index(
    root: Path, min_images_per_class: int, test_fraction: float, seed: int, option: str = DATA_DIR
) -> CarIndex:
    """The class folders under ``root`` (`read_class_folders`, ``option`` naming where it came
    from) with a stratified test split drawn from ``seed``.

    Raises:
        ValueError: a class folder has one image; the message names it and what to do.
    """
    folders = read_class_folders(root, min_images_per_class, option)
    samples = [ImageSample(path, name) for name, files in folders.items() for path in files]
    labels = np.array([index for index, files in enumerate(folders.values()) for _ in files])
    try:
        train, _, test = stratified_split(labels, 0.0, test_fraction, seed)
    except ClassTooSmallError as error:
        folder = list(folders.values())[error.label][0].parent
        raise ValueError(
            f"{folder}: {error.count} image(s), too few to test on one and train on another; "
            f"raise min_images_per_class (--min-images-per-class, now {min_images_per_class}) "
            "to leave such folders out, or remove it"
        ) from error
    return CarIndex(list(folders), [samples[i] for i in train], [samples[i] for i in test])


@DATAMODULES.register("vmmrdb")
class VMMRdbDataModule(CarDataModule):
    """VMMRdb, one folder per ``make_model_year`` class.

    VMMRdb has no official split: the test split is drawn per class, stratified, from
    ``split_seed`` (``seed`` when unset), and validation from what is left. Its long tail is
    cut with ``min_images_per_class`` and ``num_classes`` (the ``k`` classes with most images
    by default). Unreadable files are found once, with a progress bar, and cached until a file
    changes: a second setup only lists and stats the files. The other arguments are those of
    `CarDataModule`.

    Args:
        data_dir: The folder holding the class folders.
        min_images_per_class: Drop classes with fewer images (before any other selection).
        test_fraction: Fraction of each class held out for testing.
        class_selection: As in `CarDataModule`; ``"most_images"`` by default here.
        **kwargs: The other arguments of `CarDataModule`, with the same defaults.
    """

    input_problem = staticmethod(vmmrdb_problem)

    def __init__(
        self,
        data_dir: str,
        min_images_per_class: int = 10,
        test_fraction: float = 0.2,
        class_selection: str = "most_images",
        **kwargs: Any,
    ) -> None:
        super().__init__(data_dir, class_selection=class_selection, **kwargs)
        check_split_fractions(self.val_fraction, test_fraction)
        self.min_images_per_class = min_images_per_class
        self.test_fraction = test_fraction

    def load_index(self) -> CarIndex:
        return read_vmmrdb_index(
            self.data_dir, self.min_images_per_class, self.test_fraction, self.data_seed
        )
