"""VMMRdb-scale setup time: the first setup (checks every file) against a second (cached).

    python benchmarks/vmmrdb_index.py [--classes 9170] [--images-per-class 32] [--data-dir PATH]

Without ``--data-dir`` it writes a tree of VMMRdb's shape into a temporary folder: ``--classes``
``make_model_year`` folders of ``--images-per-class`` small real JPEGs each (9,170 x 32 = 293,440
files by default, VMMRdb has 291,752), plus one truncated file and one AppleDouble ``._`` file
per 1,000 images. It then times ``VMMRdbDataModule.setup()`` twice with a fresh cache folder:
the first lists, stats and decodes every file; the second only lists and stats them and reads
the cached answer. The files are tiny, so the first setup's decoding is faster than on real
photographs; the second setup does not decode and is the same work at any image size.
"""

from __future__ import annotations

import argparse
import io
import tempfile
import time
import warnings
from pathlib import Path

from PIL import Image

from hqnn_lightning.data import VMMRdbDataModule

MAKES = ("alfa_romeo", "mercedes_benz", "land_rover", "honda", "toyota", "am_general")


def write_tree(root: Path, classes: int, images_per_class: int) -> int:
    """Writes the synthetic tree; returns the number of image files."""
    buffer = io.BytesIO()
    Image.new("RGB", (16, 12), (120, 30, 200)).save(buffer, "JPEG")
    jpeg = buffer.getvalue()
    count = 0
    for index in range(classes):
        folder = root / f"{MAKES[index % len(MAKES)]}_model{index}_{1990 + index % 30}"
        folder.mkdir(parents=True)
        for image in range(images_per_class):
            count += 1
            data = jpeg[: len(jpeg) // 2] if count % 1000 == 0 else jpeg
            (folder / f"{image:05d}.jpg").write_bytes(data)
            if count % 1000 == 1:
                (folder / f"._{image:05d}.jpg").write_bytes(b"\0\5\26\7")
    return count


def timed_setup(data_dir: Path, cache_dir: Path) -> tuple[float, int]:
    """Seconds of one ``setup()`` and the number of training samples it found."""
    start = time.perf_counter()
    data = VMMRdbDataModule(str(data_dir), min_images_per_class=1, cache_dir=str(cache_dir))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data.setup()
    return time.perf_counter() - start, len(data.index.train) + len(data.index.test)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--classes", type=int, default=9170)
    parser.add_argument("--images-per-class", type=int, default=32)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        data_dir = args.data_dir
        if data_dir is None:
            data_dir = Path(scratch) / "vmmrdb"
            start = time.perf_counter()
            files = write_tree(data_dir, args.classes, args.images_per_class)
            print(f"wrote {files} files in {time.perf_counter() - start:.0f} s")
        cache_dir = Path(scratch) / "cache"
        first, readable = timed_setup(data_dir, cache_dir)
        second, _ = timed_setup(data_dir, cache_dir)
        print(f"{data_dir}: {readable} readable images")
        print("| setup | seconds |\n|---|---|")
        print(f"| first (checks every file) | {first:.1f} |")
        print(f"| second (cached) | {second:.1f} |")


if __name__ == "__main__":
    main()
