"""Frozen-backbone feature extraction at 224 px: a plain loop vs the library's cached pass.

    python benchmarks/feature_extraction.py [--data-dir ../shared/data/stanford_cars_196]

The reference is what a researcher writes first: for each batch of image files, decode with PIL,
apply the library's evaluation transform (resize, scale, normalise), and run the ImageNet-pretrained
EfficientNet-Lite0 under ``torch.no_grad``; timed over ``--plain-images`` files. The library's
pass is ``FeatureCacheDataModule.setup()`` on ``StanfordCarsDataModule(cache_images=True)`` with a
fresh cache directory: every image of the three splits decoded and resized once (one thread per
core), then the backbone with batch norm folded, channels-last and compiled
(`hqnn_lightning.utils.inference.InferenceModule`). Its time includes the decoding and the
compilation. Both give images/s; the ratio is printed.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
from PIL import Image

from hqnn_lightning.data import AugmentationConfig, StanfordCarsDataModule, eval_transform
from hqnn_lightning.data.feature_cache import FeatureCacheDataModule
from hqnn_lightning.models.backbones import create_backbone

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "stanford_cars_196"
ARCH = "efficientnet_lite0"


def plain_loop(files: list[Path], batch_size: int) -> float:
    """Images/s of decode -> transform -> forward, batch by batch."""
    backbone, _ = create_backbone(ARCH, weights="imagenet")
    backbone.eval()
    transform = eval_transform(AugmentationConfig(image_size=224))
    start = time.perf_counter()
    with torch.no_grad():
        for first in range(0, len(files), batch_size):
            batch = [Image.open(path).convert("RGB") for path in files[first : first + batch_size]]
            backbone(torch.stack([transform(image) for image in batch]))
    return len(files) / (time.perf_counter() - start)


def library_pass(data_dir: Path, batch_size: int) -> tuple[float, int]:
    """``(images/s, images)`` of the feature cache's first build, decoding included."""
    backbone, _ = create_backbone(ARCH, weights="imagenet")
    with tempfile.TemporaryDirectory() as cache:
        images = StanfordCarsDataModule(
            str(data_dir),
            image_size=224,
            augment=False,
            cache_images=True,
            cache_dir=cache,
            batch_size=batch_size,
        )
        features = FeatureCacheDataModule(images, backbone.requires_grad_(False), cache)
        start = time.perf_counter()
        features.setup("fit")
        seconds = time.perf_counter() - start
        count = sum(len(split) for split in features.splits.values())
    return count / seconds, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--plain-images", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    if not (args.data_dir / "train").is_dir():
        print(f"skipped: no Stanford Cars folder at {args.data_dir} (train/<class>/*.jpg)")
        return
    files = sorted((args.data_dir / "train").glob("*/*.jpg"))[: args.plain_images]
    plain = plain_loop(files, args.batch_size)
    fast, count = library_pass(args.data_dir, args.batch_size)
    print(f"{ARCH} features at 224 px, {torch.get_num_threads()} threads")
    print(f"  plain loop (decode, resize, forward), {len(files)} images: {plain:7.1f} img/s")
    print(f"  library pass (FeatureCacheDataModule), {count} images:  {fast:7.1f} img/s")
    print(f"  ratio: {fast / plain:.2f}x")


if __name__ == "__main__":
    main()
