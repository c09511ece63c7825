"""Entanglers: the trainable layers of `VariationalClassifierCircuit`, and their mirror
layers (identity blocks, Grant et al. 2019). The registry `ENTANGLERS` is open: register a
subclass of `Entangler` from your own file.

Built in, each a layer of PennyLane's templates (single-qubit rotations on every wire, then
CNOTs):

- ``"strong"``: ``StronglyEntanglingLayers``, weights ``(L, n, 3)``; layer ``l``'s CNOTs
  have the range the whole template gives it, ``l mod (n - 1) + 1``;
- ``"basic"``: ``BasicEntanglerLayers``, weights ``(L, n)``, ``RX`` and a ring of CNOTs;
- ``"separable"``: `SeparableLayers`, the rotations of ``"strong"`` without any two-qubit
  gate (the entanglement ablation of Bowles, Ahmed and Schuld 2024).
"""

from __future__ import annotations

from typing import Any

import pennylane as qml
import torch

from hqnn_lightning.quantum.registry import PartRegistry

Operators = list[qml.operation.Operator]


class Entangler:
    """One kind of trainable layer, as PennyLane's templates describe theirs: a weight shape,
    the gates of one layer (its decomposition), what it needs, and how its mirror undoes it.

    Subclass it, implement `shape` and `layer`, and register it
    (``@ENTANGLERS.register("name")``). The default mirror layer is the adjoint of the layer's
    gates, in reverse order, with mirror weights equal to the weights; override `mirror` and
    `inverse_weights` together for another parametrisation.

    Attributes:
        min_wires: The fewest wires a layer acts on.
    """

    min_wires: int = 1

    def shape(self, n_layers: int, n_wires: int) -> tuple[int, ...]:
        """Shape of the weights of ``n_layers`` layers on ``n_wires`` wires, the layer axis
        first: ``(n_layers, ...)``."""
        raise NotImplementedError

    def layer(self, weights: Any, index: int, wires: qml.wires.Wires) -> Operators:
        """The gates of layer ``index`` (from 0), built outside any queue.

        Args:
            weights: That layer's weights, ``shape(n_layers, n_wires)[1:]`` (radians).
            index: The layer's place in the circuit (a layer may depend on it, as the
                CNOT range of ``StronglyEntanglingLayers`` does).
            wires: The wires, ``n_wires >= min_wires``.
        """
        raise NotImplementedError

    def mirror(self, weights: Any, index: int, wires: qml.wires.Wires) -> Operators:
        """The gates of layer ``index``'s mirror, which undoes `layer` when ``weights`` are
        the `inverse_weights` of the layer's (arguments as `layer`'s). By default the
        adjoint of the layer's gates, in reverse order."""
        return [qml.adjoint(op, lazy=False) for op in reversed(self.layer(weights, index, wires))]

    def inverse_weights(self, weights: torch.Tensor) -> torch.Tensor:
        """The mirror weights under which every mirror layer undoes its layer: by default the
        weights themselves. ``weights`` and the result have shape ``shape(L, n)``."""
        return weights


ENTANGLERS: PartRegistry[Entangler] = PartRegistry("entangler", Entangler)
"""The entanglers by name: ``strong``, ``basic`` and ``separable`` built in."""


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
    def compute_decomposition(weights: Any, wires: Any) -> Operators:
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


class TemplateLayers(Entangler):
    """A layer of a PennyLane template whose layers are single-qubit rotations on every wire,
    then CNOTs: one layer of ``template``, with the weights of that layer.

    Its mirror is the layer's CNOTs in reverse order, then the same kind of rotation on every
    wire with the mirror weights; `inverse_weights` negates each angle and, for ``Rot``,
    reverses its three (``Rot(phi, theta, omega)`` is undone by ``Rot(-omega, -theta, -phi)``).

    Args:
        template: The template class, with ``shape(n_layers, n_wires)``.
    """

    def __init__(self, template: type[qml.operation.Operation]) -> None:
        self.template = template

    def shape(self, n_layers: int, n_wires: int) -> tuple[int, ...]:
        return tuple(self.template.shape(n_layers, n_wires))

    def layer(self, weights: Any, index: int, wires: qml.wires.Wires) -> Operators:
        layer_weights = qml.math.expand_dims(weights, 0)
        return [self.template(layer_weights, wires=wires, **self.options(index, len(wires)))]

    def options(self, index: int, n_wires: int) -> dict[str, Any]:
        """Keyword arguments of layer ``index``'s template."""
        return {}

    def mirror(self, weights: Any, index: int, wires: qml.wires.Wires) -> Operators:
        (template,) = self.layer(weights, index, wires)
        gates = template.decomposition()
        cnots = [gate for gate in reversed(gates) if gate.name == "CNOT"]
        return cnots + [gate for gate in gates if gate.name != "CNOT"]

    def inverse_weights(self, weights: torch.Tensor) -> torch.Tensor:
        return -weights.flip(-1)


class StronglyEntangling(TemplateLayers):
    """``StronglyEntanglingLayers``, layer ``l``'s CNOTs of range ``l mod (n - 1) + 1``, as
    in the whole template."""

    def __init__(self) -> None:
        super().__init__(qml.StronglyEntanglingLayers)

    def options(self, index: int, n_wires: int) -> dict[str, Any]:
        return {"ranges": (index % (n_wires - 1) + 1,)} if n_wires > 1 else {}


class BasicEntangling(TemplateLayers):
    """``BasicEntanglerLayers``: ``RX`` on every wire, then a ring of CNOTs; weights
    ``(L, n)``, each undone by its negative."""

    def __init__(self) -> None:
        super().__init__(qml.BasicEntanglerLayers)

    def inverse_weights(self, weights: torch.Tensor) -> torch.Tensor:
        return -weights


ENTANGLERS.register("strong")(StronglyEntangling)
ENTANGLERS.register("basic")(BasicEntangling)
ENTANGLERS.register("separable")(TemplateLayers(SeparableLayers))
