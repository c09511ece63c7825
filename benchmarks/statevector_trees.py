"""The torch backend of two checkouts of the library, interleaved in one process.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/statevector_trees.py --before ../old --after . \
        [--rounds 41 --threads 2]

Each checkout's ``hqnn_lightning`` is imported in turn (its modules dropped from
``sys.modules`` in between), and each circuit of ``CIRCUITS`` is built in both, with the same
weights and inputs (``(-pi/2, pi/2)``, float32 unless the row says float64). Every round times
forward + backward (gradients of inputs and weights) of each row's ``before`` layer and then its
``after`` layer, so that load from other processes hits both alike. Prints, per circuit, the
median and fastest round of each and their ratios (after / before), as a Markdown table.
"""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
import sys
import time
from types import ModuleType

import torch

STRONG_6 = {"n_qubits": 6, "q_depth": 3, "entangler": "strong", "encoding": "ry"}
IDENTITY = {"entangler": "strong", "encoding": "hadamard_ry", "identity_blocks": True}
# name: (VariationalClassifierCircuit arguments, TorchStatevectorLayer options, batch, dtype)
CIRCUITS = {
    "head: `ry`, 3 strong layers, 6 qubits": (STRONG_6, {}, 256, torch.float32),
    "the same in float64": (STRONG_6, {}, 256, torch.float64),
    "the same, `method='gates'`": (STRONG_6, {"method": "gates"}, 256, torch.float32),
    "identity blocks, `hadamard_ry`, 6 qubits": (
        {**IDENTITY, "n_qubits": 6, "q_depth": 3},
        {},
        256,
        torch.float32,
    ),
    "data re-uploading, 6 qubits": ({**STRONG_6, "reupload": True}, {}, 256, torch.float32),
    "`basic`, `rx`, 6 qubits": (
        {**STRONG_6, "entangler": "basic", "encoding": "rx"},
        {},
        256,
        torch.float32,
    ),
    "identity blocks, 10 qubits": (
        {**IDENTITY, "n_qubits": 10, "q_depth": 3},
        {},
        64,
        torch.float32,
    ),
    "strong, 14 qubits, depth 2": (
        {**STRONG_6, "n_qubits": 14, "q_depth": 2},
        {},
        32,
        torch.float32,
    ),
}


def load(tree: str) -> ModuleType:
    """``hqnn_lightning.quantum`` of the checkout at ``tree``."""
    for name in [name for name in sys.modules if name.startswith("hqnn_lightning")]:
        del sys.modules[name]
    sys.path.insert(0, os.path.abspath(tree))
    try:
        return importlib.import_module("hqnn_lightning.quantum")
    finally:
        sys.path.pop(0)


def layer(quantum: ModuleType, name: str) -> torch.nn.Module:
    """Circuit ``name`` of `CIRCUITS` as a torch layer of ``quantum``."""
    arguments, options, _, _ = CIRCUITS[name]
    circuit = quantum.VariationalClassifierCircuit(**{"identity_blocks": False, **arguments})
    built = quantum.TorchStatevectorLayer(circuit, init="uniform", **options)
    return built.to(CIRCUITS[name][3])


def seconds(layer: torch.nn.Module, inputs: torch.Tensor) -> float:
    """One forward + backward of ``layer`` on ``inputs``, in seconds."""
    layer.zero_grad()
    inputs.grad = None
    start = time.perf_counter()
    layer(inputs).sum().backward()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", required=True, help="checkout of the earlier code")
    parser.add_argument("--after", default=".", help="checkout of the later code")
    parser.add_argument("--rounds", type=int, default=41)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    before = load(args.before)
    rows = {name: [layer(before, name)] for name in CIRCUITS}
    after = load(args.after)
    for name, pair in rows.items():
        pair.append(layer(after, name))
        pair[1].load_state_dict(pair[0].state_dict())
        arguments, _, batch, dtype = CIRCUITS[name]
        inputs = (torch.rand(batch, arguments["n_qubits"], dtype=dtype) - 0.5) * torch.pi
        pair.append(inputs.requires_grad_())
        torch.testing.assert_close(pair[0](inputs), pair[1](inputs), atol=1e-5, rtol=0)
    times = {name: ([], []) for name in rows}
    for round_ in range(args.rounds + 1):
        for name, (before, after, inputs) in rows.items():
            pair = seconds(before, inputs), seconds(after, inputs)
            if round_:  # the first round warms up
                times[name][0].append(pair[0])
                times[name][1].append(pair[1])
    load_average = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{args.rounds} rounds, {args.threads} threads, load average {load_average}")
    print(
        "| circuit | batch | before, ms (median, fastest) | after, ms (median, fastest) |", end=""
    )
    print(" after / before |\n|---|---|---|---|---|")
    for name, (before, after) in times.items():
        old = statistics.median(before) * 1e3, min(before) * 1e3
        new = statistics.median(after) * 1e3, min(after) * 1e3
        print(
            f"| {name} | {CIRCUITS[name][2]} | {old[0]:.2f}, {old[1]:.2f} | "
            f"{new[0]:.2f}, {new[1]:.2f} | {new[0] / old[0]:.2f}, {new[1] / old[1]:.2f} |"
        )


if __name__ == "__main__":
    main()
