"""Image files on disk: what counts as one, reading it as RGB, and finding the broken ones.

Datasets of photographs scraped from the web hold zero-byte files, truncated JPEGs, CMYK and
greyscale images, PNGs with alpha, headers that claim more pixels than Pillow will decode, and
macOS ``._*`` AppleDouble files. They are found once, before training, by `find_unreadable` (a
fast reduced-size decode that still reads the whole stream), so that an epoch never meets one;
each gets a reason (`UNREADABLE_REASONS`), and those that may pass (all but
`SETTLED_REASONS`: a permission, an I/O error, a missing file, the pixel limit) are worth
checking again.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import ExifTags, Image, UnidentifiedImageError
from tqdm.auto import tqdm

LARGE_IMAGE_HINT = "raise PIL.Image.MAX_IMAGE_PIXELS to read it"
"""How to use an image that Pillow refuses as a possible decompression bomb."""

UNREADABLE_REASONS = {
    "empty": "empty",
    "undecodable": "cannot be decoded",
    "too_large": f"over Pillow's pixel limit ({LARGE_IMAGE_HINT})",
    "inaccessible": "could not be read (permission or I/O error; checked again on every run)",
    "missing": "missing (checked again on every run)",
}
"""Why a file is unreadable (the key is what the cache records) -> the warning's words."""

SETTLED_REASONS = frozenset({"empty", "undecodable"})
"""Reasons that hold until the file changes. Any other may pass with the file as it is (a
permission, an I/O error, a file put back, a higher pixel limit), so such a file is checked
again: for a file too large that check stops at its header."""

DECODING = "rgb8-exif-upright"
"""What `load_rgb` returns, as a name: part of the key of every cache of decoded pixels (the
decoded-image cache, the feature cache), so that a cache built by an earlier decoding (one
that ignored EXIF orientation) is not reused. Change it whenever `load_rgb`'s pixels change."""

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


EXIF_TRANSPOSITIONS = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
"""EXIF orientation -> the transposition that turns the stored pixels upright, as in
``PIL.ImageOps.exif_transpose`` (1, and any value outside 1-8, means stored upright)."""


def load_rgb(path: Path, bbox: BoundingBox | None = None) -> Image.Image:
    """Decodes ``path`` as an upright RGB image, optionally cropped to ``bbox``.

    The EXIF orientation (of a JPEG, PNG or WebP, or an XMP ``tiff:Orientation``) is applied,
    so that a phone photograph stored sideways comes out as it is shown (`upright_transposition`;
    Pillow applies a TIFF's itself as it decodes one). ``bbox`` is in the stored frame, the one
    the Stanford Cars annotators saw (MATLAB's ``imread``, with which the devkit was made, and
    the web browsers of 2013 ignored EXIF orientation): the crop is taken, then turned upright.
    A TIFF is only seen upright, so its box is in the upright frame.

    Greyscale, palette, CMYK and alpha images are converted to RGB (alpha is dropped);
    16-bit greyscale is scaled to 8 bits, not clipped. A box reaching past the image is clipped
    to it.

    Raises:
        OSError: the file cannot be read or decoded; the message names it.
    """
    try:
        with Image.open(path) as image:
            image.load()  # Pillow turns a TIFF upright as it loads it, so this comes first
            transposition = upright_transposition(image, path)
            if bbox is not None:
                x1, y1, x2, y2 = bbox
                image = image.crop(
                    (max(0, x1), max(0, y1), min(image.width, x2 + 1), min(image.height, y2 + 1))
                )
            if transposition is not None:
                image = image.transpose(transposition)
            return _to_rgb(image)
    except Image.DecompressionBombError as error:
        raise OSError(f"cannot decode image {path}: {error} ({LARGE_IMAGE_HINT})") from error
    except (OSError, UnidentifiedImageError, ValueError) as error:
        raise OSError(f"cannot decode image {path}: {error}") from error


def upright_transposition(image: Image.Image, path: Path) -> Image.Transpose | None:
    """The transposition that turns the loaded ``image`` (read from ``path``) upright, by its
    EXIF orientation (`EXIF_TRANSPOSITIONS`); ``None`` when it is upright as stored.

    ``ImageOps.exif_transpose`` is not called: after turning the pixels it writes the EXIF
    block back without the orientation, which raises ``struct.error`` on some corrupt blocks.
    An EXIF block whose header is not TIFF's (Pillow raises ``SyntaxError``) is ignored with a
    warning naming the file: the image is used as stored.
    """
    try:
        orientation = image.getexif().get(ExifTags.Base.Orientation)
    except SyntaxError as error:
        warnings.warn(
            f"{path}: cannot read its EXIF block ({error}); using the image as stored, "
            "which may be turned sideways",
            stacklevel=3,
        )
        return None
    return EXIF_TRANSPOSITIONS.get(orientation)


def _to_rgb(image: Image.Image) -> Image.Image:
    """``image`` as 8-bit RGB. Pillow's own ``convert`` clips 16-bit greyscale (``I;16``) at 255,
    which turns a 16-bit PNG almost white; its values are scaled by 255 / 65535 instead."""
    if image.mode.startswith("I;16"):
        pixels = np.asarray(image, dtype=np.float64) * (255 / 65535)
        image = Image.fromarray(np.rint(pixels).astype(np.uint8))  # 2-D uint8: mode "L"
    return image.convert("RGB")


def display_name(name: str) -> str:
    """A file or folder name as printable text: bytes that are not UTF-8 (which Python keeps as
    lone surrogates, so they cannot be written as UTF-8) are shown as ``\\xNN``."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def unreadable_reason(path: Path) -> str | None:
    """Why ``path`` does not decode completely (a key of `UNREADABLE_REASONS`), or ``None``
    when it does; a reduced-size JPEG decode keeps this fast."""
    try:
        if path.stat().st_size == 0:
            return "empty"
        with Image.open(path) as image:
            image.draft("RGB", (max(1, image.width // 8), max(1, image.height // 8)))
            image.load()
    except Image.DecompressionBombError:
        return "too_large"
    except FileNotFoundError:
        return "missing"
    except OSError as error:
        # The system's errors carry an errno; Pillow's decoding errors do not.
        return "undecodable" if error.errno is None else "inaccessible"
    except (ValueError, SyntaxError):
        return "undecodable"
    return None


def find_unreadable(paths: Sequence[Path], description: str = "checking images") -> dict[Path, str]:
    """The files of ``paths`` that do not decode, with a progress bar.

    Returns:
        ``{path: reason}`` (`unreadable_reason`) of the unreadable paths, in the order given.
    """
    reasons = {
        path: unreadable_reason(path)
        for path in tqdm(paths, desc=description, unit="img", disable=not paths)
    }
    return {path: reason for path, reason in reasons.items() if reason is not None}


def drop_unreadable(
    splits: Sequence[Sequence[ImageSample]], unreadable: Mapping[Path, str], source: str
) -> list[list[ImageSample]]:
    """Each split of samples without the ``unreadable`` files (``{path: reason}``); one warning
    counts the dropped ones per reason, with examples."""
    kept = [[sample for sample in split if sample.path not in unreadable] for split in splits]
    dropped = sorted(
        {sample.path for split in splits for sample in split if sample.path in unreadable}
    )
    if dropped:
        groups: dict[str, list[Path]] = {}
        for path in dropped:
            groups.setdefault(unreadable[path], []).append(path)
        why = "; ".join(
            f"{len(paths)} {UNREADABLE_REASONS[reason]}, e.g. {', '.join(map(str, paths[:3]))}"
            for reason, paths in groups.items()
        )
        warnings.warn(
            f"{source}: skipped {len(dropped)} unreadable image file(s): {why}", stacklevel=2
        )
    return kept
