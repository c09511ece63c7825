"""Read-outs: what `VariationalClassifierCircuit` measures at its end. The registry
`READOUTS` is open: register a subclass of `Readout` from your own file.

- ``"z"``: ``<Z>`` of every wire, ``n_qubits`` values in ``[-1, 1]``.
"""

from __future__ import annotations

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
"""The read-outs by name: ``z`` built in."""


@READOUTS.register("z")
class PauliZ(Readout):
    """``<Z>`` of every wire, in wire order: ``n_qubits`` values in ``[-1, 1]``."""

    def n_outputs(self, n_qubits: int) -> int:
        return n_qubits

    def measurements(self, wires: qml.wires.Wires) -> list[qml.measurements.MeasurementProcess]:
        return [qml.expval(qml.PauliZ(wire)) for wire in wires]
