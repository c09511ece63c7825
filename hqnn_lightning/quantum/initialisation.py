"""The starting values of a circuit's weights, the same whichever device runs it."""

from __future__ import annotations

import math

import torch

from hqnn_lightning.quantum.circuits import QuantumCircuit

QUANTUM_INITS = ("uniform", "normal", "identity")
"""How `initial_weights` draws a circuit's weights:

- ``"uniform"``: every angle uniform in ``[0, 2 pi)``, PennyLane's ``TorchLayer`` default;
- ``"normal"``: every angle from ``N(0, scale^2)``, near zero (Mari et al. 2020: 0.01);
- ``"identity"``: identity blocks (Grant et al. 2019) on a circuit built with them: each
  layer's angles uniform in ``[0, 2 pi)``, each mirror layer's their inverse, so the trainable
  part starts as the identity.
"""


def initial_weights(
    circuit: QuantumCircuit, init: str = "uniform", scale: float = 0.01
) -> dict[str, torch.Tensor]:
    """Draws the circuit's weights, ``{name: tensor of weight_shapes[name]}`` (radians, the
    default float dtype), from torch's global generator, in ``weight_shapes`` order: the same
    seed gives the same weights on every device.

    Args:
        circuit: A circuit description; one with fixed angles gets ``{}``.
        init: One of `QUANTUM_INITS`.
        scale: Standard deviation of ``"normal"`` (radians).

    Raises:
        ValueError: an unknown ``init``, a ``scale`` that is not positive, or ``"identity"``
            for a circuit without identity blocks.
    """
    if init not in QUANTUM_INITS:
        raise ValueError(f"unknown init {init!r}; known: {', '.join(QUANTUM_INITS)}")
    if not scale > 0:
        raise ValueError(f"the init scale must be positive, got {scale}")
    if init == "identity" and not getattr(circuit, "identity_blocks", False):
        raise ValueError(
            f"init='identity' needs a circuit built of identity blocks; {circuit} has none "
            "(VariationalClassifierCircuit(..., identity_blocks=True))"
        )
    weights = {}
    for name, shape in circuit.weight_shapes.items():
        if init == "normal":
            weights[name] = torch.randn(shape) * scale
        elif init == "identity" and name == "mirror_weights":
            weights[name] = circuit.inverse_weights(weights["weights"])
        else:
            weights[name] = torch.rand(shape) * (2 * math.pi)
    return weights
