"""`make_layer`: the one place that picks the torch layer running a circuit on a device."""

from __future__ import annotations

import warnings
from typing import Any

from torch import nn

from hqnn_lightning.quantum.circuits import QuantumCircuit
from hqnn_lightning.quantum.defaults import INIT, INIT_SCALE
from hqnn_lightning.quantum.devices import TORCH_DEVICE, QuantumDevice, as_device, make_device
from hqnn_lightning.quantum.expansion.layer import ExpansionQuanvolution
from hqnn_lightning.quantum.expansion.match import expansion_mismatch
from hqnn_lightning.quantum.module import QuantumModule
from hqnn_lightning.quantum.pennylane_layer import QuantumLayer
from hqnn_lightning.quantum.statevector.layer import TorchStatevectorLayer
from hqnn_lightning.quantum.statevector.program import compile_circuit
from hqnn_lightning.quantum.statevector.tracing import UnsupportedCircuit

FALLBACK_DEVICE = "default.qubit"
"""Where a circuit the torch backend cannot run goes when no device was asked for."""


def layer_on_device(module: QuantumModule, device: QuantumDevice) -> nn.Module:
    """``module``, with its weights, running its circuits on ``device``: a layer that
    `make_layer` builds is built again for ``device``; any other quantum module (a
    `QuanvolutionLayer`, a researcher's own) moves itself with `QuantumModule.on_device`.

    Raises:
        NotImplementedError: a quantum module of another kind without an ``on_device``.
    """
    if not isinstance(module, QuantumLayer | TorchStatevectorLayer | ExpansionQuanvolution):
        return module.on_device(device)
    layer = make_layer(module.circuit, device, init="uniform")  # values replaced next
    layer.load_state_dict(module.state_dict())
    return layer


def make_layer(
    circuit: QuantumCircuit,
    device: str | QuantumDevice | None = None,
    init: str = INIT,
    init_scale: float = INIT_SCALE,
    **options: Any,
) -> nn.Module:
    """The layer that runs ``circuit`` on ``device``.

    - a PennyLane device: `QuantumLayer`, a `pennylane.qnn.TorchLayer`;
    - ``"torch"``: the circuit is compiled from the operations it emits (`compile_circuit`).
      A circuit the quanvolution expansion provably computes (``RY(pi x_i)`` opening each
      wire, no input after, ``<Z>`` of every wire; `expansion_mismatch`) gets
      `ExpansionQuanvolution`, its exact expansion, no simulator; any other,
      `TorchStatevectorLayer`, an exact state-vector simulation in torch (with the device's
      shots, always `TorchStatevectorLayer`, sampling the exact state). A circuit the
      backend cannot run (a gate without a torch matrix, a parameter that is not affine in the
      inputs and weights, a measurement that is not diagonal) is refused with a
      ``ValueError`` naming it;
    - ``None`` (the default): ``"torch"`` where it runs the circuit; otherwise `QuantumLayer`
      on ``default.qubit``, exact too, with one warning naming the reason. Never another
      circuit.

    The three layers hold the circuit's weights under the same names, so their state dicts are
    interchangeable; `QuanvolutionLayer` slides any of them over images.

    Args:
        circuit: A circuit description (see `circuits`), or any object with ``n_qubits``,
            ``n_outputs``, ``weight_shapes`` and ``__call__`` (`QuantumCircuit`).
        device: ``None``, a device name, or the validated device
            ``make_device(name, circuit.n_qubits, shots, ...)``.
        init: How the weights start, a name in `INITIALISATIONS` (default
            `quantum.defaults.INIT`; `initial_weights`), the same on every device.
        init_scale: Standard deviation of ``init="normal"`` (radians).
        **options: ``method`` (``"auto"``, ``"unitary"``, ``"gates"``) asks for
            `TorchStatevectorLayer` even where the expansion holds.

    Raises:
        ValueError: the device's wires differ from the circuit's qubits, or ``"torch"`` was
            asked for and cannot run the circuit.
    """
    explicit = device is not None
    device = as_device(TORCH_DEVICE if device is None else device, circuit.n_qubits)
    if device.name != TORCH_DEVICE:
        return QuantumLayer(circuit, device, init=init, init_scale=init_scale, **options)
    try:
        program = compile_circuit(circuit)
    except UnsupportedCircuit as error:
        if explicit:
            raise ValueError(
                f"{error}; run it on a PennyLane device (q_device='{FALLBACK_DEVICE}')"
            ) from None
        warnings.warn(f"{error}; running it on {FALLBACK_DEVICE} instead", stacklevel=2)
        fallback = make_device(FALLBACK_DEVICE, circuit.n_qubits)
        return QuantumLayer(circuit, fallback, init=init, init_scale=init_scale)
    if not options and device.shots is None and expansion_mismatch(program) is None:
        return ExpansionQuanvolution(circuit, program, init=init, init_scale=init_scale)
    return TorchStatevectorLayer(
        circuit, device, init=init, init_scale=init_scale, program=program, **options
    )
