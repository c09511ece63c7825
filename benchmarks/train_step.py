"""One optimizer step of each quantum model against its classical control, as ratios.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/train_step.py [--batch 32 --size 224 --repeats 7]
    python benchmarks/train_step.py --device cuda --batch 64

A step is what Lightning's training loop does per batch: forward, cross-entropy, backward,
AdamW update (with zeroed gradients). Each pair of models sees the same batch of random
``(batch, 3, size, size)`` images in ``[0, 1]``; every model is timed in the same run,
interleaved (one step of each per round, ``--repeats`` rounds after a warm-up round), and the
table reports the median step and the ratio quantum / control. ``--device cuda`` runs the models
and the batch on the GPU, with ``torch.cuda.synchronize()`` before and after each timed step.

Pairs (issue 4's targets in brackets):

- ``QuanvNet`` (2x2 quanvolution, stride 2, exact ``"torch"`` backend, fixed filter, ``SmallCNN``
  head) against its Conv2d twin, the same head after ``Conv2d(3, 12, 2, stride=2)``
  [at most 1.5x];
- ``HybridVQC`` (ResNet-50 from scratch, 6 qubits, exact ``"torch"`` backend) against
  ``HybridControl``, the same backbone with a classical bottleneck [at most 1.05x].
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics

import torch
import torch.nn.functional as F
from quanvolution import timed
from torch import nn

from hqnn_lightning.models import HybridControl, HybridVQC, QuanvNet, SmallCNN

NUM_CLASSES = 10


class ConvTwin(nn.Module):
    """``QuanvNet`` with ``Conv2d(3, 12, 2, stride=2)`` in place of its quanvolution."""

    def __init__(self, quanv: QuanvNet) -> None:
        super().__init__()
        channels = quanv.feature_shape[0]
        k, stride = quanv.hparams.kernel_size, quanv.hparams.stride
        self.features = nn.Conv2d(quanv.hparams.in_channels, channels, k, stride=stride)
        self.head = SmallCNN(channels, quanv.hparams.head_width)
        self.classifier = nn.Linear(self.head.num_features, NUM_CLASSES)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.head(self.features(images)))


def quanvolution_pairs(size: int) -> list[tuple[str, nn.Module, str, nn.Module]]:
    """``(name, QuanvNet, control name, its Conv2d twin)``."""
    quanv = QuanvNet(NUM_CLASSES, in_channels=3, image_size=size, q_device="torch")
    return [("QuanvNet (torch)", quanv, "Conv2d twin", ConvTwin(quanv))]


def hybrid_pairs(size: int) -> list[tuple[str, nn.Module, str, nn.Module]]:
    """``(name, HybridVQC, control name, HybridControl)``: the study's hybrid (ResNet-50
    trained from scratch, 6 qubits, 3 strongly entangling layers, exact ``"torch"`` backend)
    and the same backbone, projection and classifier with ``tanh(Linear(6, 6))`` in place of
    the circuit."""
    hybrid = HybridVQC(NUM_CLASSES, image_size=size, q_device="torch")
    return [
        ("HybridVQC (torch)", hybrid, "HybridControl", HybridControl(NUM_CLASSES, image_size=size))
    ]


def step(model: nn.Module, optimizer: torch.optim.Optimizer, batch: tuple) -> None:
    images, labels = batch
    optimizer.zero_grad(set_to_none=True)
    F.cross_entropy(model(images), labels).backward()
    optimizer.step()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--device", default="cpu", help="torch device of the step: cpu, cuda")
    args = parser.parse_args()
    torch.manual_seed(0)
    images = torch.rand(args.batch, 3, args.size, args.size).to(args.device)
    labels = torch.randint(0, NUM_CLASSES, (args.batch,)).to(args.device)
    pairs = quanvolution_pairs(args.size) + hybrid_pairs(args.size)
    models = {name: model.to(args.device) for pair in pairs for name, model in (pair[:2], pair[2:])}
    optimizers = {name: torch.optim.AdamW(m.parameters(), lr=1e-3) for name, m in models.items()}
    for model in models.values():
        model.train()
    times: dict[str, list[float]] = {name: [] for name in models}
    for round_ in range(args.repeats + 1):
        for name, model in models.items():
            seconds = timed(functools.partial(step, model, optimizers[name], (images, labels)))
            if round_:
                times[name].append(seconds)
    median = {name: statistics.median(values) for name, values in times.items()}
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    gpu = f", on {torch.cuda.get_device_name()}" if torch.cuda.is_initialized() else ""
    print(
        f"\nOne training step, batch {args.batch}, {args.size} px{gpu}, median of {args.repeats}; "
        f"{torch.get_num_threads()} threads, OMP_WAIT_POLICY "
        f"{os.environ.get('OMP_WAIT_POLICY', 'unset')}, load average {load}\n"
    )
    print("| model | step ms | control | control step ms | ratio |\n|---|---|---|---|---|")
    for name, _, control, _ in pairs:
        print(
            f"| {name} | {median[name] * 1e3:,.1f} | {control} | "
            f"{median[control] * 1e3:,.1f} | {median[name] / median[control]:.2f} |"
        )


if __name__ == "__main__":
    main()
