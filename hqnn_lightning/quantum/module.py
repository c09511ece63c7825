"""`QuantumModule`: the one way to find the quantum part of any model.

A module that runs circuits (the library's layers, or a researcher's own) subclasses
`QuantumModule`. Everything that treats circuits apart finds them through `quantum_modules`:
the circuits' own learning rate (``q_lr``), parameter counts, the trainability monitor, the
count of circuit executions before paid hardware, and hardware evaluation, which moves each
quantum module to another device (`quantum.factory.layer_on_device`: the layers `make_layer`
builds are built again there; any other quantum module moves itself, `QuantumModule.on_device`).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
from torch import nn

if TYPE_CHECKING:
    from hqnn_lightning.quantum.devices import QuantumDevice


class QuantumModule(nn.Module):
    """Base of a module whose parameters are circuit weights (angles, radians) and whose
    forward runs circuits.

    Subclasses may override `circuit_executions` (one circuit per input row by default),
    `on_device` (needed to evaluate a module that `make_layer` does not build on another
    device) and `device_wires` (the
    qubits of the circuit held as ``self.circuit`` by default).
    """

    def circuit_executions(self, inputs: torch.Tensor) -> int:
        """Circuits one call ``self(inputs)`` runs: one per row of ``(..., n_inputs)``."""
        return math.prod(inputs.shape[:-1])

    def on_device(self, device: QuantumDevice) -> nn.Module:
        """The same module, with the same weights, running its circuits on ``device``.

        Raises:
            NotImplementedError: the module does not say how to move to another device.
        """
        raise NotImplementedError(
            f"{type(self).__name__} cannot run on another device: give it an on_device(device) "
            "method (hqnn_lightning.quantum.QuantumModule)"
        )

    def device_wires(self) -> int:
        """Wires of the device `on_device` is given: the qubits of the module's circuit
        description, ``self.circuit.n_qubits`` (where the library's modules keep it).

        Raises:
            NotImplementedError: the module holds no circuit description and does not
                override this.
        """
        circuit = getattr(self, "circuit", None)
        if not isinstance(getattr(circuit, "n_qubits", None), int):
            raise NotImplementedError(
                f"{type(self).__name__} does not say how many qubits its circuits use: give it "
                "a device_wires() method (hqnn_lightning.quantum.QuantumModule)"
            )
        return circuit.n_qubits


def quantum_modules(model: nn.Module) -> dict[str, QuantumModule]:
    """The outermost `QuantumModule` s of ``model`` by their qualified names (``""`` for the
    model itself): a quantum module inside another (a quanvolution's filter) is part of it."""
    found: dict[str, QuantumModule] = {}
    for name, module in model.named_modules():
        if isinstance(module, QuantumModule) and not any(
            name == outer or name.startswith(f"{outer}.") or outer == "" for outer in found
        ):
            found[name] = module
    return found


def quantum_parameters(model: nn.Module) -> list[nn.Parameter]:
    """The circuits' weights (angles, radians): the parameters of ``model``'s quantum
    modules."""
    return [p for module in quantum_modules(model).values() for p in module.parameters()]
