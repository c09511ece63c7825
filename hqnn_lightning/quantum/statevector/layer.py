"""A circuit description on the library's torch state-vector simulator, as a torch layer."""

from __future__ import annotations

import torch
from torch import nn

from hqnn_lightning.quantum.circuits import QuantumCircuit
from hqnn_lightning.quantum.defaults import INIT, INIT_SCALE
from hqnn_lightning.quantum.devices import TORCH_DEVICE, QuantumDevice, as_device
from hqnn_lightning.quantum.initialisation import initial_weights
from hqnn_lightning.quantum.module import QuantumModule
from hqnn_lightning.quantum.statevector.program import StatevectorProgram, compile_circuit
from hqnn_lightning.quantum.statevector.sampling import sampled_frequencies
from hqnn_lightning.quantum.statevector.simulator import Method, StatevectorSimulator


class TorchStatevectorLayer(QuantumModule):
    """`QuantumLayer`'s contract, simulated exactly in plain torch (``device="torch"``).

    ``forward`` maps ``(..., n_qubits)`` inputs (radians) to ``(..., n_outputs)`` outputs
    (expectation values, probabilities), as ``TorchLayer`` does: ``(...)`` for a circuit that
    returns one bare expectation value; all leading dimensions form one batch. The circuit is
    compiled from the operations it emits (`compile_circuit`); one the backend cannot run is
    refused with `UnsupportedCircuit` (a ``ValueError``) naming the gate, parameter or
    measurement. The trainable weights are the circuit's
    ``weight_shapes`` under the same names (``weights``), drawn by `initial_weights` as
    `QuantumLayer`'s are, so the same seed gives the same layer and state dicts move between the
    two. A circuit
    without weights (`QuanvolutionFilterCircuit`) has no parameters.

    The simulation (`StatevectorSimulator`) is differentiable by autograd with respect to inputs
    and weights, runs on the device of its inputs (CPU or CUDA) and in their precision: float64
    inputs and weights give complex128 amplitudes and float64 outputs, float32 complex64 and
    float32 (the wider of the two dtypes wins; narrower floats compute in float32; a circuit's
    constant angles follow the inputs). It agrees with ``default.qubit`` to rounding.
    The layer pickles and deep-copies as any module does.

    With shots (``make_device("torch", n, shots=S, seed=K)``) each sample's outputs are
    estimated from ``S`` basis states drawn from its exact probabilities
    (`sampled_frequencies`): ``probs`` as counts / ``S``, ``<Z_i>`` and ``<Z_i Z_j>`` as means
    of ``(-1)`` to the bits, all from the same draws. The draws come from the layer's own
    ``torch.Generator``, seeded with ``K`` (default 0) on the device of the first batch; each
    call draws the next samples, rows in order, so the batches of an evaluation are
    independent draws and the same seed and batches in the same order give the same estimates.
    Samples have no gradient: a call with gradients enabled (training) is refused, and the
    layer evaluates under ``torch.no_grad()`` or inference mode.

    Args:
        circuit: A circuit description such as `VariationalClassifierCircuit`.
        device: ``"torch"``, or its `QuantumDevice` from `make_device` (as `make_layer`
            passes it; then without shots or diff method here).
        shots: ``None`` (exact), or the samples per input that each output is estimated from.
        diff_method: ``None``, ``"backprop"`` (autograd, exact) or ``"none"`` (with shots).
        method: ``"unitary"``, ``"gates"`` or ``"auto"`` (see `StatevectorSimulator`).
        init: How the weights start, a name in `INITIALISATIONS` (default `quantum.defaults.INIT`).
        init_scale: Standard deviation of ``init="normal"`` (radians).
        program: The circuit's compiled program, if already compiled (`make_layer`).
    """

    def __init__(
        self,
        circuit: QuantumCircuit,
        device: str | QuantumDevice = TORCH_DEVICE,
        shots: int | None = None,
        diff_method: str | None = None,
        method: Method = "auto",
        init: str = INIT,
        init_scale: float = INIT_SCALE,
        program: StatevectorProgram | None = None,
    ) -> None:
        super().__init__()
        self.quantum_device = as_device(device, circuit.n_qubits, shots, diff_method)
        if self.quantum_device.name != TORCH_DEVICE:
            raise ValueError(
                f"TorchStatevectorLayer runs on device='torch', got {self.quantum_device.name!r}"
            )
        self.circuit = circuit
        program = compile_circuit(circuit) if program is None else program
        self.simulator = StatevectorSimulator(program, method)
        self.generator: torch.Generator | None = None  # made on the first sampled batch's device
        for name, weight in initial_weights(circuit, init, init_scale).items():
            self.register_parameter(name, nn.Parameter(weight))

    def weights_vector(self) -> torch.Tensor | None:
        """The weights flattened in ``weight_shapes`` order, ``(n_weights,)`` radians; ``None``
        for a circuit without weights."""
        flat = [getattr(self, name).flatten() for name in self.circuit.weight_shapes]
        if not flat:
            return None
        return flat[0] if len(flat) == 1 else torch.cat(flat)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """``(..., n_qubits) -> (..., n_outputs)``, in the wider float dtype of inputs and
        weights (at least float32)."""
        n = self.circuit.n_qubits
        if inputs.shape[-1] != n:
            raise ValueError(
                f"{type(self.circuit).__name__} takes {n} features per sample, got inputs of "
                f"shape {tuple(inputs.shape)}"
            )
        weights = self.weights_vector()
        dtype = inputs.dtype
        if weights is not None:
            dtype = torch.promote_types(dtype, weights.dtype)
        if dtype != torch.float64:
            dtype = torch.float32
        if weights is not None:
            weights = weights.to(dtype)
        # Mixed precision would run the real products in bfloat16; the layer stays exact.
        with torch.autocast(inputs.device.type, enabled=False):
            if self.quantum_device.shots is None:
                out = self.simulator(inputs.reshape(-1, n).to(dtype), weights)
            else:
                out = self._sampled(inputs.reshape(-1, n).to(dtype), weights)
        if self.simulator.program.squeeze:
            return out.reshape(inputs.shape[:-1])
        return out.reshape(*inputs.shape[:-1], out.shape[-1])

    def _sampled(self, inputs: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
        """``(B, n)`` -> ``(B, n_outputs)`` estimated from the device's shots."""
        if torch.is_grad_enabled() and (
            inputs.requires_grad or (weights is not None and weights.requires_grad)
        ):
            raise RuntimeError(
                f"shots={self.quantum_device.shots} on the torch backend are samples without a "
                "gradient: evaluate under torch.no_grad(), train exactly (no shots), or train "
                "with shots on q_device='default.qubit' (parameter-shift)"
            )
        if self.generator is None or self.generator.device != inputs.device:
            seed = self.quantum_device.options.get("seed", 0)
            self.generator = torch.Generator(inputs.device).manual_seed(seed)
        probabilities = self.simulator.probabilities(inputs, weights)
        shots = self.quantum_device.shots
        return self.simulator.read_out(sampled_frequencies(probabilities, shots, self.generator))

    def extra_repr(self) -> str:
        shots = self.quantum_device.shots
        return f"circuit={self.circuit}, device='torch'" + (f", shots={shots}" if shots else "")
