"""Where the car datasets' files must be, checked by listing folders (no image is opened):
Stanford Cars' three layouts, VMMRdb's class folders, and the two together; each dataset's
check first checks the arguments its constructor checks (`data_arguments`).

The DataModules find their layout with these functions; each dataset's ``input_problem``
(`stanford_cars_problem`, `vmmrdb_problem`, `combined_problem`) gives the command line the
same refusal before anything is imported. A layout found here can still fail later, on what
only reading it shows (an annotation file that does not parse, too few images in a class).
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hqnn_lightning.preflight.data_arguments import check_keep, check_split_fractions
from hqnn_lightning.utils.extras import install_hint, is_installed

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"})

STANFORD_LAYOUTS_HELP = """\
Stanford Cars is read from any of these layouts under data_dir:
  devkit:  cars_train/*.jpg, cars_test/*.jpg, devkit/cars_meta.mat,
           devkit/cars_train_annos.mat, and cars_test_annos_withlabels.mat
           (beside devkit/ as torchvision keeps it, or inside devkit/)
  single:  cars_annos.mat and car_ims/*.jpg
  folders: train/<Class Name>/*.jpg and test/<Class Name>/*.jpg"""

VMMRDB_LAYOUT = (
    "one folder per class, named make_model_year in lowercase with underscores "
    "(e.g. mercedes_benz_c_class_2012/*.jpg)"
)
DATA_DIR = "data_dir (--data-dir)"
STANFORD_DIR = "stanford_dir (--stanford-dir)"
VMMRDB_DIR = "vmmrdb_dir (--vmmrdb-dir)"
"""How the messages name the options of a dataset's directories, for the API and the command
line at once."""


DOWNLOAD = "--download true (download=True)"
DOWNLOAD_PACKAGE = "datasets"
DOWNLOAD_EXTRA = "download"
"""The extra of ``pyproject.toml`` that installs ``datasets``, which ``download=True`` uses."""


def is_image_file(path: Path) -> bool:
    """Whether ``path`` names an image by its extension (AppleDouble ``._*`` files do not)."""
    return path.suffix.lower() in IMAGE_EXTENSIONS and not path.name.startswith("._")


def check_directory(root: Path, dataset: str) -> None:
    """Raises why ``root``, when it exists, cannot be read as ``dataset``'s directory (a
    missing one is left to the caller, which says what it looked for).

    Raises:
        FileNotFoundError: ``root`` is a file, or a loop of symbolic links.
        PermissionError: this user may not list ``root`` or enter it.
    """
    try:
        mode = root.stat().st_mode
    except FileNotFoundError:
        return
    except OSError as error:
        if error.errno != errno.ELOOP:
            raise
        raise FileNotFoundError(
            f"no {dataset} layout found in {root}: a loop of symbolic links ({error.strerror})"
        ) from error
    if not stat.S_ISDIR(mode):
        raise FileNotFoundError(
            f"no {dataset} layout found in {root}: it is a file, not a directory"
        )
    if not os.access(root, os.R_OK | os.X_OK):
        raise PermissionError(
            f"{root}: this user has no permission to read this directory (mode "
            f"{stat.filemode(mode)}); give it read and execute permission (chmod +rx), or run "
            "as a user who has them"
        )


def stanford_cars_layout(
    root: Path, crop: bool, option: str = DATA_DIR, can_download: bool = True
) -> str:
    """The Stanford Cars layout under ``root``: ``"devkit"``, ``"single"`` or ``"folders"``
    (`STANFORD_LAYOUTS_HELP`), found from which folders and files exist.

    Args:
        root: The dataset's directory.
        crop: Whether the images are to be cropped to their boxes (the folder layout has none).
        option: The option that gave ``root``, as the message names it.
        can_download: Whether the message offers ``--download true``.

    Raises:
        FileNotFoundError: no known layout (the message says what each holds), or ``root``
            is a file or a loop of symbolic links.
        PermissionError: this user may not read ``root``.
        ValueError: ``crop`` with the folder layout.
    """
    check_directory(root, "Stanford Cars")
    if (root / "devkit").is_dir() or (root / "cars_train").is_dir():
        return "devkit"
    if (root / "cars_annos.mat").is_file():
        return "single"
    if (root / "train").is_dir() and (root / "test").is_dir():
        if crop:
            raise ValueError("crop_to_bbox needs annotations; the folder layout has none")
        return "folders"
    download = ", or set download (--download true)" if can_download else ""
    raise FileNotFoundError(
        f"no Stanford Cars layout found in {root}: give {option} a folder holding "
        "cars_train/, cars_test/ and devkit/, or car_ims/ and cars_annos.mat, or train/ and "
        f"test/ with a folder per class (docs/datasets.md){download}"
    )


def has_stanford_cars_layout(root: Path) -> bool:
    """Whether ``root`` holds one of Stanford Cars' layouts (what ``download`` would write)."""
    try:
        stanford_cars_layout(root, crop=False)
    except (FileNotFoundError, ValueError):
        return False
    return True


def check_vmmrdb_directory(root: Path, option: str = DATA_DIR, min_images: int = 1) -> None:
    """Raises unless ``root`` is a readable directory holding a class folder with
    ``min_images`` images (VMMRdb's layout, `VMMRDB_LAYOUT`); it stops at the first such
    folder.

    Raises:
        FileNotFoundError: ``root`` is missing, a file, or holds no such class folder.
        PermissionError: this user may not read ``root``.
    """
    check_directory(root, "VMMRdb")
    if not root.is_dir():
        raise FileNotFoundError(
            f"VMMRdb directory not found: {root}; give {option} the folder holding {VMMRDB_LAYOUT}"
        )
    with os.scandir(root) as entries:
        for entry in entries:
            class_folder = entry.is_dir() and not entry.name.startswith(".")
            if class_folder and _holds_images(Path(entry.path), max(1, min_images)):
                return
    raise FileNotFoundError(no_class_folder_message(root, min_images))


def no_class_folder_message(root: Path, min_images: int) -> str:
    """Why ``root`` is no VMMRdb directory: no class folder of ``min_images`` images."""
    images = "an image" if min_images <= 1 else f"{min_images} images or more"
    return f"no class folder with {images} in {root}; VMMRdb is read from {VMMRDB_LAYOUT}"


def _holds_images(folder: Path, count: int) -> bool:
    """Whether ``folder`` holds ``count`` image files; it stops counting there."""
    found = 0
    for path in folder.iterdir():
        found += is_image_file(path)
        if found >= count:
            return True
    return False


def combined_directories(
    data_dir: str, stanford_dir: str | None, vmmrdb_dir: str | None
) -> tuple[Path, Path]:
    """The Stanford Cars and VMMRdb directories of the combined dataset: those given, else
    ``data_dir/stanford_cars`` and ``data_dir/vmmrdb``."""
    root = Path(data_dir)
    return (
        Path(stanford_dir) if stanford_dir else root / "stanford_cars",
        Path(vmmrdb_dir) if vmmrdb_dir else root / "vmmrdb",
    )


def stanford_cars_problem(arguments: Mapping[str, Any]) -> str | None:
    """Why Stanford Cars cannot be read with these DataModule ``arguments`` (all of them, the
    unset ones at their defaults), as one sentence; ``None`` when its layout is found, or
    ``download`` will fetch it and the package that downloads is installed."""
    root = Path(arguments["data_dir"])
    try:
        check_split_fractions(arguments["val_fraction"], 0.0)
        if arguments["download"] and not has_stanford_cars_layout(root):
            check_directory(root, "Stanford Cars")  # somewhere to download into
            if is_installed(DOWNLOAD_PACKAGE):
                return None
            return f"{DOWNLOAD} {install_hint(DOWNLOAD_PACKAGE, DOWNLOAD_EXTRA)}"
        stanford_cars_layout(root, arguments["crop_to_bbox"])
    except (FileNotFoundError, PermissionError, ValueError) as error:
        return str(error)
    return None


def vmmrdb_problem(arguments: Mapping[str, Any]) -> str | None:
    """Why VMMRdb cannot be read with these DataModule ``arguments``, as one sentence; ``None``
    when its directory holds a class folder with ``min_images_per_class`` images."""
    try:
        check_split_fractions(arguments["val_fraction"], 0.0)
        check_split_fractions(arguments["val_fraction"], arguments["test_fraction"])
        check_vmmrdb_directory(
            Path(arguments["data_dir"]), min_images=arguments["min_images_per_class"]
        )
    except (FileNotFoundError, PermissionError, ValueError) as error:
        return str(error)
    return None


def combined_problem(arguments: Mapping[str, Any]) -> str | None:
    """Why the combined dataset cannot be read with these DataModule ``arguments``: its
    Stanford Cars layout, then its VMMRdb folders, as one sentence; ``None`` when both are
    found."""
    stanford, vmmrdb = combined_directories(
        arguments["data_dir"], arguments["stanford_dir"], arguments["vmmrdb_dir"]
    )
    try:
        check_split_fractions(arguments["val_fraction"], 0.0)
        check_keep(arguments["keep"])
        check_split_fractions(arguments["val_fraction"], arguments["test_fraction"])
        stanford_cars_layout(stanford, arguments["crop_to_bbox"], STANFORD_DIR, can_download=False)
        check_vmmrdb_directory(vmmrdb, VMMRDB_DIR, arguments["min_images_per_class"])
    except (FileNotFoundError, PermissionError, ValueError) as error:
        return str(error)
    return None
