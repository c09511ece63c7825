"""Encodings: how `VariationalClassifierCircuit` puts an input angle on each wire, from
``|0>``. The registry `ENCODINGS` is open: register a subclass of `Encoding` from your own file.

- ``"ry"``: ``RY(x)``, the study's; ``<Z> = cos x`` before the trainable gates, an even
  function, so the sign of ``x`` is lost when the gates that follow do not mix in ``X``;
- ``"rx"``: ``RX(x)``, the same ``<Z>`` with the state's phase on the other axis;
- ``"hadamard_ry"``: a Hadamard, then ``RY(x)`` (Mari et al. 2020, PennyLane's
  transfer-learning demo); ``<Z> = -sin x``, odd, so the sign is kept.
"""

from __future__ import annotations

from typing import Any

import pennylane as qml

from hqnn_lightning.quantum.registry import PartRegistry


class Encoding:
    """How input angles enter the wires: one self-contained part of a circuit.

    Subclass it, implement `operations`, and register it (``@ENCODINGS.register("name")``).
    """

    def operations(self, inputs: Any, wires: qml.wires.Wires) -> list[qml.operation.Operator]:
        """The gates that encode ``inputs`` ``(B, n_wires)`` or ``(n_wires,)`` (radians),
        input ``i`` on ``wires[i]``. They are built outside any queue; the circuit applies
        them, before every trainable layer with data re-uploading."""
        raise NotImplementedError


ENCODINGS: PartRegistry[Encoding] = PartRegistry("encoding", Encoding)
"""The encodings by name: ``ry``, ``rx`` and ``hadamard_ry`` built in."""


class AngleEncoding(Encoding):
    """One rotation about ``rotation`` per wire, ``qml.AngleEmbedding``.

    Args:
        rotation: ``"X"``, ``"Y"`` or ``"Z"``.
        hadamard: A Hadamard on every wire first.
    """

    def __init__(self, rotation: str, hadamard: bool = False) -> None:
        self.rotation = rotation
        self.hadamard = hadamard

    def operations(self, inputs: Any, wires: qml.wires.Wires) -> list[qml.operation.Operator]:
        hadamards = [qml.Hadamard(wire) for wire in wires] if self.hadamard else []
        return [*hadamards, qml.AngleEmbedding(inputs, wires=wires, rotation=self.rotation)]


ENCODINGS.register("ry")(AngleEncoding("Y"))
ENCODINGS.register("rx")(AngleEncoding("X"))
ENCODINGS.register("hadamard_ry")(AngleEncoding("Y", hadamard=True))
