"""Training-loader throughput at 224 px with the study's augmentation: torchvision vs fast path.

    python benchmarks/data_throughput.py [--data-dir ../shared/data/stanford_cars_subset]

The reference is torchvision's ``ImageFolder`` with the library's per-sample ``train_transform``
(decode, resize, flip, colour jitter, rotation, normalize for every image, every epoch). The fast
path is ``StanfordCarsDataModule(cache_images=True)``: images decoded and resized once into an
on-disk cache, then the same augmentation applied to whole batches. Both are timed over full
epochs after one warm-up epoch (which also builds the cache); the median images/s is printed.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import torch
from torch.utils.data import DataLoader
from torchvision.datasets import ImageFolder

from hqnn_lightning.data import AugmentationConfig, StanfordCarsDataModule, train_transform

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "stanford_cars_subset"


def images_per_second(epoch: Callable[[], Iterable[torch.Tensor]], epochs: int) -> float:
    """Median images/s over ``epochs`` timed epochs, after one warm-up epoch."""
    rates = []
    for run in range(epochs + 1):
        start, count = time.perf_counter(), 0
        for images in epoch():
            count += images.shape[0]
        if run:
            rates.append(count / (time.perf_counter() - start))
    return statistics.median(rates)


def torchvision_epoch(root: Path, workers: int, batch_size: int) -> Callable[[], Iterable]:
    dataset = ImageFolder(str(root / "train"), transform=train_transform(AugmentationConfig()))
    loader = DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=True,
        num_workers=workers,
        persistent_workers=workers > 0,
    )
    return lambda: (images for images, _ in loader)


def fast_path_epoch(root: Path, workers: int, batch_size: int, cache: Path) -> Callable:
    data = StanfordCarsDataModule(
        str(root),
        val_fraction=0.0,
        batch_size=batch_size,
        num_workers=workers,
        cache_images=True,
        cache_dir=str(cache),
    )
    data.setup()
    loader = data.train_dataloader()
    return lambda: (data.batch_transform(images, train=True) for images, _ in loader)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    if not (args.data_dir / "train").is_dir():
        raise SystemExit(f"no Stanford Cars folder layout at {args.data_dir}; see docs/datasets.md")
    print(f"{args.data_dir}, 224 px, batch {args.batch_size}, {torch.get_num_threads()} threads")
    print("| loader | workers | images/s |\n|---|---|---|")
    rates = {}
    with tempfile.TemporaryDirectory() as cache:
        for workers in (0, 2):
            for name, epoch in (
                (
                    "torchvision ImageFolder",
                    torchvision_epoch(args.data_dir, workers, args.batch_size),
                ),
                (
                    "fast path",
                    fast_path_epoch(args.data_dir, workers, args.batch_size, Path(cache)),
                ),
            ):
                rates[name, workers] = images_per_second(epoch, args.epochs)
                print(f"| {name} | {workers} | {rates[name, workers]:.0f} |")
    best_reference = max(rates["torchvision ImageFolder", w] for w in (0, 2))
    best_fast = max(rates["fast path", w] for w in (0, 2))
    print(f"\nfast path / best torchvision loader: {best_fast / best_reference:.1f}x")


if __name__ == "__main__":
    main()
