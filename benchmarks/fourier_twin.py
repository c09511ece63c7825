"""What ``hybrid_fourier``'s bottleneck costs beside the circuit it twins.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/fourier_twin.py [--batch 256 --repeats 11]

For 4, 6, 8, 10 and 12 qubits: the default hybrid's circuit (``hadamard_ry``, 3
``StronglyEntanglingLayers`` and their mirror, ``<Z>`` of every wire) on the library's exact
``torch`` simulator, float32; its twin's head (`FourierFeatures` at the default order, then
``Linear(n_features, n)``); and ``hybrid_control_matched``'s small MLP
(``tanh(Linear(h, n)(tanh(Linear(n, h))))``). Each is timed forward + backward (gradients of
the angles and the weights, as in training; the ms columns) and forward only without
gradients (evaluation; the last column) on a batch of angles in ``(-pi/2, pi/2)``, all six
interleaved in one run (`median_times`), so the ratios compare like with like.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import torch
from quantum_layers import Variant, conditions, forward_backward, head_inputs, median_times
from torch import nn

from hqnn_lightning.models.fourier_features import FourierFeatures, default_order
from hqnn_lightning.models.hybrid import circuit_parameters
from hqnn_lightning.models.hybrid_control import matched_hidden_width
from hqnn_lightning.quantum import VariationalClassifierCircuit, make_layer


def layers(n_qubits: int) -> dict[str, nn.Module]:
    """The circuit, its twin's head and the matched MLP, each ``(B, n) -> (B, n)``."""
    circuit = make_layer(VariationalClassifierCircuit(n_qubits, 3), "torch")
    features = FourierFeatures(n_qubits, 1, default_order(n_qubits, 1))
    hidden = matched_hidden_width(n_qubits, circuit_parameters(n_qubits, 3))
    return {
        "circuit": circuit,
        "twin": nn.Sequential(features, nn.Linear(features.n_features, n_qubits)),
        "mlp": nn.Sequential(
            nn.Linear(n_qubits, hidden), nn.Tanh(), nn.Linear(hidden, n_qubits), nn.Tanh()
        ),
    }


def forward_only(layer: nn.Module, inputs: torch.Tensor) -> Callable[[], object]:
    """One evaluation pass through ``layer``, without gradients."""

    def run() -> None:
        with torch.no_grad():
            layer(inputs)

    return run


def count(layer: nn.Module) -> int:
    """Trainable parameters of ``layer``."""
    return sum(p.numel() for p in layer.parameters())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=11)
    parser.add_argument("--qubits", type=int, nargs="+", default=[4, 6, 8, 10, 12])
    args = parser.parse_args()
    print(
        f"\nhybrid_fourier's head against the circuit it twins, batch {args.batch}, float32, "
        f"forward + backward, median of {args.repeats} interleaved rounds. {conditions()}\n"
    )
    print(
        "| qubits | order | features | twin params | circuit params | circuit ms | twin ms "
        "| small MLP ms | circuit / twin | forward only: circuit / twin |\n"
        "|---|---|---|---|---|---|---|---|---|---|"
    )
    for n_qubits in args.qubits:
        built = layers(n_qubits)
        inputs = head_inputs(args.batch, n_qubits)
        variants = [
            Variant(f"{name} {mode}", make(layer, inputs), args.repeats)
            for name, layer in built.items()
            for mode, make in (("train", forward_backward), ("eval", forward_only))
        ]
        times = median_times(variants)
        twin = built["twin"]
        print(
            f"| {n_qubits} | {twin[0].order} | {twin[0].n_features:,} | {count(twin):,} "
            f"| {count(built['circuit']):,} | {times['circuit train'] * 1e3:.2f} "
            f"| {times['twin train'] * 1e3:.2f} | {times['mlp train'] * 1e3:.2f} "
            f"| {times['circuit train'] / times['twin train']:.1f}x "
            f"| {times['circuit eval'] / times['twin eval']:.1f}x |"
        )


if __name__ == "__main__":
    main()
