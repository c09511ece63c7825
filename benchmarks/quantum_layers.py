"""The variational head on each quantum device: accuracy, speed, and a qubit-count sweep.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/quantum_layers.py [--repeats 21 --sweep-qubits 4 8]
    python benchmarks/quantum_layers.py --accuracy-only
    python benchmarks/quantum_layers.py --device cuda [--only head sweep]

``OMP_WAIT_POLICY=PASSIVE`` (as ``make bench`` sets it) lets OpenMP threads sleep rather than
spin while they wait: on a machine shared with other jobs, spinning threads of two processes
make every parallel region wait for a descheduled thread, which slows all rows many times over
and buries the differences between them. Each table prints the policy, threads and load.

Four workloads, the functions in ``WORKLOADS``:

1. ``accuracy``: the torch backend against ``default.qubit`` in float64, and its float32
   (complex64) mode against its float64 mode, largest absolute differences over random
   circuits (1-6 and 1-8 qubits, depth 1-3, both entanglers, encodings rx and ry), in the outputs
   and in the gradients with respect to the inputs and the weights.
2. ``head``: the study's head (``AngleEmbedding`` Y, 3 ``StronglyEntanglingLayers``, ``<Z>`` on
   each of 6 wires), batch 256, float32 inputs in ``(-pi/2, pi/2)`` as ``HybridVQC`` feeds it,
   forward + backward (gradients of inputs and weights, as in training); the same with data
   re-uploading, and with identity blocks and the ``hadamard_ry`` encoding (the defaults of
   ``quantum/defaults.py``), each against its own ``TorchLayer``. Every row is timed in
   the same run, interleaved (one call of each per round, after a warm-up round), so that load
   from other processes hits all of them alike; ``lightning.qubit`` takes part in fewer rounds.
   Each row shows its median and its speed-up over ``TorchLayer`` on ``default.qubit``.
3. ``sweep``: the same circuit at 4-20 qubits, batch 64, depth 1-3, forward + backward, for
   ``default.qubit``, ``lightning.qubit`` and ``torch``, interleaved per cell. Each cell is
   first run once on a probe batch whose autograd memory fits in ``--memory-gib`` (at least
   one sample; at most 4 on ``lightning.qubit``, which runs one sample at a time); if the whole
   batch would take longer than ``--budget`` seconds, or not fit, the cell is timed on the
   probe batch, scaled linearly to batch 64 and marked ``~`` (extrapolated).
4. ``quanvolution``: the quanvolution's accuracy and timing tables from
   ``benchmarks/quanvolution.py`` (``default.qubit``, the per-patch loop, the fast path and
   the same-shape Conv2d on 32 x 3 x 224 x 224 images).

``--device cuda`` runs the layers on the GPU, with ``torch.cuda.synchronize()`` before and
after each timed call: the accuracy table compares them with the CPU references, and the head
and sweep tables leave out ``lightning.qubit``, a CPU simulator. A row or cell that fails on the
device (``default.qubit`` with CUDA tensors, say) is reported as failed, not timed.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
from collections.abc import Callable
from dataclasses import dataclass

import torch
from quanvolution import default_tables as quanvolution_tables
from quanvolution import error_text, runnable, timed
from torch import nn

from hqnn_lightning.quantum import VariationalClassifierCircuit, make_device, make_layer


@dataclass
class Variant:
    """One timed row: ``run()`` once per round, in ``repeats`` rounds; its time times
    ``scale`` is the reported one (extrapolated, for the reason ``note``, if ``scale`` > 1)."""

    name: str
    run: Callable[[], object]
    repeats: int
    scale: float = 1.0
    note: str = ""


def conditions() -> str:
    """Threads, OpenMP wait policy and load average, printed under each table; the GPU too
    when CUDA is in use."""
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    policy = os.environ.get("OMP_WAIT_POLICY", "unset")
    gpu = f" {torch.cuda.get_device_name()}." if torch.cuda.is_initialized() else ""
    return f"{torch.get_num_threads()} threads, OMP_WAIT_POLICY {policy}, load average {load}.{gpu}"


def median_time(fn: Callable[[], object], repeats: int, warmup: bool = True) -> float:
    """Median seconds of ``repeats`` calls of ``fn``, after one warm-up call if ``warmup``."""
    return median_times([Variant("", fn, repeats)], warmup)[""]


def median_times(variants: list[Variant], warmup: bool = True) -> dict[str, float]:
    """Median seconds of each variant over interleaved rounds, after a warm-up round."""
    times: dict[str, list[float]] = {v.name: [] for v in variants}
    for variant in variants if warmup else ():
        variant.run()
    for round_ in range(max(v.repeats for v in variants)):
        for variant in variants:
            if round_ < variant.repeats:
                times[variant.name].append(timed(variant.run))
    return {name: statistics.median(samples) for name, samples in times.items()}


def forward_backward(layer: nn.Module, inputs: torch.Tensor) -> Callable[[], object]:
    """One training pass through ``layer``: forward, then gradients of inputs and weights."""
    inputs = inputs.detach().requires_grad_()

    def run() -> None:
        layer.zero_grad(set_to_none=True)
        inputs.grad = None
        layer(inputs).sum().backward()

    return run


def head_inputs(batch: int, n_qubits: int, seed: int = 0) -> torch.Tensor:
    """``(batch, n_qubits)`` float32 angles in ``(-pi/2, pi/2)``, as ``HybridVQC`` makes them."""
    generator = torch.Generator().manual_seed(seed)
    return (torch.rand(batch, n_qubits, generator=generator) - 0.5) * math.pi


def initial(circuit: VariationalClassifierCircuit) -> str:
    """The initialisation a circuit takes: ``identity`` with identity blocks, else
    ``uniform`` (the values are the reference's anyway)."""
    return "identity" if circuit.identity_blocks else "uniform"


def reference_layer(circuit: VariationalClassifierCircuit, device: str = "default.qubit"):
    """The circuit on a PennyLane device, its weights drawn as a model draws them."""
    return make_layer(circuit, make_device(device, circuit.n_qubits), initial(circuit))


def twin(circuit: VariationalClassifierCircuit, device: str, like: nn.Module, **options):
    """A layer on quantum device ``device`` holding the weights of ``like``, on the torch
    device and in the dtype of ``like``."""
    device = make_device(device, circuit.n_qubits)
    layer = make_layer(circuit, device, initial(circuit), **options)
    layer.load_state_dict(like.state_dict())
    weights = next(like.parameters())
    return layer.to(device=weights.device, dtype=weights.dtype)


def largest_differences(reference: nn.Module, layer: nn.Module, inputs, cotangent) -> list[float]:
    """Largest ``|layer - reference|`` of outputs, input gradients and weight gradients."""
    results = []
    for module in (reference, layer):
        weights = next(module.parameters())
        x = inputs.detach().to(weights.device, weights.dtype).requires_grad_()
        module.zero_grad(set_to_none=True)
        out = module(x)
        (out * cotangent.to(out.device, out.dtype)).sum().backward()
        grads = [out, x.grad, module.weights.grad]
        results.append([value.double().cpu() for value in grads])
    return [(a - b).abs().max().item() for a, b in zip(*results, strict=True)]


def accuracy(args: argparse.Namespace) -> None:
    """Table 1: the torch backend's deviations, in float64 and float32; on ``--device``
    against references on the CPU."""
    rng = random.Random(0)
    on = "" if args.device == "cpu" else f" on {args.device}"
    rows = [
        (f"torch float64{on} vs default.qubit float64", "default.qubit", torch.float64, 6, 100),
        (f"torch float32{on} vs torch float64", "torch", torch.float32, 8, args.accuracy_draws),
    ]
    print("\nLargest |difference| over random circuits (depth 1-3, both entanglers, rx and ry)\n")
    print("| comparison | circuits | outputs | input gradients | weight gradients |")
    print("|---|---|---|---|---|")
    for name, reference_device, dtype, max_qubits, draws in rows:
        worst = [0.0, 0.0, 0.0]
        for _ in range(draws):
            n = rng.randint(1, max_qubits)
            circuit = VariationalClassifierCircuit(
                n,
                rng.randint(1, 3),
                rng.choice(["strong", "basic"]),
                rng.choice(["rx", "ry"]),
                identity_blocks=False,
            )
            method = rng.choice(["unitary", "gates"])
            reference = reference_layer(circuit, reference_device).double()
            layer = twin(circuit, "torch", reference, method=method).to(args.device, dtype)
            inputs = (torch.rand(32, n, dtype=torch.float64) * 4 - 2) * math.pi
            cotangent = torch.randn(32, n, dtype=torch.float64)
            found = largest_differences(reference, layer, inputs, cotangent)
            worst = [max(a, b) for a, b in zip(worst, found, strict=True)]
        cells = " | ".join(f"{value:.1e}" for value in worst)
        print(f"| {name} | {draws}, 1-{max_qubits} qubits, batch 32 | {cells} |")


def head(args: argparse.Namespace) -> None:
    """Table 2: the 6-qubit head at batch 256, forward + backward, every device."""
    circuit = VariationalClassifierCircuit(6, 3, "strong", "ry", identity_blocks=False)
    reuploading = VariationalClassifierCircuit(
        6, 3, "strong", "ry", reupload=True, identity_blocks=False
    )
    blocks = VariationalClassifierCircuit(6, 3, "strong", "hadamard_ry", identity_blocks=True)
    inputs = head_inputs(args.batch, 6).to(args.device)
    reference = reference_layer(circuit).to(args.device)
    reuploading_reference = twin(reuploading, "default.qubit", reference)
    blocks_reference = reference_layer(blocks).to(args.device)
    rows = [
        ("TorchLayer, default.qubit (backprop)", reference),
        ("torch, float32", twin(circuit, "torch", reference)),
        ("torch, float32, method='gates'", twin(circuit, "torch", reference, method="gates")),
        ("torch, float64", twin(circuit, "torch", reference).double()),
        ("data re-uploading: TorchLayer, default.qubit", reuploading_reference),
        ("data re-uploading: torch, float32", twin(reuploading, "torch", reference)),
        ("identity blocks, hadamard_ry: TorchLayer, default.qubit", blocks_reference),
        ("identity blocks, hadamard_ry: torch, float32", twin(blocks, "torch", blocks_reference)),
    ]
    variants = [
        (name, layer, inputs.to(next(layer.parameters()).dtype), args.repeats)
        for name, layer in rows
    ]
    if args.device == "cpu":  # a CPU simulator: it has no place in a GPU table
        lightning = twin(circuit, "lightning.qubit", reference)
        name = "TorchLayer, lightning.qubit (adjoint)"
        variants.insert(1, (name, lightning, inputs, args.lightning_repeats))
    else:  # the reference where PennyLane users run it, and the fallback if it fails here
        cpu_reference = twin(circuit, "default.qubit", reference).cpu()
        name = "TorchLayer, default.qubit (backprop), on the CPU"
        variants.append((name, cpu_reference, inputs.cpu(), args.repeats))
    ok, failed = runnable(
        [Variant(name, forward_backward(layer, x), n) for name, layer, x, n in variants]
    )
    times = median_times(ok, warmup=False)
    base = next((name for name, *_ in (variants[0], variants[-1]) if name in times), None)
    on = "" if args.device == "cpu" else f", on {args.device}; speed-up over {base}"
    print(
        f"\n6-qubit head (AngleEmbedding Y, 3 StronglyEntanglingLayers, <Z> x 6), batch "
        f"{args.batch}, forward + backward{on}. {conditions()}\n"
    )
    print("| variant | rounds | median ms | speed-up over default.qubit |\n|---|---|---|---|")
    for name, _, _, repeats in variants:
        if name in failed:
            print(f"| {name} | 0 | failed: {failed[name]} | |")
            continue
        ratio = "n/a"
        if base is not None:
            speedup = times[base] / times[name]
            ratio = f"{speedup:,.1f}x" if speedup >= 1 else f"{speedup:.3f}x"
        print(f"| {name} | {repeats} | {times[name] * 1e3:,.1f} | {ratio} |")


def saved_bytes(device: str, n_qubits: int, depth: int) -> int:
    """Rough memory autograd keeps per sample: about one state (``2^n`` complex128 numbers)
    per gate on ``default.qubit``, one per group of 4 wires and per block on ``torch``; one
    sample at a time on ``lightning.qubit``."""
    states = {
        "default.qubit": n_qubits + 2 * n_qubits * depth,
        "torch": (math.ceil(n_qubits / 4) + 2) * depth + 4,
    }.get(device, 0)
    return states * 2**n_qubits * 16


def sweep_variant(args: argparse.Namespace, device: str, n_qubits: int, depth: int) -> Variant:
    """One sweep cell's timed call, after a probe call that decides its batch.

    The probe runs the largest batch (at most 4 on ``lightning.qubit``) whose autograd memory
    fits in ``--memory-gib``; if the whole batch would not fit, or would take longer than
    ``--budget`` seconds by linear scaling, the cell keeps the probe batch (``scale`` > 1).
    """
    circuit = VariationalClassifierCircuit(n_qubits, depth, identity_blocks=False)
    layer = make_layer(circuit, make_device(device, n_qubits), "uniform")
    layer = layer.to(args.device)
    batch, limit = args.sweep_batch, args.memory_gib * 2**30
    per_sample = saved_bytes(device, n_qubits, depth)
    probe = batch
    while probe > 1 and probe * per_sample > limit:
        probe //= 2
    if device == "lightning.qubit":
        probe = min(probe, 4)
    run = forward_backward(layer, head_inputs(probe, n_qubits).to(args.device))
    estimate = timed(run) * batch / probe
    repeats = 3 if estimate < args.budget / 3 else 1
    if batch * per_sample > limit:
        return Variant(device, run, repeats, batch / probe, f"memory; batch {probe}")
    if estimate > args.budget:
        return Variant(device, run, 1, batch / probe, f"time; batch {probe}")
    if probe < batch:
        run = forward_backward(layer, head_inputs(batch, n_qubits).to(args.device))
        run()
    return Variant(device, run, repeats)


def sweep_devices(device: str) -> tuple[str, ...]:
    """The quantum devices of the sweep on torch device ``device``: ``lightning.qubit`` only on
    the CPU, whose simulator it is."""
    if device == "cpu":
        return ("default.qubit", "lightning.qubit", "torch")
    return ("default.qubit", "torch")


def sweep(args: argparse.Namespace) -> None:
    """Table 3: seconds per forward + backward at batch 64, by qubits, depth and device."""
    devices = sweep_devices(args.device)
    on = "" if args.device == "cpu" else f" on {args.device}"
    print(
        f"\nStrongly entangling circuit, batch {args.sweep_batch}, float32 inputs, forward + "
        f"backward{on}, seconds: median of up to 3 interleaved calls; ~ = measured on a smaller "
        f"batch and scaled to {args.sweep_batch}, because the whole batch would need more "
        f"than {args.memory_gib:g} GiB or {args.budget:g} s. {conditions()}\n"
    )
    print("| qubits | depth | " + " | ".join(devices) + " | fastest |")
    print("|---|---|" + "---|" * (len(devices) + 1))
    for n_qubits in args.sweep_qubits:
        for depth in args.sweep_depths:
            variants, failed = [], {}
            for device in devices:
                try:
                    variants.append(sweep_variant(args, device, n_qubits, depth))
                except Exception as error:  # out of memory, or no CUDA tensors on a device
                    failed[device] = error_text(error)
                    if torch.cuda.is_initialized():
                        torch.cuda.empty_cache()
            times = median_times(variants, warmup=False) if variants else {}
            seconds = {v.name: times[v.name] * v.scale for v in variants}
            cells = {name: f"failed ({error})" for name, error in failed.items()}
            for v in variants:
                cells[v.name] = (
                    f"~{seconds[v.name]:,.2f} ({v.note})" if v.note else f"{seconds[v.name]:,.3f}"
                )
            fastest = min(seconds, key=seconds.__getitem__) if seconds else "n/a"
            row = " | ".join(cells[device] for device in devices)
            print(f"| {n_qubits} | {depth} | {row} | {fastest} |", flush=True)


def quanvolution(args: argparse.Namespace) -> None:
    """Table 4: the quanvolution on 32 x 3 x 224 x 224 images, its accuracy against
    ``default.qubit`` first; ``benchmarks/quanvolution.py`` runs it alone, with options."""
    quanvolution_tables(args.device)


WORKLOADS: dict[str, Callable[[argparse.Namespace], None]] = {
    "accuracy": accuracy,
    "head": head,
    "sweep": sweep,
    "quanvolution": quanvolution,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=256, help="head table batch")
    parser.add_argument("--repeats", type=int, default=21, help="head table rounds")
    parser.add_argument("--lightning-repeats", type=int, default=3)
    parser.add_argument("--accuracy-draws", type=int, default=400)
    parser.add_argument("--accuracy-only", action="store_true", help="same as --only accuracy")
    parser.add_argument("--only", nargs="*", choices=list(WORKLOADS), help="tables to make")
    parser.add_argument("--sweep-qubits", type=int, nargs="*", default=[4, 8, 12, 16, 20])
    parser.add_argument("--sweep-depths", type=int, nargs="*", default=[1, 2, 3])
    parser.add_argument("--sweep-batch", type=int, default=64)
    parser.add_argument("--budget", type=float, default=20.0, help="seconds per sweep cell")
    parser.add_argument("--memory-gib", type=float, default=2.0, help="per sweep cell")
    parser.add_argument("--device", default="cpu", help="torch device of the layers: cpu, cuda")
    args = parser.parse_args()
    torch.manual_seed(0)
    names = ["accuracy"] if args.accuracy_only else args.only or list(WORKLOADS)
    for name in names:
        WORKLOADS[name](args)


if __name__ == "__main__":
    main()
