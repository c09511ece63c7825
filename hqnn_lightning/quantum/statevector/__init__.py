"""The exact torch state-vector backend of ``device="torch"`` for any circuit description.

`program` compiles a description into gates once, `simulator` runs them on a batch in plain
torch, and `layer` wraps both as `TorchStatevectorLayer`, with `QuantumLayer`'s contract.
"""

from hqnn_lightning.quantum.statevector.layer import TorchStatevectorLayer
from hqnn_lightning.quantum.statevector.program import StatevectorProgram, compile_circuit
from hqnn_lightning.quantum.statevector.simulator import StatevectorSimulator

__all__ = ["StatevectorProgram", "StatevectorSimulator", "TorchStatevectorLayer", "compile_circuit"]
