"""Circuit parts a researcher could write in their own file, for the tests of the open
registries: registered by the ``custom_entanglers`` fixture (``tests/quantum/conftest.py``)."""

from __future__ import annotations

import pennylane as qml

from hqnn_lightning.quantum import Entangler


class CZRing(Entangler):
    """A researcher's entangler with ``(L, n)`` weights: ``RY`` on every wire, then a ring of
    ``CZ``; its mirror is the default, the adjoint of its gates."""

    min_wires = 2

    def shape(self, n_layers, n_wires):
        return n_layers, n_wires

    def layer(self, weights, index, wires):
        n = len(wires)
        rotations = [qml.RY(weights[i], wires=wire) for i, wire in enumerate(wires)]
        pairs = [(wires[i], wires[(i + 1) % n]) for i in range(n if n > 2 else 1)]
        return rotations + [qml.CZ(wires=pair) for pair in pairs]


class StrongTemplate(Entangler):
    """``StronglyEntanglingLayers`` whole, its mirror the template's adjoint (the default)."""

    def shape(self, n_layers, n_wires):
        return n_layers, n_wires, 3

    def layer(self, weights, index, wires):
        return [qml.StronglyEntanglingLayers(qml.math.expand_dims(weights, 0), wires=wires)]
