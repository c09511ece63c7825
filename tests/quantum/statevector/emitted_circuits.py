"""Circuits the library does not define, for the tests of the backends that compile what a
circuit emits: random ones from the gate set, subclasses of the library's, one from scratch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pennylane as qml
from hypothesis import strategies as st

from hqnn_lightning.quantum import VariationalClassifierCircuit

ONE_WIRE = (
    "RX",
    "RY",
    "RZ",
    "PhaseShift",
    "Rot",
    "Hadamard",
    "PauliX",
    "PauliY",
    "PauliZ",
    "S",
    "T",
)
TWO_WIRES = ("CNOT", "CZ", "CRX", "CRY", "CRZ", "IsingXX", "IsingYY", "IsingZZ", "SWAP")
TEMPLATES = ("AngleEmbedding", "StronglyEntanglingLayers", "BasicEntanglerLayers")


def angle(spec: tuple, inputs: Any, weights: Any) -> Any:
    """A gate parameter: ``("input", j, a, b)`` is ``a x_j + b``, ``("weight", k, a, b)``
    ``a w_k + b``, ``("both", j, k, a, b, c)`` ``a x_j + b w_k + c``, ``("constant", v)``."""
    kind, *args = spec
    if kind == "input":
        j, a, b = args
        return a * inputs[..., j] + b
    if kind == "weight":
        k, a, b = args
        return a * weights[k] + b
    if kind == "both":
        j, k, a, b, c = args
        return a * inputs[..., j] + b * weights[k] + c
    return inputs.new_tensor(args[0])  # torch, as the other parameters: PennyLane mixes badly


def apply(op: tuple, inputs: Any, weights: Any, layers: Any) -> None:
    """Queues one operation: ``(name, wires, parameter specs)``; a template takes every wire."""
    name, wires, params = op
    if name == "AngleEmbedding":
        qml.AngleEmbedding(inputs, wires=range(inputs.shape[-1]), rotation=params[0])
    elif name in ("StronglyEntanglingLayers", "BasicEntanglerLayers"):
        n = inputs.shape[-1]
        template = getattr(qml, name)
        values = layers if name == "StronglyEntanglingLayers" else layers[..., 0]
        template(values, wires=range(n))
    else:
        gate = getattr(qml, name)
        gate(*(angle(p, inputs, weights) for p in params), wires=list(wires))


def measure(spec: tuple) -> Any:
    kind, wires = spec
    if kind == "z":
        return qml.expval(qml.PauliZ(wires[0]))
    if kind == "zz":
        return qml.expval(qml.PauliZ(wires[0]) @ qml.PauliZ(wires[1]))
    if kind == "sum":
        return qml.expval(0.5 * qml.PauliZ(wires[0]) - 2.0 * qml.PauliZ(wires[1]))
    return qml.probs(wires=list(wires))


@dataclass(frozen=True)
class RandomCircuit:
    """A circuit written from scratch: the `QuantumCircuit` protocol and nothing else."""

    n_qubits: int
    operations: tuple
    measurements: tuple
    n_weights: int
    bare: bool = False

    @property
    def n_outputs(self) -> int:
        return sum(2 ** len(w) if kind == "probs" else 1 for kind, w in self.measurements)

    @property
    def weight_shapes(self) -> dict[str, tuple[int, ...]]:
        return {"weights": (self.n_weights,), "layers": (1, self.n_qubits, 3)}

    def __call__(self, inputs: Any, weights: Any, layers: Any) -> Any:
        for op in self.operations:
            apply(op, inputs, weights, layers)
        results = [measure(spec) for spec in self.measurements]
        return results[0] if self.bare else results


def _parameter(draw: Any, n_qubits: int, n_weights: int) -> tuple:
    kind = draw(st.sampled_from(["input", "weight", "both", "constant"]))
    scale = st.floats(-3, 3, allow_nan=False).filter(lambda v: abs(v) > 0.1)
    offset = st.floats(-3, 3, allow_nan=False)
    x, w = st.integers(0, n_qubits - 1), st.integers(0, n_weights - 1)
    if kind == "input":
        return ("input", draw(x), draw(scale), draw(offset))
    if kind == "weight":
        return ("weight", draw(w), draw(scale), draw(offset))
    if kind == "both":
        return ("both", draw(x), draw(w), draw(scale), draw(scale), draw(offset))
    return ("constant", draw(offset))


@st.composite
def random_circuits(draw: Any, max_qubits: int = 5, max_gates: int = 14) -> RandomCircuit:
    """Random gates, wires and parameters (inputs, weights, affine mixes, constants), inputs
    read again mid-circuit, templates, and several measurements."""
    n = draw(st.integers(1, max_qubits))
    n_weights = draw(st.integers(1, 6))
    names = ONE_WIRE + (TWO_WIRES if n > 1 else ()) + TEMPLATES
    operations = []
    for _ in range(draw(st.integers(1, max_gates))):
        name = draw(st.sampled_from(names))
        if name == "AngleEmbedding":
            operations.append((name, (), (draw(st.sampled_from("XYZ")),)))
            continue
        if name in TEMPLATES:
            operations.append((name, (), ()))
            continue
        width = 1 if name in ONE_WIRE else 2
        wires = tuple(draw(st.permutations(range(n)))[:width])
        count = getattr(qml, name).num_params
        params = tuple(_parameter(draw, n, n_weights) for _ in range(count))
        operations.append((name, wires, params))
    reads_inputs = any(
        name == "AngleEmbedding" or any(p[0] in ("input", "both") for p in params)
        for name, _, params in operations
    )
    if not reads_inputs:  # TorchLayer needs outputs that depend on the inputs
        position = draw(st.integers(0, len(operations)))
        operations.insert(position, ("AngleEmbedding", (), (draw(st.sampled_from("XYZ")),)))
    kinds = ["z", "probs"] + (["zz", "sum"] if n > 1 else [])
    measurements = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(kinds))
        size = {"z": 1, "zz": 2, "sum": 2, "probs": draw(st.integers(1, min(n, 2)))}[kind]
        measurements.append((kind, tuple(draw(st.permutations(range(n)))[:size])))
    bare = len(measurements) == 1 and draw(st.booleans())
    return RandomCircuit(n, tuple(operations), tuple(measurements), n_weights, bare)


@dataclass(frozen=True)
class RingCircuit(VariationalClassifierCircuit):
    """A subclass that overrides ``__call__``: its own encoding, the parent's weights in a ring
    of CRZ gates, the inputs again, and <Z0 Z1> and probabilities."""

    def __call__(self, inputs: Any, weights: Any) -> list[Any]:
        n = self.n_qubits
        for wire in range(n):
            qml.RX(2.0 * inputs[..., wire] + 0.3, wires=wire)
        for layer in range(weights.shape[0]):
            for wire in range(n):
                qml.RY(weights[layer, wire, 0], wires=wire)
                qml.CRZ(weights[layer, wire, 1], wires=[wire, (wire + 1) % n])
            for wire in range(n):
                qml.RZ(inputs[..., wire] - weights[layer, wire, 2], wires=wire)
        return [qml.expval(qml.PauliZ(0) @ qml.PauliZ(1)), qml.probs(wires=[0, n - 1])]


@dataclass(frozen=True)
class PhaseEncodingCircuit(VariationalClassifierCircuit):
    """A subclass that overrides only its encoding (``encode``): ``H``, then ``RZ(x)`` and
    ``RY(x / 2)`` on every wire."""

    def encode(self, inputs: Any) -> None:
        for wire in range(self.n_qubits):
            qml.Hadamard(wire)
            qml.RZ(inputs[..., wire], wires=wire)
            qml.RY(0.5 * inputs[..., wire], wires=wire)


@dataclass(frozen=True)
class PixelFilter:
    """From scratch: ``RY(pi x_i)`` on each wire, gates of the weights and constants, ``<Z>``
    of every wire: the expansion's form."""

    n_qubits: int = 4
    n_outputs: int = 4

    @property
    def weight_shapes(self) -> dict[str, tuple[int, ...]]:
        return {"angles": (2,)}

    def __call__(self, inputs: Any, angles: Any) -> list[Any]:
        wires = range(self.n_qubits)
        for wire in wires:
            qml.RY(np.pi * inputs[..., wire], wires=wire)
        qml.CRX(angles[0], wires=[0, 1])
        qml.IsingZZ(angles[1] + 0.2, wires=[2, 3])
        qml.Hadamard(3)
        qml.CNOT([3, 0])
        return [qml.expval(qml.PauliZ(wire)) for wire in wires]
