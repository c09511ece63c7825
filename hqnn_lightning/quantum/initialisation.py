"""The starting values of a circuit's weights, the same whichever device runs it.

An initialisation only draws values: the circuit's structure, identity blocks included, and so
the shapes of its weights, are the circuit's (`VariationalClassifierCircuit.identity_blocks`).
The registry `INITIALISATIONS` is open: register a subclass of `Initialisation` from your own
file.

- ``"uniform"``: every angle uniform in ``[0, 2 pi)``, PennyLane's ``TorchLayer`` default;
- ``"normal"``: every angle from ``N(0, scale^2)``, near zero (Mari et al. 2020: 0.01);
- ``"identity"``: for a circuit built of identity blocks (Grant et al. 2019): each layer's
  angles uniform in ``[0, 2 pi)``, each mirror layer's their inverse, so the trainable part
  starts as the identity.
"""

from __future__ import annotations

import math

import torch

from hqnn_lightning.quantum import defaults
from hqnn_lightning.quantum.circuits import QuantumCircuit
from hqnn_lightning.quantum.registry import PartRegistry

Weights = dict[str, torch.Tensor]


class Initialisation:
    """How a circuit's weights are drawn: one self-contained part.

    Subclass it, implement `draw`, and register it (``@INITIALISATIONS.register("name")``).
    """

    def draw(self, circuit: QuantumCircuit, scale: float) -> Weights:
        """``{name: tensor of circuit.weight_shapes[name]}`` (radians, the default float
        dtype), drawn from torch's global generator in ``weight_shapes`` order.

        Args:
            circuit: The circuit description.
            scale: The initialisation's scale (radians), positive.

        Raises:
            ValueError: the initialisation does not apply to ``circuit``; the message names
                the fix.
        """
        raise NotImplementedError


INITIALISATIONS: PartRegistry[Initialisation] = PartRegistry("init", Initialisation)
"""The initialisations by name: ``uniform``, ``normal`` and ``identity`` built in."""


def _uniform(shape: tuple[int, ...]) -> torch.Tensor:
    return torch.rand(shape) * (2 * math.pi)


@INITIALISATIONS.register("uniform")
class Uniform(Initialisation):
    """Every angle uniform in ``[0, 2 pi)``; ``scale`` is not used."""

    def draw(self, circuit: QuantumCircuit, scale: float) -> Weights:
        return {name: _uniform(shape) for name, shape in circuit.weight_shapes.items()}


@INITIALISATIONS.register("normal")
class Normal(Initialisation):
    """Every angle from ``N(0, scale^2)``."""

    def draw(self, circuit: QuantumCircuit, scale: float) -> Weights:
        return {name: torch.randn(shape) * scale for name, shape in circuit.weight_shapes.items()}


@INITIALISATIONS.register("identity")
class Identity(Initialisation):
    """The layers' angles uniform in ``[0, 2 pi)``, the mirror's their inverse
    (``circuit.inverse_weights``), on a circuit with identity blocks; ``scale`` is not used."""

    def draw(self, circuit: QuantumCircuit, scale: float) -> Weights:
        if not circuit.weight_shapes:
            return {}
        if not getattr(circuit, "identity_blocks", False):
            raise ValueError(
                f"init='identity' needs a circuit built of identity blocks and {circuit} has "
                "none: build it with identity_blocks=True (--identity-blocks true), or choose "
                "init='uniform' or 'normal'"
            )
        weights = {}
        for name, shape in circuit.weight_shapes.items():
            if name == "mirror_weights":
                # A copy: an entangler's inverse may be the weights themselves, and two
                # parameters must not share their storage.
                weights[name] = circuit.inverse_weights(weights["weights"]).clone()
            else:
                weights[name] = _uniform(shape)
        return weights


def initial_weights(
    circuit: QuantumCircuit, init: str = defaults.INIT, scale: float = defaults.INIT_SCALE
) -> Weights:
    """Draws the circuit's weights, ``{name: tensor of weight_shapes[name]}`` (radians, the
    default float dtype), from torch's global generator, in ``weight_shapes`` order: the same
    seed gives the same weights on every device. Only values: the shapes are the circuit's.

    Args:
        circuit: A circuit description; one with fixed angles gets ``{}``.
        init: A name in `INITIALISATIONS`.
        scale: Standard deviation of ``"normal"`` (radians).

    Raises:
        ValueError: an unknown ``init``, a ``scale`` that is not positive, or ``"identity"``
            for a circuit without identity blocks.
    """
    initialisation = INITIALISATIONS.get(init)
    if not scale > 0:
        raise ValueError(f"the init scale must be positive, got {scale}")
    return initialisation.draw(circuit, scale)
