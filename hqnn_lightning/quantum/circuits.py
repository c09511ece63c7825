"""The circuits of the library, as plain data that PennyLane can call.

Each circuit is a frozen dataclass: its fields describe it (qubits, depth, seed) and calling it
inside a QNode applies the gates. A description, unlike a closure, pickles (spawn-based DDP,
checkpoints), compares equal when it describes the same circuit, and can be compiled to other
back-ends from the gates it emits when called (never from its fields, so a subclass runs as
written). Its ``__call__`` takes ``inputs`` and then exactly the names in
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

from hqnn_lightning.preflight.circuit_shapes import check_circuit_shape
from hqnn_lightning.quantum import defaults
from hqnn_lightning.quantum.encodings import ENCODINGS
from hqnn_lightning.quantum.entanglers import ENTANGLERS, SeparableLayers
from hqnn_lightning.quantum.readouts import READOUTS

__all__ = [
    "ENCODINGS",
    "ENTANGLERS",
    "READOUTS",
    "CircuitDescription",
    "QuantumCircuit",
    "QuanvolutionFilterCircuit",
    "SeparableLayers",
    "TrainableQuanvolutionFilterCircuit",
    "VariationalClassifierCircuit",
]


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
    """An encoding, trainable layers, then a read-out, each a registered part named by its
    field.

    ``inputs`` of shape ``(B, n_qubits)`` (radians) enter as one rotation per wire (the
    ``encoding``, a name in `ENCODINGS`); ``q_depth`` layers of the ``entangler`` (a name in
    `ENTANGLERS`: ``"strong"`` StronglyEntanglingLayers, ``"basic"`` BasicEntanglerLayers,
    ``"separable"`` the rotations of ``"strong"`` without two-qubit gates) follow; the
    ``readout`` (a name in `READOUTS`; ``"z"``, ``<Z>`` of every wire) returns ``n_outputs``
    values. The defaults are `hqnn_lightning.quantum.defaults`'.

    With ``reupload`` the encoding is repeated before every layer (data re-uploading,
    Perez-Salinas et al. 2020), so the outputs are trigonometric polynomials of degree up to
    ``q_depth`` in each input rather than of degree one; the weights and the layers are the
    same.

    With ``identity_blocks`` the ``q_depth`` layers are followed by their mirror image (Grant et
    al. 2019): the layers' mirrors (`Entangler.mirror`) in reverse order, whose angles are the
    weights ``mirror_weights``. When these are the layers' `inverse_weights`, the mirror undoes
    the layers and the trainable part is the identity (``init="identity"`` in
    `initial_weights`); the circuit has twice the gates and weights of the plain one. It
    needs ``q_depth >= 2``: a single layer's entangling gates meet their mirror's with nothing
    between them, so they would cancel whatever the angles, and the circuit would never
    entangle. Data re-uploading cannot be combined with it, since the re-encodings would sit
    between the layers and their mirror.

    Args:
        n_qubits: Number of qubits, and of input features.
        q_depth: Number of trainable layers (before the mirror, with ``identity_blocks``).
        entangler: The trainable layer, a name in `ENTANGLERS`.
        encoding: How an input enters its wire, a name in `ENCODINGS`.
        reupload: Encode the inputs again before every layer.
        identity_blocks: Follow the layers by their mirror image.
        readout: What is measured, a name in `READOUTS`.
    """

    n_qubits: int
    q_depth: int
    entangler: str = defaults.ENTANGLER
    encoding: str = defaults.ENCODING
    reupload: bool = False
    identity_blocks: bool = defaults.IDENTITY_BLOCKS
    readout: str = defaults.READOUT

    def __post_init__(self) -> None:
        check_circuit_shape(self.n_qubits, self.q_depth, self.identity_blocks, self.reupload)
        entangler = ENTANGLERS.get(self.entangler)
        ENCODINGS.get(self.encoding)
        READOUTS.get(self.readout)
        if self.n_qubits < entangler.min_wires:
            raise ValueError(
                f"entangler {self.entangler!r} needs at least {entangler.min_wires} qubits, "
                f"got n_qubits={self.n_qubits}"
            )

    @property
    def n_outputs(self) -> int:
        """Number of values the circuit returns per sample (the read-out's)."""
        return READOUTS.get(self.readout).n_outputs(self.n_qubits)

    @property
    def weight_shapes(self) -> dict[str, tuple[int, ...]]:
        """Shapes of the trainable arguments, as ``TorchLayer`` takes them: ``weights``, and
        ``mirror_weights`` of the same shape with ``identity_blocks``."""
        shape = tuple(ENTANGLERS.get(self.entangler).shape(self.q_depth, self.n_qubits))
        if self.identity_blocks:
            return {"weights": shape, "mirror_weights": shape}
        return {"weights": shape}

    def inverse_weights(self, weights: torch.Tensor) -> torch.Tensor:
        """The ``mirror_weights`` under which every mirror layer undoes its layer, the
        entangler's (`Entangler.inverse_weights`). ``weights`` and the result have shape
        ``weight_shapes["weights"]``."""
        return ENTANGLERS.get(self.entangler).inverse_weights(weights)

    def trainable_operations(
        self, weights: Any, mirror_weights: Any = None
    ) -> list[list[qml.operation.Operator]]:
        """The trainable part, one list of operators per encoding: ``weights`` (and, with
        ``identity_blocks``, ``mirror_weights``) of shape ``weight_shapes["weights"]``
        (radians).

        Each layer is the entangler's `Entangler.layer` with that layer's weights;
        re-uploading makes each layer its own list, identity blocks append the mirror layers
        (`Entangler.mirror`), last layer's first, to the one list. The operators are built
        without being queued: a QNode records them where `__call__` applies them, after their
        encoding.
        """
        wires = qml.wires.Wires(range(self.n_qubits))
        entangler = ENTANGLERS.get(self.entangler)
        with qml.QueuingManager.stop_recording():
            layers = [entangler.layer(weights[i], i, wires) for i in range(self.q_depth)]
            if self.reupload:
                return layers
            operations = [op for layer in layers for op in layer]
            if self.identity_blocks:
                for index in reversed(range(self.q_depth)):
                    operations += entangler.mirror(mirror_weights[index], index, wires)
            return [operations]

    def __call__(self, inputs: Any, weights: Any, **mirror: Any) -> list[Any]:
        # Only a circuit with identity blocks gets ``mirror_weights``; TorchLayer accepts a
        # signature that names exactly the weight_shapes, or one that takes **kwargs.
        wires = qml.wires.Wires(range(self.n_qubits))
        encoding = ENCODINGS.get(self.encoding)
        for operations in self.trainable_operations(weights, mirror.get("mirror_weights")):
            with qml.QueuingManager.stop_recording():
                encoded = encoding.operations(inputs, wires)
            for operation in [*encoded, *operations]:
                qml.apply(operation)
        return READOUTS.get(self.readout).measurements(wires)


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
