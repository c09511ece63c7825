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
import torch


class SeparableLayers(qml.operation.Operation):
    """``StronglyEntanglingLayers`` without its CNOTs: layers of ``Rot`` gates, one per wire.

    The same single-qubit rotations, and the same weights ``(L, n_wires, 3)``, as the
    entangling template, so that a circuit built on it differs from the entangling one only by
    the absence of two-qubit gates: the entanglement ablation of Bowles, Ahmed and Schuld
    (2024). Its state stays a product state, so each wire's ``<Z>`` depends on that wire's
    input alone.

    Args:
        weights: Angles ``(L, n_wires, 3)`` (radians), each triple a ``Rot``'s
            ``(phi, theta, omega)``.
        wires: The wires it acts on.
    """

    grad_method = None

    def __init__(self, weights: Any, wires: Any, id: str | None = None) -> None:
        shape = qml.math.shape(weights)
        if len(shape) != 3 or shape[1:] != (len(qml.wires.Wires(wires)), 3):
            raise ValueError(f"weights must have shape (L, n_wires, 3), got {shape}")
        super().__init__(weights, wires=wires, id=id)

    @property
    def num_params(self) -> int:
        return 1

    @staticmethod
    def compute_decomposition(weights: Any, wires: Any) -> list[qml.operation.Operator]:
        """One ``Rot`` per wire per layer, layer by layer."""
        return [
            qml.Rot(*(weights[layer, i, k] for k in range(3)), wires=wire)
            for layer in range(qml.math.shape(weights)[0])
            for i, wire in enumerate(wires)
        ]

    @staticmethod
    def shape(n_layers: int, n_wires: int) -> tuple[int, int, int]:
        """Shape of the weights: ``(n_layers, n_wires, 3)``."""
        return n_layers, n_wires, 3


ENTANGLERS: dict[str, type[qml.operation.Operation]] = {
    "strong": qml.StronglyEntanglingLayers,
    "basic": qml.BasicEntanglerLayers,
    "separable": SeparableLayers,
}
ENCODINGS = ("ry", "rx", "hadamard_ry")
"""How `VariationalClassifierCircuit` encodes an angle ``x`` on a wire, from ``|0>``:

- ``"ry"``: ``RY(x)``, the study's; ``<Z> = cos x`` before the trainable gates, an even
  function, so the sign of ``x`` is lost when the gates that follow do not mix in ``X``;
- ``"rx"``: ``RX(x)``, the same ``<Z>`` with the state's phase on the other axis;
- ``"hadamard_ry"``: a Hadamard, then ``RY(x)`` (Mari et al. 2020, PennyLane's transfer-learning
  demo); ``<Z> = -sin x``, odd, so the sign is kept.
"""


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
    """Angle encoding, trainable layers, then ``<Z>`` on every wire.

    ``inputs`` of shape ``(B, n_qubits)`` (radians) enter as one rotation per wire (the
    ``encoding``, see `ENCODINGS`); ``q_depth`` layers of ``StronglyEntanglingLayers``
    (``"strong"``), ``BasicEntanglerLayers`` (``"basic"``) or the same rotations as
    ``"strong"`` without any two-qubit gate (``"separable"``, `SeparableLayers`) follow; the
    circuit returns ``n_qubits`` expectation values in ``[-1, 1]``.

    With ``reupload`` the encoding is repeated before every layer (data re-uploading,
    Perez-Salinas et al. 2020), so the outputs are trigonometric polynomials of degree up to
    ``q_depth`` in each input rather than of degree one; the weights and the layers are the
    same, layer ``l`` of ``StronglyEntanglingLayers`` keeping the CNOT range it has in the whole
    template.

    With ``identity_blocks`` the ``q_depth`` layers are followed by their mirror image (Grant et
    al. 2019): the layers in reverse order, each as its CNOTs in reverse order and then the
    same kind of rotation on every wire, whose angles are the weights ``mirror_weights``. When
    these are the layers' `inverse_weights`, the mirror undoes the layers and the trainable part
    is the identity (``init="identity"`` in `initial_weights`); the circuit has twice the gates
    and weights of the plain one. It needs ``q_depth >= 2``: a single layer's CNOTs meet their
    mirror's with nothing between them, so they would cancel whatever the angles, and the
    circuit would never entangle. Data re-uploading cannot be combined with it, since the
    re-encodings would sit between the layers and their mirror.

    Args:
        n_qubits: Number of qubits, and of input features.
        q_depth: Number of trainable layers (before the mirror, with ``identity_blocks``).
        entangler: ``"strong"``, ``"basic"`` or ``"separable"``.
        encoding: ``"ry"``, ``"rx"`` or ``"hadamard_ry"`` (see `ENCODINGS`).
        reupload: Encode the inputs again before every layer.
        identity_blocks: Follow the layers by their mirror image.
    """

    n_qubits: int
    q_depth: int
    entangler: str = "strong"
    encoding: str = "ry"
    reupload: bool = False
    identity_blocks: bool = False

    def __post_init__(self) -> None:
        if self.n_qubits < 1:
            raise ValueError(f"n_qubits must be at least 1, got {self.n_qubits}")
        if self.q_depth < 1:
            raise ValueError(f"q_depth must be at least 1, got {self.q_depth}")
        if self.entangler not in ENTANGLERS:
            raise ValueError(
                f"unknown entangler {self.entangler!r}; known: {', '.join(sorted(ENTANGLERS))}"
            )
        if self.identity_blocks and (self.q_depth < 2 or self.reupload):
            raise ValueError(
                "identity blocks (q_init='identity') need q_depth >= 2 (one layer's CNOTs would "
                "cancel its mirror's) and no data re-uploading (re-encodings would sit inside "
                f"the block); got q_depth={self.q_depth}, reupload={self.reupload}: use "
                "q_init='normal' for these"
            )
        if self.encoding not in ENCODINGS:
            raise ValueError(f"unknown encoding {self.encoding!r}; known: {', '.join(ENCODINGS)}")

    @property
    def n_outputs(self) -> int:
        """Number of expectation values the circuit returns."""
        return self.n_qubits

    @property
    def weight_shapes(self) -> dict[str, tuple[int, ...]]:
        """Shapes of the trainable arguments, as ``TorchLayer`` takes them: ``weights``, and
        ``mirror_weights`` of the same shape with ``identity_blocks``."""
        shape = tuple(ENTANGLERS[self.entangler].shape(self.q_depth, self.n_qubits))
        if self.identity_blocks:
            return {"weights": shape, "mirror_weights": shape}
        return {"weights": shape}

    def inverse_weights(self, weights: torch.Tensor) -> torch.Tensor:
        """The ``mirror_weights`` under which every mirror layer undoes its layer's rotations:
        ``Rot(phi, theta, omega)`` is undone by ``Rot(-omega, -theta, -phi)``, ``RX(theta)`` by
        ``RX(-theta)``. ``weights`` and the result have shape ``weight_shapes["weights"]``."""
        return -weights if self.entangler == "basic" else -weights.flip(-1)

    def trainable_operations(
        self, weights: Any, mirror_weights: Any = None
    ) -> list[list[qml.operation.Operator]]:
        """The trainable part, one list of operators per encoding: ``weights`` (and, with
        ``identity_blocks``, ``mirror_weights``) of shape ``weight_shapes["weights"]``
        (radians).

        Without re-uploading or identity blocks this is one template; otherwise one
        single-layer template per layer, with the ``ranges`` the whole template gives it,
        re-uploading making each layer its own list, identity blocks appending the mirror
        layers to the one list. The operators are built without being queued: a QNode records
        them where `__call__` applies them, after their encoding.
        """
        wires = range(self.n_qubits)
        template = ENTANGLERS[self.entangler]

        def layer(weights: Any, index: int) -> qml.operation.Operator:
            options = {}
            if self.entangler == "strong" and self.n_qubits > 1:
                options["ranges"] = (index % (self.n_qubits - 1) + 1,)
            return template(weights[index : index + 1], wires=wires, **options)

        with qml.QueuingManager.stop_recording():
            if not (self.reupload or self.identity_blocks):
                return [[template(weights, wires=wires)]]
            layers = [layer(weights, index) for index in range(self.q_depth)]
            if self.reupload:
                return [[each] for each in layers]
            for index in reversed(range(self.q_depth)):
                gates = layer(mirror_weights, index).decomposition()
                layers += [gate for gate in reversed(gates) if gate.name == "CNOT"]
                layers += [gate for gate in gates if gate.name != "CNOT"]
            return [layers]

    def encode(self, inputs: Any) -> None:
        """Applies the encoding of ``inputs`` ``(B, n_qubits)`` (radians) to every wire."""
        wires = range(self.n_qubits)
        if self.encoding == "hadamard_ry":
            for wire in wires:
                qml.Hadamard(wire)
        qml.AngleEmbedding(inputs, wires=wires, rotation="X" if self.encoding == "rx" else "Y")

    def __call__(self, inputs: Any, weights: Any, **mirror: Any) -> list[Any]:
        # Only a circuit with identity blocks gets ``mirror_weights``; TorchLayer accepts a
        # signature that names exactly the weight_shapes, or one that takes **kwargs.
        for operations in self.trainable_operations(weights, mirror.get("mirror_weights")):
            self.encode(inputs)
            for operation in operations:
                qml.apply(operation)
        return [qml.expval(qml.PauliZ(wire)) for wire in range(self.n_qubits)]


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
