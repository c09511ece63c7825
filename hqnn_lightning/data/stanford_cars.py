"""Stanford Cars (196 classes, 16,185 images) in each on-disk form that users have."""

from __future__ import annotations

import socket
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import scipy.io

from hqnn_lightning.data.car_base import CarDataModule, CarIndex
from hqnn_lightning.data.image_files import ImageSample, display_name
from hqnn_lightning.data.registry import DATAMODULES
from hqnn_lightning.preflight.car_layouts import (
    DOWNLOAD,
    DOWNLOAD_EXTRA,
    DOWNLOAD_PACKAGE,
    STANFORD_LAYOUTS_HELP,
    check_directory,
    has_stanford_cars_layout,
    is_image_file,
    stanford_cars_layout,
    stanford_cars_problem,
)
from hqnn_lightning.utils.extras import import_optional

HF_DATASET = "tanganke/stanford_cars"
"""The public copy that ``download=True`` fetches through the ``datasets`` library."""


def _read_mat(path: Path) -> dict[str, Any]:
    return scipy.io.loadmat(path, squeeze_me=True)


def _records(annotations: np.ndarray) -> list[dict[str, Any]]:
    """A MATLAB struct array as a list of dicts (one per record)."""
    annotations = np.atleast_1d(annotations)
    return [{name: record[name] for name in annotations.dtype.names} for record in annotations]


def _bbox(record: dict[str, Any]) -> tuple[int, int, int, int]:
    return tuple(int(record[f"bbox_{corner}"]) for corner in ("x1", "y1", "x2", "y2"))


def read_devkit(root: Path, crop: bool) -> CarIndex:
    """The official devkit / torchvision layout (class ids in the .mat files are 1-based)."""
    devkit = root / "devkit"
    test_annos = next(
        (
            path
            for path in (
                root / "cars_test_annos_withlabels.mat",
                devkit / "cars_test_annos_withlabels.mat",
            )
            if path.is_file()
        ),
        None,
    )
    required = [devkit / "cars_meta.mat", devkit / "cars_train_annos.mat"]
    missing = [path for path in required if not path.is_file()]
    if test_annos is None:
        missing.append(root / "cars_test_annos_withlabels.mat")
    if missing:
        raise FileNotFoundError(
            f"Stanford Cars devkit layout in {root} lacks {', '.join(map(str, missing))}\n"
            f"{STANFORD_LAYOUTS_HELP}"
        )
    class_names = [str(name) for name in _read_mat(devkit / "cars_meta.mat")["class_names"]]

    def samples(annos_file: Path, image_dir: Path) -> list[ImageSample]:
        return [
            ImageSample(
                image_dir / str(record["fname"]),
                class_names[int(record["class"]) - 1],
                _bbox(record) if crop else None,
            )
            for record in _records(_read_mat(annos_file)["annotations"])
        ]

    return CarIndex(
        class_names,
        samples(devkit / "cars_train_annos.mat", root / "cars_train"),
        samples(test_annos, root / "cars_test"),
    )


def read_single_file(root: Path, crop: bool) -> CarIndex:
    """The single-file release: ``cars_annos.mat`` (``test`` flag per image) and ``car_ims/``."""
    mat = _read_mat(root / "cars_annos.mat")
    class_names = [str(name) for name in mat["class_names"]]
    train, test = [], []
    for record in _records(mat["annotations"]):
        sample = ImageSample(
            root / str(record["relative_im_path"]),
            class_names[int(record["class"]) - 1],
            _bbox(record) if crop else None,
        )
        (test if int(record["test"]) else train).append(sample)
    return CarIndex(class_names, train, test)


def read_folders(root: Path) -> CarIndex:
    """``train/<Class Name>/*`` and ``test/<Class Name>/*``; classes are the train folders
    (a folder name that is not UTF-8 is spelled with ``\\xNN`` for its other bytes)."""

    def class_folders(split: str) -> dict[str, list[Path]]:
        return {
            display_name(folder.name): sorted(
                path for path in folder.iterdir() if is_image_file(path)
            )
            for folder in sorted((root / split).iterdir())
            if folder.is_dir()
        }

    train_folders, test_folders = class_folders("train"), class_folders("test")
    empty = [name for name, files in train_folders.items() if not files]
    if empty:
        warnings.warn(
            f"{root / 'train'}: skipped {len(empty)} empty class folder(s): {', '.join(empty)}",
            stacklevel=2,
        )
    class_names = [name for name, files in train_folders.items() if files]
    if not class_names:
        raise FileNotFoundError(
            f"{root / 'train'} has no class folder with images (train/<Class Name>/*.jpg)\n"
            f"{STANFORD_LAYOUTS_HELP}"
        )
    unknown = sorted(set(test_folders) - set(train_folders))
    if unknown:
        raise ValueError(f"{root / 'test'} has classes missing from train/: {', '.join(unknown)}")
    return CarIndex(
        class_names,
        [ImageSample(path, name) for name in class_names for path in train_folders[name]],
        [ImageSample(path, name) for name, files in test_folders.items() for path in files],
    )


READERS: dict[str, Callable[[Path, bool], CarIndex]] = {
    "devkit": read_devkit,
    "single": read_single_file,
    "folders": lambda root, crop: read_folders(root),
}
"""Each layout of `stanford_cars_layout`'s reader: ``(data_dir, crop_to_bbox) -> CarIndex``."""


def detect_layout(root: Path, crop: bool) -> Callable[[], CarIndex]:
    """The reader for the layout found under ``root`` (`stanford_cars_layout`).

    Raises:
        FileNotFoundError: no known layout (the message lists the files it looked for), or
            ``root`` is a file or a loop of symbolic links.
        PermissionError: this user may not read ``root``.
        ValueError: ``crop`` with the folder layout, which has no boxes.
    """
    reader = READERS[stanford_cars_layout(root, crop)]
    return lambda: reader(root, crop)


@DATAMODULES.register("stanford_cars")
class StanfordCarsDataModule(CarDataModule):
    """Stanford Cars, read from the devkit, single-file or folder-per-class layout.

    The layout is detected from the files under ``data_dir`` (see `STANFORD_LAYOUTS_HELP`). The
    official train/test split is kept and validation is carved from train, stratified. The
    other arguments are those of `CarDataModule`.

    Args:
        data_dir: Where the dataset is, or will be downloaded to.
        crop_to_bbox: Crop each image to its annotated bounding box (devkit and single-file
            layouts).
        download: Before the first run, fetch the public Hugging Face copy of Stanford
            Cars (needs the ``datasets`` package) into ``data_dir`` when it holds no layout
            yet.
        **kwargs: The other arguments of `CarDataModule`, with the same defaults.
    """

    input_problem = staticmethod(stanford_cars_problem)

    def __init__(
        self,
        data_dir: str,
        crop_to_bbox: bool = False,
        download: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(data_dir, **kwargs)
        self.crop_to_bbox = crop_to_bbox
        self.download = download

    def prepare_data(self) -> None:
        if self.download and not has_stanford_cars_layout(self.data_dir):
            download_stanford_cars(self.data_dir)

    def load_index(self) -> CarIndex:
        return detect_layout(self.data_dir, self.crop_to_bbox)()


def download_stanford_cars(root: Path, timeout_s: float = 5.0) -> None:
    """Saves the Hugging Face copy of Stanford Cars under ``root`` in the folder layout.

    Raises:
        FileNotFoundError: ``root`` is a file or a loop of symbolic links (`check_directory`).
        PermissionError: this user may not read ``root``.
        MissingPackageError: ``datasets`` is not installed (checked before any network
            access); the one-line message names the extra that installs it.
        RuntimeError: the Hub cannot be reached; the message says how to place the files by
            hand.
    """
    check_directory(root, "Stanford Cars")
    datasets = import_optional(DOWNLOAD_PACKAGE, DOWNLOAD, DOWNLOAD_PACKAGE, DOWNLOAD_EXTRA)
    manual = (
        f"Download Stanford Cars by hand and place it in {root}.\n{STANFORD_LAYOUTS_HELP}\n"
        "Sources: the devkit from https://github.com/jkrause/cars or a Kaggle mirror, or "
        f"https://huggingface.co/datasets/{HF_DATASET} on a machine with internet."
    )
    try:
        socket.create_connection(("huggingface.co", 443), timeout=timeout_s).close()
    except OSError as error:
        raise RuntimeError(f"cannot reach huggingface.co ({error}).\n{manual}") from error
    for split in ("train", "test"):
        data = datasets.load_dataset(HF_DATASET, split=split)
        names = data.features["label"].names
        for index, example in enumerate(data):
            folder = root / split / names[example["label"]]
            folder.mkdir(parents=True, exist_ok=True)
            example["image"].convert("RGB").save(folder / f"{index:05d}.jpg", quality=95)
