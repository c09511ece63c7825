"""Three per-run costs of a frozen run of the 196-class study, each against what it replaced,
in one run (docs/reproducing.md, "What a frozen run spends besides the arithmetic").

    OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE python benchmarks/frozen_overheads.py [--repeats 15]

- **Top-5 accuracy**: one update of logits ``(512, 196)`` (random normal) against random
  labels, torchmetrics' ``MulticlassAccuracy(top_k=5)`` against `TopKAccuracy`, with top-1
  (``MulticlassAccuracy(top_k=1)``) beside them for scale; the states are checked equal.
- **A batch of cached features**: one epoch of a DataLoader over 3,840 cached 1,280-d features
  in batches of 512 (shuffled, as the study's training set), collated by ``default_collate``
  (the batch split into its samples and stacked again) against `collate_feature_batch`; the
  batches are checked equal.
- **A cache's checksum**: `crc32_of_file` of a 256 MB file, read from the page cache, against
  its second call in the process (the file left 2 s to settle first, `SETTLED_NS`).

Each pair is timed interleaved, ``--repeats`` rounds after a warm-up round; the table gives
the medians and their ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, default_collate
from torchmetrics.classification import MulticlassAccuracy

from hqnn_lightning.data import cache_check
from hqnn_lightning.data.feature_store import FeatureDataset, collate_feature_batch
from hqnn_lightning.models.top_k_accuracy import TopKAccuracy

CLASSES, FEATURES, SAMPLES, BATCH = 196, 1280, 3840, 512


def medians(runs: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median seconds of each of ``runs``, called in turn, ``repeats`` rounds after one."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for round_ in range(repeats + 1):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            if round_:
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def metric_updates(repeats: int) -> dict[str, float]:
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(BATCH, CLASSES, generator=generator)
    labels = torch.randint(0, CLASSES, (BATCH,), generator=generator)
    metrics = {
        "top-5, MulticlassAccuracy": MulticlassAccuracy(CLASSES, top_k=5, average="micro"),
        "top-5, TopKAccuracy": TopKAccuracy(CLASSES, top_k=5, average="micro"),
        "top-1, MulticlassAccuracy": MulticlassAccuracy(CLASSES, top_k=1, average="micro"),
    }
    runs = {name: (lambda m=metric: m.update(logits, labels)) for name, metric in metrics.items()}
    seconds = medians(runs, repeats)
    reference, fast = metrics["top-5, MulticlassAccuracy"], metrics["top-5, TopKAccuracy"]
    assert all(torch.equal(getattr(fast, s), getattr(reference, s)) for s in ("tp", "fp", "fn"))
    return seconds


def feature_epochs(directory: Path, repeats: int) -> dict[str, float]:
    generator = np.random.default_rng(0)
    np.save(directory / "features.npy", generator.normal(size=(SAMPLES, FEATURES)).astype("f4"))
    np.save(directory / "labels.npy", generator.integers(0, CLASSES, SAMPLES))
    dataset = FeatureDataset(directory)
    loaders = {
        f"epoch of features, {collate.__name__}": DataLoader(
            dataset,
            batch_size=BATCH,
            shuffle=True,
            generator=torch.Generator().manual_seed(1),
            collate_fn=collate,
        )
        for collate in (default_collate, collate_feature_batch)
    }
    epochs = list(loaders.values())
    for old, new in zip(*(list(loader) for loader in epochs), strict=True):
        assert all(torch.equal(a, b) for a, b in zip(old, new, strict=True))
    return medians({name: (lambda lo=lo: list(lo)) for name, lo in loaders.items()}, repeats)


def checksums(directory: Path, repeats: int) -> dict[str, float]:
    path = directory / "cache.u8"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 256 << 20, dtype=np.uint8))
    time.sleep(cache_check.SETTLED_NS / 1e9)
    cache_check.crc32_of_file(path)  # read into the page cache, and remembered
    runs = {
        "CRC-32 of 256 MB, read": lambda: cache_check._read_crc32(path, None),
        "CRC-32 of 256 MB, remembered": lambda: cache_check.crc32_of_file(path),
    }
    return medians(runs, repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as features, tempfile.TemporaryDirectory() as cache:
        pairs = [
            metric_updates(args.repeats * 20),
            feature_epochs(Path(features), args.repeats),
            checksums(Path(cache), args.repeats),
        ]
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"\nPer-run costs of a frozen run, median of {args.repeats} rounds (metric updates: "
        f"{args.repeats * 20}); {torch.get_num_threads()} thread(s), load average {load}\n"
    )
    print("| what | before, ms | after, ms | after / before |\n|---|---|---|---|")
    for seconds in pairs:
        (old, before), (new, after), *scale = seconds.items()
        print(
            f"| {old} -> {new.split(', ')[-1]} | {before * 1e3:.3f} | {after * 1e3:.3f} | "
            f"{after / before:.3f} |"
        )
        for name, value in scale:
            print(f"| {name} (for scale) | | {value * 1e3:.3f} | |")


if __name__ == "__main__":
    main()
