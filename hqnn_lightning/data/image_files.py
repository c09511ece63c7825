"""Image files on disk: what counts as one, reading it as RGB, and finding the broken ones.

Datasets of photographs scraped from the web hold zero-byte files, truncated JPEGs, CMYK and
greyscale images, PNGs with alpha and macOS ``._*`` AppleDouble files. They are found once,
before training, by `find_unreadable` (a fast reduced-size decode that still reads the
whole stream), so that an epoch never meets one.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError
from tqdm.auto import tqdm

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"})

BoundingBox = tuple[int, int, int, int]
"""``(x1, y1, x2, y2)`` in pixels, inclusive, as in the Stanford Cars annotations."""


@dataclass(frozen=True)
class ImageSample:
    """One labelled image file.

    Args:
        path: The image file.
        class_name: Its class, as the dataset names it.
        bbox: Optional bounding box ``(x1, y1, x2, y2)`` to crop to.
    """

    path: Path
    class_name: str
    bbox: BoundingBox | None = None


def is_image_file(path: Path) -> bool:
    """Whether ``path`` names an image by its extension (AppleDouble ``._*`` files do not)."""
    return path.suffix.lower() in IMAGE_EXTENSIONS and not path.name.startswith("._")


def load_rgb(path: Path, bbox: BoundingBox | None = None) -> Image.Image:
    """Decodes ``path`` as an RGB image, optionally cropped to ``bbox``.

    Greyscale, palette, CMYK and alpha images are converted to RGB (alpha is dropped);
    16-bit greyscale is scaled to 8 bits, not clipped. A box reaching past the image is clipped
    to it.

    Raises:
        OSError: the file cannot be read or decoded; the message names it.
    """
    try:
        with Image.open(path) as image:
            image = _to_rgb(image)
    except (OSError, UnidentifiedImageError, ValueError) as error:
        raise OSError(f"cannot decode image {path}: {error}") from error
    if bbox is not None:
        x1, y1, x2, y2 = bbox
        image = image.crop(
            (max(0, x1), max(0, y1), min(image.width, x2 + 1), min(image.height, y2 + 1))
        )
    return image


def _to_rgb(image: Image.Image) -> Image.Image:
    """``image`` as 8-bit RGB. Pillow's own ``convert`` clips 16-bit greyscale (``I;16``) at 255,
    which turns a 16-bit PNG almost white; its values are scaled by 255 / 65535 instead."""
    if image.mode.startswith("I;16"):
        pixels = np.asarray(image, dtype=np.float64) * (255 / 65535)
        image = Image.fromarray(np.rint(pixels).astype(np.uint8))  # 2-D uint8: mode "L"
    return image.convert("RGB")


def is_readable(path: Path) -> bool:
    """Whether ``path`` decodes completely; a reduced-size JPEG decode keeps this fast."""
    try:
        if path.stat().st_size == 0:
            return False
        with Image.open(path) as image:
            image.draft("RGB", (max(1, image.width // 8), max(1, image.height // 8)))
            image.load()
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError):
        return False
    return True


def find_unreadable(paths: Sequence[Path], description: str = "checking images") -> list[Path]:
    """The files of ``paths`` that do not decode, with a progress bar.

    Returns:
        The unreadable paths, in the order given.
    """
    return [path for path in tqdm(paths, desc=description, unit="img") if not is_readable(path)]


def drop_unreadable(
    splits: Sequence[Sequence[ImageSample]], unreadable: Iterable[Path], source: str
) -> list[list[ImageSample]]:
    """Each split of samples without the ``unreadable`` files; one warning counts the dropped."""
    skip = set(unreadable)
    kept = [[sample for sample in split if sample.path not in skip] for split in splits]
    dropped = sorted({sample.path for split in splits for sample in split if sample.path in skip})
    if dropped:
        examples = ", ".join(str(path) for path in dropped[:3])
        warnings.warn(
            f"{source}: skipped {len(dropped)} unreadable image file(s), e.g. {examples}",
            stacklevel=2,
        )
    return kept
