"""Checkpoints of a frozen EfficientNet-Lite0 run: the whole model vs the trained part and the
backbone's fingerprint (`hqnn_lightning.models.frozen_state`), in one run.

    python benchmarks/frozen_checkpoint.py [--epochs 10] [--saves 20]

Builds the study's hybrid on the ImageNet-pretrained EfficientNet-Lite0 (packaged weights),
frozen, for 196 classes with ``precompute_features``, twice: as the library builds it, and as
before (a subclass whose `frozen_source` is ``None``, so its checkpoints keep the backbone).
Both fit ``--epochs`` epochs on 3,840 random 1,280-d features (the frozen study's training set)
with the runner's two checkpoint writers, ``last.ckpt`` every epoch (`EpochCheckpoint`) and the
best epoch (``ModelCheckpoint``), through `AtomicCheckpointIO` (written beside, fsynced,
renamed), in a temporary directory, after a one-epoch warm-up fit; then ``--saves`` more
``last.ckpt`` writes of each are timed in turn. Prints the checkpoint sizes, the seconds per
save and per fit, and the ratios.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from torch.utils.data import DataLoader, TensorDataset

from hqnn_lightning.models.hybrid import HybridVQC
from hqnn_lightning.run.checkpoint_io import AtomicCheckpointIO
from hqnn_lightning.run.last_checkpoint import EpochCheckpoint

CLASSES = 196
FEATURES = 1280
SAMPLES = 3840


class KeepsFrozenBackbone(HybridVQC):
    """The hybrid as the library saved it before: every checkpoint holds the frozen backbone."""

    def frozen_source(self) -> None:
        return None


def loaders() -> tuple[DataLoader, DataLoader]:
    generator = torch.Generator().manual_seed(0)
    features = torch.randn(SAMPLES, FEATURES, generator=generator)
    labels = torch.randint(0, CLASSES, (SAMPLES,), generator=generator)
    train = TensorDataset(features, labels)
    val = TensorDataset(features[:640], labels[:640])
    return DataLoader(train, batch_size=64, shuffle=True), DataLoader(val, batch_size=256)


def fitted(model_class: type[HybridVQC], directory: Path, epochs: int) -> tuple[L.Trainer, float]:
    """A trainer that fitted ``model_class`` for ``epochs`` with the runner's checkpoint
    writers in ``directory``, and the fit's seconds."""
    torch.manual_seed(0)
    model = model_class(
        num_classes=CLASSES,
        arch="efficientnet_lite0",
        backbone_weights="imagenet",
        freeze_backbone=True,
        precompute_features=True,
    )
    best = ModelCheckpoint(dirpath=directory, monitor="val/acc_top1", mode="max")
    trainer = L.Trainer(
        max_epochs=epochs,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[best, EpochCheckpoint(directory)],
        plugins=[AtomicCheckpointIO()],
    )
    train, val = loaders()
    start = time.perf_counter()
    trainer.fit(model, train, val)
    return trainer, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--saves", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(min(2, torch.get_num_threads()))
    with tempfile.TemporaryDirectory() as root:
        fitted(HybridVQC, Path(root) / "warm-up", 1)  # first-call costs, paid by neither
        runs = {
            name: fitted(model_class, Path(root) / name, args.epochs)
            for name, model_class in (("whole", KeepsFrozenBackbone), ("trained", HybridVQC))
        }
        seconds: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(args.saves):
            for name, (trainer, _) in runs.items():
                start = time.perf_counter()
                trainer.save_checkpoint(Path(root) / name / "last.ckpt", weights_only=False)
                seconds[name].append(time.perf_counter() - start)
        size = {name: (Path(root) / name / "last.ckpt").stat().st_size for name in runs}
    for name in runs:
        print(
            f"{name:8s} last.ckpt {size[name] / 1e6:6.2f} MB, save "
            f"{statistics.median(seconds[name]) * 1e3:6.1f} ms (median of {args.saves}), "
            f"fit of {args.epochs} epochs {runs[name][1]:.2f} s"
        )
    print(
        f"checkpoint size: {size['whole'] / size['trained']:.1f}x smaller; save: "
        f"{statistics.median(seconds['whole']) / statistics.median(seconds['trained']):.1f}x "
        f"faster; fit: {runs['whole'][1] / runs['trained'][1]:.2f}x faster"
    )


if __name__ == "__main__":
    main()
