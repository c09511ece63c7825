"""The circuits of the library, as plain data that PennyLane can call.

Each circuit is a frozen dataclass: its fields describe it (qubits, depth, seed) and calling it
inside a QNode applies the gates. A description, unlike a closure, pickles (spawn-based DDP,
checkpoints), compares equal when it describes the same circuit, and can be compiled to other
back-ends from the same fields. Its ``__call__`` takes ``inputs`` and then exactly the names in
``weight_shapes``, as `pennylane.qnn.TorchLayer` requires: the `QuantumCircuit` contract that
every layer (`make_layer`) relies on.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar, Protocol

import numpy as np
import pennylane as qml

ENTANGLERS: dict[str, type[qml.operation.Operation]] = {
    "strong": qml.StronglyEntanglingLayers,
    "basic": qml.BasicEntanglerLayers,
}
ROTATIONS = ("X", "Y")


class QuantumCircuit(Protocol):
    """What a layer needs of a circuit description: ``n_qubits`` inputs per sample,
    ``n_outputs`` expectation values, the shapes of its trainable weights, and ``__call__``
    applying the gates inside a QNode."""

    @property
    def n_qubits(self) -> int: ...

    @property
    def n_outputs(self) -> int: ...

    @property
    def weight_shapes(self) -> dict[str, tuple[int, ...]]: ...

    def __call__(self, inputs: Any, **weights: Any) -> Any: ...


class CircuitDescription:
    """Base of the circuit descriptions: gives them the ``__name__`` PennyLane reads off a
    QNode's function (``TorchLayer.__str__``, ``qml.draw``)."""

    @property
    def __name__(self) -> str:
        return type(self).__name__


@dataclass(frozen=True)
class VariationalClassifierCircuit(CircuitDescription):
    """Angle encoding, trainable entangling layers, then ``<Z>`` on every wire.

    ``inputs`` of shape ``(B, n_qubits)`` (radians) enter as one rotation per wire
    (``AngleEmbedding``); ``q_depth`` layers of ``StronglyEntanglingLayers`` (``"strong"``) or
    ``BasicEntanglerLayers`` (``"basic"``) follow; the circuit returns ``n_qubits`` expectation
    values in ``[-1, 1]``. With ``reupload`` the encoding is repeated before every layer (data
    re-uploading, Perez-Salinas et al. 2020), so the outputs are trigonometric polynomials of
    degree up to ``q_depth`` in each input rather than of degree one; the weights and the
    layers are the same, layer ``l`` of ``StronglyEntanglingLayers`` keeping the CNOT range it
    has in the whole template.

    Args:
        n_qubits: Number of qubits, and of input features.
        q_depth: Number of entangling layers.
        entangler: ``"strong"`` or ``"basic"``.
        rotation: Axis of the encoding rotation, ``"X"`` or ``"Y"``.
        reupload: Encode the inputs again before every entangling layer.
    """

    n_qubits: int
    q_depth: int
    entangler: str = "strong"
    rotation: str = "Y"
    reupload: bool = False

    def __post_init__(self) -> None:
        if self.n_qubits < 1:
            raise ValueError(f"n_qubits must be at least 1, got {self.n_qubits}")
        if self.q_depth < 1:
            raise ValueError(f"q_depth must be at least 1, got {self.q_depth}")
        if self.entangler not in ENTANGLERS:
            raise ValueError(
                f"unknown entangler {self.entangler!r}; known: {', '.join(sorted(ENTANGLERS))}"
            )
        if self.rotation not in ROTATIONS:
            raise ValueError(f"rotation must be one of {ROTATIONS}, got {self.rotation!r}")

    @property
    def n_outputs(self) -> int:
        """Number of expectation values the circuit returns."""
        return self.n_qubits

    @property
    def weight_shapes(self) -> dict[str, tuple[int, ...]]:
        """Shapes of the trainable arguments, as ``TorchLayer`` takes them."""
        return {"weights": tuple(ENTANGLERS[self.entangler].shape(self.q_depth, self.n_qubits))}

    def entangling_layers(self, weights: Any) -> list[qml.operation.Operation]:
        """The trainable part, one template per encoding: ``weights`` of shape
        ``weight_shapes["weights"]`` (radians) as one template, or with ``reupload`` one
        single-layer template per layer, with the ``ranges`` the whole template gives it.

        The templates are built without being queued: a QNode records them where
        `__call__` applies them, after their encoding."""
        wires = range(self.n_qubits)
        template = ENTANGLERS[self.entangler]
        with qml.QueuingManager.stop_recording():
            if not self.reupload:
                return [template(weights, wires=wires)]
            layers = []
            for layer in range(self.q_depth):
                options = {}
                if self.entangler == "strong" and self.n_qubits > 1:
                    options["ranges"] = (layer % (self.n_qubits - 1) + 1,)
                layers.append(template(weights[layer : layer + 1], wires=wires, **options))
            return layers

    def __call__(self, inputs: Any, weights: Any) -> list[Any]:
        wires = range(self.n_qubits)
        for layer in self.entangling_layers(weights):
            qml.AngleEmbedding(inputs, wires=wires, rotation=self.rotation)
            qml.apply(layer)
        return [qml.expval(qml.PauliZ(wire)) for wire in wires]


@dataclass(frozen=True)
class QuanvolutionFilterCircuit(CircuitDescription):
    """A fixed random quanvolution filter on one ``kernel_size x kernel_size`` patch.

    Each of the ``kernel_size**2`` pixels (expected in ``[0, 1]``) is encoded as ``RY(pi * x)``
    on its own qubit, ``n_layers`` of ``RandomLayers`` with weights and gate choice fixed by
    ``seed`` follow, and ``<Z>`` of every qubit is returned: ``(B, k*k) -> (B, k*k)``. Nothing in
    it is trained, as in Henderson et al.'s quanvolutional networks.

    Args:
        kernel_size: Side of the square patch, 2 or 3 in the study (4 or 9 qubits).
        n_layers: Number of ``RandomLayers`` layers.
        seed: Seed of the random gates and of their angles.
    """

    kernel_size: int = 2
    n_layers: int = 1
    seed: int = 0

    weight_shapes: ClassVar[dict[str, tuple[int, ...]]] = {}

    def __post_init__(self) -> None:
        if self.kernel_size < 1:
            raise ValueError(f"kernel_size must be at least 1, got {self.kernel_size}")
        if self.n_layers < 1:
            raise ValueError(f"n_layers must be at least 1, got {self.n_layers}")

    @property
    def n_qubits(self) -> int:
        """One qubit per pixel of the patch."""
        return self.kernel_size**2

    @property
    def n_outputs(self) -> int:
        """Number of expectation values the circuit returns."""
        return self.n_qubits

    @cached_property
    def random_weights(self) -> np.ndarray:
        """The fixed rotation angles, shape ``(n_layers, n_qubits)``, radians in ``[0, 2 pi)``."""
        rng = np.random.default_rng(self.seed)
        return rng.uniform(0.0, 2.0 * np.pi, size=(self.n_layers, self.n_qubits))

    def random_layers(self, weights: Any) -> qml.RandomLayers:
        """The gates after the encoding, with angles ``weights`` of shape
        ``(n_layers, n_qubits)`` (radians); the gate choice is fixed by ``seed``."""
        return qml.RandomLayers(weights, wires=range(self.n_qubits), seed=self.seed)

    def __call__(self, inputs: Any) -> list[Any]:
        return self._apply(inputs, self.random_weights)

    def _apply(self, inputs: Any, weights: Any) -> list[Any]:
        wires = range(self.n_qubits)
        qml.AngleEmbedding(np.pi * inputs, wires=wires, rotation="Y")
        self.random_layers(weights)
        return [qml.expval(qml.PauliZ(wire)) for wire in wires]


@dataclass(frozen=True)
class TrainableQuanvolutionFilterCircuit(QuanvolutionFilterCircuit):
    """A quanvolution filter whose ``RandomLayers`` angles are trained.

    The gates are those of `QuanvolutionFilterCircuit` with the same ``seed``; their
    angles are the weight ``weights`` of shape ``(n_layers, n_qubits)`` (radians), which a
    layer initialises to `random_weights`, so training starts from the fixed filter.
    """

    @property
    def weight_shapes(self) -> dict[str, tuple[int, ...]]:  # type: ignore[override]
        """Shapes of the trainable arguments, as ``TorchLayer`` takes them."""
        return {"weights": (self.n_layers, self.n_qubits)}

    def __call__(self, inputs: Any, weights: Any) -> list[Any]:  # type: ignore[override]
        return self._apply(inputs, weights)
