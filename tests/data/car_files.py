"""Writers of small car datasets in the real on-disk formats, for the tests."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import scipy.io
from PIL import Image

ANNOTATION_FIELDS = ("bbox_x1", "bbox_y1", "bbox_x2", "bbox_y2", "class", "fname")
CLASS_NAMES = [
    "AM General Hummer SUV 2000",
    "Audi S6 Sedan 2011",
    "Mercedes-Benz C-Class Sedan 2012",
    "Volvo 240 Sedan 1993",
]


def write_image(path: Path, seed: int, size=(48, 32), mode: str = "RGB", fmt: str = "JPEG"):
    """A real image file: smooth colours plus noise, in ``mode`` (RGB, L, CMYK, RGBA)."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    image = Image.fromarray(pixels).convert(mode)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, fmt)
    return path


def write_broken_files(folder: Path) -> list[Path]:
    """A zero-byte, a truncated and a not-an-image ``.jpg`` in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    zero = folder / "zero.jpg"
    zero.write_bytes(b"")
    whole = write_image(folder / "whole.jpg", seed=99, size=(64, 64)).read_bytes()
    truncated = folder / "truncated.jpg"
    truncated.write_bytes(whole[: len(whole) // 2])
    (folder / "whole.jpg").unlink()
    garbage = folder / "garbage.jpg"
    garbage.write_bytes(b"this is not a jpeg" * 10)
    return [zero, truncated, garbage]


def write_bomb_png(path: Path, side: int = 20_000) -> Path:
    """A 60-byte PNG whose header claims ``side`` x ``side`` pixels (Pillow refuses it as a
    possible decompression bomb when opening it)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)  # 8-bit RGB
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b""))
    return path


def _annotations(records: list[tuple]) -> np.ndarray:
    return np.array(records, dtype=[(name, "O") for name in ANNOTATION_FIELDS]).reshape(1, -1)


def write_devkit(root: Path, per_class: int = 4, test_annos_in_devkit: bool = False) -> Path:
    """The official devkit layout with ``per_class`` train and 2 test images per class."""
    devkit = root / "devkit"
    devkit.mkdir(parents=True)
    names = np.array(CLASS_NAMES, dtype=object).reshape(1, -1)
    scipy.io.savemat(devkit / "cars_meta.mat", {"class_names": names})
    for split, count in (("train", per_class), ("test", 2)):
        records = []
        for class_id in range(1, len(CLASS_NAMES) + 1):
            for k in range(count):
                fname = f"{len(records) + 1:05d}.jpg"
                write_image(root / f"cars_{split}" / fname, seed=class_id * 100 + k)
                records.append((2, 3, 40, 25, class_id, fname))
        annos = {"annotations": _annotations(records)}
        if split == "train":
            scipy.io.savemat(devkit / "cars_train_annos.mat", annos)
        else:
            where = devkit if test_annos_in_devkit else root
            scipy.io.savemat(where / "cars_test_annos_withlabels.mat", annos)
    return root


def write_single_file(root: Path, per_class: int = 3) -> Path:
    """The single-file release: ``cars_annos.mat`` and ``car_ims/``."""
    records = []
    for class_id in range(1, len(CLASS_NAMES) + 1):
        for k in range(per_class + 1):
            relative = f"car_ims/{len(records) + 1:06d}.jpg"
            write_image(root / relative, seed=class_id * 10 + k)
            records.append((1, 1, 30, 20, class_id, k == per_class, relative))
    annotations = np.array(
        records,
        dtype=[
            (name, "O")
            for name in (
                "bbox_x1",
                "bbox_y1",
                "bbox_x2",
                "bbox_y2",
                "class",
                "test",
                "relative_im_path",
            )
        ],
    ).reshape(1, -1)
    names = np.array(CLASS_NAMES, dtype=object).reshape(1, -1)
    scipy.io.savemat(root / "cars_annos.mat", {"annotations": annotations, "class_names": names})
    return root


def write_folders(root: Path, per_class: int = 4, test_per_class: int = 2) -> Path:
    """The folder-per-class layout ``train/<Class Name>/`` and ``test/<Class Name>/``."""
    for index, name in enumerate(CLASS_NAMES):
        for k in range(per_class):
            write_image(root / "train" / name / f"{k:03d}.jpg", seed=index * 50 + k)
        for k in range(test_per_class):
            write_image(root / "test" / name / f"{k:03d}.jpg", seed=index * 50 + 40 + k)
    return root


VMMRDB_CLASSES = {
    "am_general_hummer_2000": 12,
    "audi_s6_2011": 10,
    "mercedes_benz_c_class_2012": 15,
    "volvo_240_1993": 11,
    "honda_civic ex_2005": 3,
}


def write_vmmrdb(root: Path, counts: dict[str, int] = VMMRDB_CLASSES) -> Path:
    """One folder per ``make_model_year`` class, with an AppleDouble file and a text file."""
    for index, (folder, count) in enumerate(counts.items()):
        for k in range(count):
            write_image(root / folder / f"{k:04d}.jpg", seed=index * 1000 + k)
        (root / folder / "._0000.jpg").write_bytes(b"\x00\x05\x16\x07 AppleDouble")
        (root / folder / "notes.txt").write_text("not an image")
    return root
