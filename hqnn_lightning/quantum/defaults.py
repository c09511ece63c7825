"""The one default of each quantum choice, used by the circuits, the layers, the QNode builders
and the models alike, so that the quantum API on its own builds the circuit the models train.

The defaults are the trainable ones that ``docs/trainability.md`` chose on the study's data:
a Hadamard before each ``RY`` encoding (the angle's sign survives in ``<Z>``) and identity
blocks whose mirror starts as the inverse of the layers (the circuit starts as the identity).
The study's own circuit is ``encoding="ry"``, ``identity_blocks=False``, ``init="uniform"``.
"""

from __future__ import annotations

ENCODING = "hadamard_ry"
"""How an input angle enters its qubit (a name in the encodings' registry)."""

ENTANGLER = "strong"
"""The trainable layer (a name in the entanglers' registry): ``StronglyEntanglingLayers``."""

READOUT = "z"
"""What the circuit measures (a name in the read-outs' registry): ``<Z>`` of every wire."""

IDENTITY_BLOCKS = True
"""Follow the trainable layers by their mirror image (Grant et al. 2019): a structure, with
twice the weights; ``INIT="identity"`` then starts the circuit at the identity."""

INIT = "identity"
"""How the weights start (a name in the initialisations' registry)."""

INIT_SCALE = 0.01
"""Standard deviation of ``init="normal"``, radians."""

DEVICE = "torch"
"""The device a layer runs on: the library's exact torch simulation."""
