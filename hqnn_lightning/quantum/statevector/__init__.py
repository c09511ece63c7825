"""The exact torch state-vector backend of ``device="torch"`` for any circuit.

`tracing` reads what a circuit emits (its gates, each parameter as an affine function of the
inputs and weights, its read-out), `program` arranges it for the simulator
(`compile_circuit`), `gates` and `parameters` make the gate matrices in torch, `simulator`
runs them on a batch, and `layer` wraps all of it as `TorchStatevectorLayer`, with
`QuantumLayer`'s contract.
"""

from hqnn_lightning.quantum.statevector.layer import TorchStatevectorLayer
from hqnn_lightning.quantum.statevector.program import StatevectorProgram, compile_circuit
from hqnn_lightning.quantum.statevector.simulator import StatevectorSimulator
from hqnn_lightning.quantum.statevector.tracing import UnsupportedCircuit

__all__ = [
    "StatevectorProgram",
    "StatevectorSimulator",
    "TorchStatevectorLayer",
    "UnsupportedCircuit",
    "compile_circuit",
]
