"""Quanvolution on a batch of 224 px RGB images: PennyLane references, the fast path, Conv2d.

    python benchmarks/quanvolution.py [--batch 32 --size 224 --repeats 7 --skip-accuracy]
    python benchmarks/quanvolution.py --depths
    python benchmarks/quanvolution.py --accuracy
    python benchmarks/quanvolution.py --device cuda [--skip-accuracy]

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

``--device cuda`` runs every row on the GPU (``default.qubit`` with CUDA tensors too; a row that
fails there is reported and left out), with ``torch.cuda.synchronize()`` before and after each
timed call; the accuracy table then compares the fast path on the GPU with ``default.qubit`` on
the CPU.

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
from typing import TypeVar

import torch
from torch import nn

from hqnn_lightning.quantum import QuanvolutionLayer, quanvolution_filter_qnode

V = TypeVar("V")


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


def synchronize() -> None:
    """Waits for the GPU's queued work, if CUDA is in use (a no-op on the CPU)."""
    if torch.cuda.is_initialized():
        torch.cuda.synchronize()


def timed(run: Callable[[], object]) -> float:
    """Seconds of one call of ``run``, including the GPU work it queued."""
    synchronize()
    start = time.perf_counter()
    run()
    synchronize()
    return time.perf_counter() - start


def error_text(error: Exception) -> str:
    """The error's type and the first line of its message, short enough for a table cell."""
    message = (str(error).splitlines() or [""])[0][:120]
    return f"{type(error).__name__}: {message}"


def runnable(variants: list[V]) -> tuple[list[V], dict[str, str]]:
    """Runs each variant (anything with ``name`` and ``run``) once, the warm-up round: those
    that ran, and the others' errors."""
    ok, failed = [], {}
    for variant in variants:
        try:
            timed(variant.run)
            ok.append(variant)
        except Exception as error:  # a reference that does not run on this device
            failed[variant.name] = error_text(error)
    return ok, failed


def median_times(variants: list[Variant], repeats: int, warmup: bool = True) -> dict[str, float]:
    """Median seconds of each variant, scaled to the full batch, over ``repeats`` interleaved
    rounds, after a warm-up round if ``warmup``."""
    times: dict[str, list[float]] = {v.name: [] for v in variants}
    for round_ in range(repeats + warmup):
        for variant in variants:
            seconds = timed(variant.run)
            if round_ >= warmup:
                times[variant.name].append(seconds * variant.scale)
    return {name: statistics.median(values) for name, values in times.items()}


def quanvolution_variants(args: argparse.Namespace) -> list[Variant]:
    """The rows of the table, on ``(batch, 3, size, size)`` images in ``[0, 1]``."""
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(args.batch, 3, args.size, args.size, generator=generator)
    images = images.to(args.device)
    fast = QuanvolutionLayer(kernel_size=2, stride=2, device="torch").to(args.device)
    trainable = QuanvolutionLayer(kernel_size=2, stride=2, device="torch", trainable=True)
    trainable = trainable.to(args.device)
    reference = QuanvolutionLayer(kernel_size=2, stride=2, device="default.qubit")
    reference = reference.to(args.device)
    conv = nn.Conv2d(3, 12, 2, stride=2).to(args.device)
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
    title: str,
    variants: list[Variant],
    medians: dict[str, float],
    conv: str,
    reference: str,
    failed: dict[str, str] | None = None,
) -> None:
    """A Markdown table: median ms, ratio to ``conv`` and to ``reference`` (row names);
    the rows in ``failed`` (name: error) did not run."""
    print(f"\n{title}\n")
    print("| variant | median ms | / Conv2d, same pass | speed-up over default.qubit | note |")
    print("|---|---|---|---|---|")
    for variant in variants:
        if variant.name in (failed or {}):
            print(f"| {variant.name} | failed | | | {failed[variant.name]} |")
            continue
        seconds = medians[variant.name]
        twin = conv + (", forward + backward" if "backward" in variant.name else ", forward")
        speedup = f"{medians[reference] / seconds:,.3g}" if reference in medians else "n/a"
        print(
            f"| {variant.name} | {seconds * 1e3:,.1f} | {seconds / medians[twin]:,.2f} | "
            f"{speedup} | {variant.note} |"
        )


def accuracy_table(device: str = "cpu") -> None:
    """Largest deviation of the fast path on ``device`` from ``default.qubit`` (float64, on the
    CPU) over 45 filters: kernel sizes 1-3, 1, 2 and 4 ``RandomLayers``, seeds 0-4, on
    2 x 3 x 12 x 12 images."""
    generator = torch.Generator().manual_seed(1)
    where = "" if device == "cpu" else f" on {device}"
    print(f"\nFast path{where} against default.qubit (float64 reference), largest |difference|\n")
    print("| kernel | torch, float64 | torch, float32 |\n|---|---|---|")
    for kernel_size in (1, 2, 3):
        worst64 = worst32 = 0.0
        for n_layers in (1, 2, 4):
            for seed in range(5):
                images = torch.rand(2, 3, 12, 12, generator=generator, dtype=torch.float64)
                args = (kernel_size, 1, 0, n_layers, seed)
                expected = QuanvolutionLayer(*args, device="default.qubit")(images)
                fast = QuanvolutionLayer(*args, device="torch").to(device)
                on_device = images.to(device)
                worst64 = max(worst64, (fast(on_device).cpu() - expected).abs().max().item())
                worst32 = max(
                    worst32, (fast(on_device.float()).cpu() - expected).abs().max().item()
                )
        print(f"| {kernel_size}x{kernel_size} | {worst64:.1e} | {worst32:.1e} |")


DEPTHS = ((2, 1), (2, 2), (2, 4), (2, 8), (2, 20), (3, 1), (3, 3), (3, 6))
"""``(kernel_size, n_layers)`` of :func:`depth_table`; the stride is the kernel size."""


def depth_table(args: argparse.Namespace) -> None:
    """Forward time of the fast path per filter depth, against the same-shape Conv2d."""
    generator = torch.Generator().manual_seed(0)
    images = torch.rand(args.batch, 3, args.size, args.size, generator=generator)
    images = images.to(args.device)
    variants, terms, setup = [], {}, {}
    for kernel_size in sorted({k for k, _ in DEPTHS}):
        conv = nn.Conv2d(3, 3 * kernel_size**2, kernel_size, stride=kernel_size)
        variants.append(Variant(f"Conv2d {kernel_size}", _no_grad(conv.to(args.device), images)))
    for kernel_size, n_layers in DEPTHS:
        start = time.perf_counter()
        layer = QuanvolutionLayer(kernel_size, kernel_size, n_layers=n_layers, seed=0)
        layer = layer.to(args.device)
        name = f"{kernel_size}x{kernel_size}, {n_layers} layers"
        setup[name] = time.perf_counter() - start
        terms[name] = layer.filter.table.n_terms
        variants.append(Variant(name, _no_grad(layer, images)))
    medians = median_times(variants, args.repeats)
    where = "" if args.device == "cpu" else f", on {args.device}"
    print(
        f"\nFast path per filter depth, {args.batch} x 3 x {args.size} x {args.size}, stride = "
        f"kernel, seed 0, forward{where}, median of {args.repeats}; {conditions()}\n"
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
    """Threads, OpenMP wait policy and load average, printed with each table; the GPU too when
    CUDA is in use."""
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    policy = os.environ.get("OMP_WAIT_POLICY", "unset")
    gpu = f"; {torch.cuda.get_device_name()}" if torch.cuda.is_initialized() else ""
    return f"{torch.get_num_threads()} threads, OMP_WAIT_POLICY {policy}, load average {load}{gpu}"


def timing_table(args: argparse.Namespace) -> None:
    """The timing table of the study's filter against the PennyLane references and Conv2d."""
    variants = quanvolution_variants(args)
    ok, failed = runnable(variants)
    medians = median_times(ok, args.repeats, warmup=False)
    where = "" if args.device == "cpu" else f", on {args.device}"
    print_table(
        f"Quanvolution, {args.batch} x 3 x {args.size} x {args.size}, 2x2 stride 2, float32"
        f"{where}, median of {args.repeats}; {conditions()}",
        variants,
        medians,
        conv="Conv2d(3, 12, 2, stride=2)",
        reference="default.qubit TorchLayer, broadcast",
        failed=failed,
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
    parser.add_argument("--device", default="cpu", help="torch device of the timed rows: cpu, cuda")
    return parser


def run(args: argparse.Namespace) -> None:
    """The tables ``args`` asks for (see the module's docstring)."""
    if args.depths:
        depth_table(args)
        return
    if args.accuracy or not args.skip_accuracy:
        accuracy_table(args.device)
    if not args.accuracy:
        timing_table(args)


def default_tables(device: str = "cpu") -> None:
    """The accuracy and timing tables with the default options on ``device``
    (``quantum_layers.py``)."""
    run(build_parser().parse_args(["--device", device]))


if __name__ == "__main__":
    run(build_parser().parse_args())
