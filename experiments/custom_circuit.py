"""Your own circuit, exactly, with the public API only: ``python experiments/custom_circuit.py``.

1. A new entangler, ``cz_ring`` (``RY`` and ``RZ`` on every wire, then a ring of ``CZ``),
   registered from this file: `VariationalClassifierCircuit(entangler="cz_ring")` builds it,
   with identity blocks (its mirror is the adjoint of its layers, the `Entangler` default).
2. A subclass with an encoding of its own, `IQPCircuit`: a Hadamard and ``RZ(x_i)`` on every
   wire, then ``IsingZZ(x_i - x_{i+1})`` on neighbours, before the same trainable layers.
3. Both are checked against a PennyLane ``default.qubit`` QNode in float64: values and
   gradients with respect to the inputs and the weights agree to 1e-10.
4. A hybrid (`HybridVQC(circuit=...)`: small CNN -> 4 angles -> the circuit -> 10 classes)
   trains on the built-in digits on the exact ``"torch"`` backend, and the test accuracy is
   printed.

The torch backend runs what a circuit emits when called (its gates traced, not its fields), so
both circuits run there as written; one it cannot run would fall back to ``default.qubit``
with a warning naming the gate. Takes about a minute on 2 CPU cores.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

import lightning as L
import pennylane as qml
import torch

from hqnn_lightning import DigitsDataModule, HybridVQC
from hqnn_lightning.quantum import (
    ENTANGLERS,
    Entangler,
    QuantumCircuit,
    TorchStatevectorLayer,
    VariationalClassifierCircuit,
    make_device,
    make_layer,
)

TOLERANCE = 1e-10


@ENTANGLERS.register("cz_ring")
class CZRing(Entangler):
    """``RY(a)`` then ``RZ(b)`` on every wire, then ``CZ`` between each wire and the next, the
    last with the first: weights ``(L, n_wires, 2)`` (radians)."""

    min_wires = 2

    def shape(self, n_layers: int, n_wires: int) -> tuple[int, int, int]:
        return n_layers, n_wires, 2

    def layer(
        self, weights: Any, index: int, wires: qml.wires.Wires
    ) -> list[qml.operation.Operator]:
        rotations = [
            gate
            for i, wire in enumerate(wires)
            for gate in (qml.RY(weights[i, 0], wires=wire), qml.RZ(weights[i, 1], wires=wire))
        ]
        pairs = [(wires[i], wires[(i + 1) % len(wires)]) for i in range(len(wires))]
        return rotations + [qml.CZ(wires=pair) for pair in dict.fromkeys(pairs)]


@dataclass(frozen=True)
class IQPCircuit(VariationalClassifierCircuit):
    """`VariationalClassifierCircuit` with an IQP-style encoding of its own: a Hadamard and
    ``RZ(x_i)`` on wire ``i``, then ``IsingZZ(x_i - x_{i+1})`` on each pair of neighbours;
    inputs ``(B, n_qubits)`` in radians."""

    def __call__(self, inputs: Any, weights: Any, **mirror: Any) -> list[Any]:
        for wire in range(self.n_qubits):
            qml.Hadamard(wire)
            qml.RZ(inputs[..., wire], wires=wire)
        for wire in range(self.n_qubits - 1):
            qml.IsingZZ(inputs[..., wire] - inputs[..., wire + 1], wires=[wire, wire + 1])
        for operation in self.trainable_operations(weights, mirror.get("mirror_weights"))[0]:
            qml.apply(operation)
        return [qml.expval(qml.PauliZ(wire)) for wire in range(self.n_qubits)]


def largest_differences(circuit: QuantumCircuit, batch: int = 5) -> tuple[float, float]:
    """The largest difference between the torch backend and a ``default.qubit`` QNode (the
    same weights) in float64: in the outputs, and in the gradients of their sum with respect
    to the inputs and to every weight."""
    torch.set_default_dtype(torch.float64)
    try:
        fast = make_layer(circuit, make_device("torch", circuit.n_qubits))
        reference = make_layer(circuit, make_device("default.qubit", circuit.n_qubits))
        reference.load_state_dict(fast.state_dict())
    finally:
        torch.set_default_dtype(torch.float32)
    inputs = torch.rand(batch, circuit.n_qubits, dtype=torch.float64, requires_grad=True)
    values, gradients = [], []
    for layer in (fast, reference):
        inputs.grad = None
        layer.zero_grad()
        outputs = layer(inputs)
        outputs.sum().backward()
        values.append(outputs.detach())
        gradients.append(
            torch.cat([inputs.grad.flatten()] + [p.grad.flatten() for p in layer.parameters()])
        )
    return (values[0] - values[1]).abs().max().item(), (
        gradients[0] - gradients[1]
    ).abs().max().item()


def check(name: str, circuit: QuantumCircuit) -> None:
    """Prints the two differences of `largest_differences`; exits if either exceeds 1e-10 or if
    the circuit did not run on the torch state-vector backend."""
    layer = make_layer(circuit, make_device("torch", circuit.n_qubits))
    if not isinstance(layer, TorchStatevectorLayer):
        raise SystemExit(f"{name} did not run on the torch backend but on {type(layer).__name__}")
    value, gradient = largest_differences(circuit)
    print(f"{name}: torch vs default.qubit, values {value:.1e}, gradients {gradient:.1e}")
    if max(value, gradient) > TOLERANCE:
        raise SystemExit(
            f"{name}: the torch backend differs from default.qubit by more than {TOLERANCE}"
        )


def train(circuit: QuantumCircuit, epochs: int, seed: int) -> float:
    """Trains `HybridVQC` with ``circuit`` on digits for ``epochs``; its test top-1 accuracy."""
    L.seed_everything(seed, verbose=False)
    data = DigitsDataModule(seed=seed)
    data.setup()
    model = HybridVQC(
        num_classes=data.num_classes,
        arch="small_cnn",
        in_channels=data.num_channels,
        image_size=data.image_size,
        lr=3e-3,
        circuit=circuit,
    )
    trainer = L.Trainer(
        max_epochs=epochs,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(model, datamodule=data)
    (results,) = trainer.test(model, datamodule=data, verbose=False)
    return results["test/acc_top1"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15, help="training epochs of the hybrid")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split and the weights")
    args = parser.parse_args()
    ring = VariationalClassifierCircuit(n_qubits=4, q_depth=2, entangler="cz_ring")
    iqp = IQPCircuit(n_qubits=4, q_depth=2, entangler="cz_ring")
    check("cz_ring", ring)
    check("IQPCircuit(cz_ring)", iqp)
    accuracy = train(iqp, args.epochs, args.seed)
    model = "HybridVQC(circuit=IQPCircuit(cz_ring))"
    print(f"{model} on digits, {args.epochs} epochs: test top-1 {accuracy:.2%}")


if __name__ == "__main__":
    main()
