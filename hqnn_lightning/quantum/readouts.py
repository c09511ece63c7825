"""Read-outs: what `VariationalClassifierCircuit` measures at its end. The registry
`READOUTS` is open: register a subclass of `Readout` from your own file.

- ``"z"``: ``<Z_i>`` of every wire, ``n`` values in ``[-1, 1]``.
- ``"zz"``: ``<Z_i>`` of every wire, then ``<Z_i Z_j>`` of every pair ``i < j`` in
  lexicographic order (``(0, 1), (0, 2), ..., (0, n-1), (1, 2), ...``): ``n + n(n-1)/2``
  values in ``[-1, 1]``.
- ``"probs"``: the ``2^n`` computational-basis probabilities, PennyLane's order (wire 0 the
  most significant bit: output ``k`` is the probability of the basis state whose wire ``i``
  holds bit ``(k >> (n - 1 - i)) & 1``), values in ``[0, 1]`` summing to 1.
"""

from __future__ import annotations

from itertools import combinations

import pennylane as qml

from hqnn_lightning.quantum.registry import PartRegistry


class Readout:
    """The measurements that end a circuit: one self-contained part of it.

    Subclass it, implement `n_outputs` and `measurements`, and register it
    (``@READOUTS.register("name")``).
    """

    def n_outputs(self, n_qubits: int) -> int:
        """Number of values the measurements return for ``n_qubits`` wires, per sample."""
        raise NotImplementedError

    def measurements(self, wires: qml.wires.Wires) -> list[qml.measurements.MeasurementProcess]:
        """The measurements, in the order of the outputs; called inside the QNode."""
        raise NotImplementedError


READOUTS: PartRegistry[Readout] = PartRegistry("read-out", Readout)
"""The read-outs by name: ``z``, ``zz`` and ``probs`` built in."""


@READOUTS.register("z")
class PauliZ(Readout):
    """``<Z>`` of every wire, in wire order: ``n_qubits`` values in ``[-1, 1]``."""

    def n_outputs(self, n_qubits: int) -> int:
        return n_qubits

    def measurements(self, wires: qml.wires.Wires) -> list[qml.measurements.MeasurementProcess]:
        return [qml.expval(qml.PauliZ(wire)) for wire in wires]


@READOUTS.register("zz")
class PauliZAndPairs(Readout):
    """``<Z_i>`` of every wire in wire order, then ``<Z_i Z_j>`` of every pair ``i < j`` in
    lexicographic order: ``n + n(n-1)/2`` values in ``[-1, 1]`` (21 for 6 qubits)."""

    def n_outputs(self, n_qubits: int) -> int:
        return n_qubits + n_qubits * (n_qubits - 1) // 2

    def measurements(self, wires: qml.wires.Wires) -> list[qml.measurements.MeasurementProcess]:
        singles = PauliZ().measurements(wires)  # queued first: a QNode returns them in order
        pairs = [qml.expval(qml.PauliZ(i) @ qml.PauliZ(j)) for i, j in combinations(wires, 2)]
        return singles + pairs


@READOUTS.register("probs")
class Probabilities(Readout):
    """The ``2^n`` computational-basis probabilities, wire 0 the most significant bit
    (PennyLane's ``qml.probs`` order): values in ``[0, 1]`` summing to 1 (64 for 6 qubits)."""

    def n_outputs(self, n_qubits: int) -> int:
        return 2**n_qubits

    def measurements(self, wires: qml.wires.Wires) -> list[qml.measurements.MeasurementProcess]:
        return [qml.probs(wires=wires)]
