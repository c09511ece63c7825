"""Quanvolution on a batch of 224 px RGB images: PennyLane references, the fast path, Conv2d.

    python benchmarks/quanvolution.py [--batch 32 --size 224 --repeats 7 --skip-accuracy]
    python benchmarks/quanvolution.py --depths
    python benchmarks/quanvolution.py --accuracy

First a table of the fast path's largest deviation from ``default.qubit`` in float64 and in
float32 (45 filters), then the timings; ``--accuracy`` prints only the first. ``--depths``
prints instead the fast path's forward time for deeper filters and 3x3 patches (stride =
kernel size), each against the Conv2d of its shape, with the number of nonzero terms and the
time to build the layer (support and coefficients).

In the timing table every variant is timed in the same run, interleaved (one call of each per
round, ``--repeats`` rounds after a warm-up round), so that load from other processes hits all
of them alike; the median is reported with its ratio to the Conv2d of the same shape and pass
(``Conv2d(3, 12, 2, stride=2)``, the issue's target) and its speed-up over ``default.qubit``.
The filter is the study's: 2x2 patches, stride 2, one ``RandomLayers`` layer, seed 0.

The PennyLane rows are too slow to run on the whole batch: ``default.qubit`` (one broadcast
simulation of every patch, ``TorchLayer``) runs on ``--slice`` images and the per-patch QNode
loop (PennyLane's quanvolution demo) on ``--loop-patches`` patches; both are scaled to the
full batch and marked "extrapolated".

"Forward + backward" is what a training step spends on the layer: the forward with autograd
on, then the backward into the layer's parameters. A fixed filter has none and the images need
no gradient, so its backward is empty; the Conv2d computes its weight gradient.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from hqnn_lightning.quantum import QuanvolutionLayer, quanvolution_filter_qnode


@dataclass
class Variant:
    """One row: ``run()`` once per round; ``scale`` multiplies its time to the full batch."""

    name: str
    run: Callable[[], object]
    scale: float = 1.0
    note: str = ""


def forward_backward(module: nn.Module, images: torch.Tensor) -> Callable[[], object]:
    """A forward with autograd on, then the backward into ``module``'s parameters, if any."""

    def run() -> None:
        module.zero_grad(set_to_none=True)
        out = module(images)
        if out.requires_grad:
            out.sum().backward()

    return run


def per_patch_loop(images: torch.Tensor, n_patches: int) -> Callable[[], object]:
    """PennyLane's quanvolution demo: one QNode call per 2x2 patch, the first ``n_patches``."""
    qnode, _ = quanvolution_filter_qnode(kernel_size=2, seed=0)
    patches = images[0].unfold(1, 2, 2).unfold(2, 2, 2).reshape(-1, 4)[:n_patches]

    def run() -> None:
        with torch.no_grad():
            for patch in patches:
                qnode(patch)

    return run


def median_times(variants: list[Variant], repeats: int) -> dict[str, float]:
    """Median seconds of each variant, scaled to the full batch, over interleaved rounds."""
    times: dict[str, list[float]] = {v.name: [] for v in variants}
    for round_ in range(repeats + 1):
        for variant in variants:
            start = time.perf_counter()
            variant.run()
            if round_:
                times[variant.name].append((time.perf_counter() - start) * variant.scale)
    return {name: statistics.median(values) for name, values in times.items()}


def quanvolution_variants(args: argparse.Namespace) -> list[Variant]:
    """The rows of the table, on ``(batch, 3, size, size)`` images in ``[0, 1]``."""
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(args.batch, 3, args.size, args.size, generator=generator)
    fast = QuanvolutionLayer(kernel_size=2, stride=2, device="torch")
    trainable = QuanvolutionLayer(kernel_size=2, stride=2, device="torch", trainable=True)
    reference = QuanvolutionLayer(kernel_size=2, stride=2, device="default.qubit")
    conv = nn.Conv2d(3, 12, 2, stride=2)
    patches = args.batch * 3 * (args.size // 2) ** 2
    sliced = images[: args.slice]

    return [
        Variant(
            "default.qubit TorchLayer, broadcast",
            _no_grad(reference, sliced),
            args.batch / args.slice,
            f"extrapolated from {args.slice} of {args.batch} images",
        ),
        Variant(
            "per-patch QNode loop (default.qubit)",
            per_patch_loop(images, args.loop_patches),
            patches / args.loop_patches,
            f"extrapolated from {args.loop_patches} of {patches:,} patches",
        ),
        Variant("torch (fast path), forward", _no_grad(fast, images)),
        Variant("torch (fast path), forward + backward", forward_backward(fast, images)),
        Variant(
            "torch, trainable filter, forward + backward",
            forward_backward(trainable, images),
            note="gradient of the angles through the coefficient-gradient kernel",
        ),
        Variant("Conv2d(3, 12, 2, stride=2), forward", _no_grad(conv, images)),
        Variant("Conv2d(3, 12, 2, stride=2), forward + backward", forward_backward(conv, images)),
    ]


def print_table(
    title: str, variants: list[Variant], medians: dict[str, float], conv: str, reference: str
) -> None:
    """A Markdown table: median ms, ratio to ``conv`` and to ``reference`` (row names)."""
    print(f"\n{title}\n")
    print("| variant | median ms | / Conv2d, same pass | speed-up over default.qubit | note |")
    print("|---|---|---|---|---|")
    for variant in variants:
        seconds = medians[variant.name]
        twin = conv + (", forward + backward" if "backward" in variant.name else ", forward")
        print(
            f"| {variant.name} | {seconds * 1e3:,.1f} | {seconds / medians[twin]:,.2f} | "
            f"{medians[reference] / seconds:,.3g} | {variant.note} |"
        )


def accuracy_table() -> None:
    """Largest deviation of the fast path from ``default.qubit`` (float64) over 45 filters:
    kernel sizes 1-3, 1, 2 and 4 ``RandomLayers``, seeds 0-4, on 2 x 3 x 12 x 12 images."""
    generator = torch.Generator().manual_seed(1)
    print("\nFast path against default.qubit (float64 reference), largest |difference|\n")
    print("| kernel | torch, float64 | torch, float32 |\n|---|---|---|")
    for kernel_size in (1, 2, 3):
        worst64 = worst32 = 0.0
        for n_layers in (1, 2, 4):
            for seed in range(5):
                images = torch.rand(2, 3, 12, 12, generator=generator, dtype=torch.float64)
                args = (kernel_size, 1, 0, n_layers, seed)
                expected = QuanvolutionLayer(*args, device="default.qubit")(images)
                fast = QuanvolutionLayer(*args, device="torch")
                worst64 = max(worst64, (fast(images) - expected).abs().max().item())
                worst32 = max(worst32, (fast(images.float()) - expected).abs().max().item())
        print(f"| {kernel_size}x{kernel_size} | {worst64:.1e} | {worst32:.1e} |")


DEPTHS = ((2, 1), (2, 2), (2, 4), (2, 8), (2, 20), (3, 1), (3, 3), (3, 6))
"""``(kernel_size, n_layers)`` of :func:`depth_table`; the stride is the kernel size."""


def depth_table(args: argparse.Namespace) -> None:
    """Forward time of the fast path per filter depth, against the same-shape Conv2d."""
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(args.batch, 3, args.size, args.size, generator=generator)
    variants, terms, setup = [], {}, {}
    for kernel_size in sorted({k for k, _ in DEPTHS}):
        conv = nn.Conv2d(3, 3 * kernel_size**2, kernel_size, stride=kernel_size)
        variants.append(Variant(f"Conv2d {kernel_size}", _no_grad(conv, images)))
    for kernel_size, n_layers in DEPTHS:
        start = time.perf_counter()
        layer = QuanvolutionLayer(kernel_size, kernel_size, n_layers=n_layers, seed=0)
        name = f"{kernel_size}x{kernel_size}, {n_layers} layers"
        setup[name] = time.perf_counter() - start
        terms[name] = layer.filter.table.n_terms
        variants.append(Variant(name, _no_grad(layer, images)))
    medians = median_times(variants, args.repeats)
    print(
        f"\nFast path per filter depth, {args.batch} x 3 x {args.size} x {args.size}, stride = "
        f"kernel, seed 0, forward, median of {args.repeats}; {conditions()}\n"
    )
    print("| filter | terms | layer setup ms | forward ms | / Conv2d forward |")
    print("|---|---|---|---|---|")
    for kernel_size, n_layers in DEPTHS:
        name = f"{kernel_size}x{kernel_size}, {n_layers} layers"
        ratio = medians[name] / medians[f"Conv2d {kernel_size}"]
        print(
            f"| {name} | {terms[name]} | {setup[name] * 1e3:,.0f} | "
            f"{medians[name] * 1e3:,.1f} | {ratio:.2f} |"
        )
    for kernel_size in sorted({k for k, _ in DEPTHS}):
        k = kernel_size
        print(
            f"\nConv2d(3, {3 * k * k}, {k}, stride={k}) forward: "
            f"{medians[f'Conv2d {k}'] * 1e3:,.1f} ms"
        )


def _no_grad(module: nn.Module, images: torch.Tensor) -> Callable[[], object]:
    def run() -> object:
        with torch.no_grad():
            return module(images)

    return run


def conditions() -> str:
    """Threads, OpenMP wait policy and load average, printed with each table."""
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    policy = os.environ.get("OMP_WAIT_POLICY", "unset")
    return f"{torch.get_num_threads()} threads, OMP_WAIT_POLICY {policy}, load average {load}"


def timing_table(args: argparse.Namespace) -> None:
    """The timing table of the study's filter against the PennyLane references and Conv2d."""
    variants = quanvolution_variants(args)
    medians = median_times(variants, args.repeats)
    print_table(
        f"Quanvolution, {args.batch} x 3 x {args.size} x {args.size}, 2x2 stride 2, float32, "
        f"median of {args.repeats}; {conditions()}",
        variants,
        medians,
        conv="Conv2d(3, 12, 2, stride=2)",
        reference="default.qubit TorchLayer, broadcast",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--slice", type=int, default=1, help="images for default.qubit")
    parser.add_argument("--loop-patches", type=int, default=100, help="patches for the loop")
    parser.add_argument("--skip-accuracy", action="store_true", help="only the timings")
    parser.add_argument("--depths", action="store_true", help="only the per-depth table")
    parser.add_argument("--accuracy", action="store_true", help="only the accuracy table")
    return parser


def run(args: argparse.Namespace) -> None:
    """The tables ``args`` asks for (see the module's docstring)."""
    if args.depths:
        depth_table(args)
        return
    if args.accuracy or not args.skip_accuracy:
        accuracy_table()
    if not args.accuracy:
        timing_table(args)


def default_tables() -> None:
    """The accuracy and timing tables with the default options (``quantum_layers.py``)."""
    run(build_parser().parse_args([]))


if __name__ == "__main__":
    run(build_parser().parse_args())
