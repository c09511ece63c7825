"""From the inputs and weights to the gate matrices of a `StatevectorProgram`, in torch.

Every parameter of a gate is ``bias + inputs @ input_coef + weights @ weight_coef``
(`tracing.Parameter`). `GateMatrices` evaluates them all at once: a gather of the weights
where each parameter is one weight (as in the library's templates), a gather of the inputs
where each reads one input (as an angle encoding does), matrix products otherwise. It builds
each kind of gate's matrices in one call (`gates.gate_matrices`) and gives the simulator what it
needs: the encoded product state, each layer's single-qubit matrix per wire, and the dense gates.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from hqnn_lightning.quantum.statevector.encoding import EncodingPlan, product_state
from hqnn_lightning.quantum.statevector.gates import complex_dtype, gate_matrices, trig_form
from hqnn_lightning.quantum.statevector.program import StatevectorProgram

IDENTITY = np.eye(2, dtype=complex)


def _gather_index(coef: np.ndarray, pad: int) -> np.ndarray | None:
    """Per column of ``coef`` ``(k, P)``, the row of its single nonzero entry (``pad`` for a
    zero column); ``None`` if a column has several."""
    if ((coef != 0).sum(0) > 1).any():
        return None
    return np.where((coef != 0).any(0), np.abs(coef).argmax(0) if coef.size else 0, pad)


def _slots(layers: list[tuple[tuple[int, ...], ...]]) -> list[tuple]:
    """Per depth ``d``, per layer, per wire: the ``d``-th gate (``None``: none)."""
    depth = max([len(wire) for layer in layers for wire in layer] + [1])
    return [
        tuple(tuple(w[d] if d < len(w) else None for w in layer) for layer in layers)
        for d in range(depth)
    ]


class GateMatrices(nn.Module):
    """The program's gate matrices at given inputs and weights (see the module's docstring).

    Args:
        program: The compiled circuit.
    """

    def __init__(self, program: StatevectorProgram) -> None:
        super().__init__()
        self.program = program
        shared, sampled = [], []
        self.rows: dict[int, list[int]] = {}
        for index, gate in enumerate(program.gates):
            if gate.matrix is None:
                table = sampled if gate.uses_inputs else shared
                self.rows[index] = list(range(len(table), len(table) + len(gate.parameters)))
                table.extend(gate.parameters)
        n, n_weights = program.n_qubits, program.n_weights
        everything = shared + sampled
        self.bias = np.array([p.bias for p in everything])
        self.weight_coef = (
            np.array([p.weight_coef for p in everything]).reshape(len(everything), n_weights).T
        )
        self.weight_index = _gather_index(self.weight_coef, n_weights)
        if not np.isin(self.weight_coef, (0.0, 1.0)).all():
            self.weight_index = None  # a weight times a factor: the matrix product
        self.n_shared = len(shared)
        self.input_coef = np.array([p.input_coef for p in sampled]).reshape(len(sampled), n).T
        self.input_index = _gather_index(self.input_coef, n)
        self.input_scale = self.input_coef.sum(0)
        self.input_scaled = not np.all(self.input_scale == 1)
        self.input_unpadded = self.input_index is not None and bool(np.all(self.input_index < n))
        self.weight_gather = self.weight_index is not None and not self.bias.any()
        # Whether a parameter that reads inputs has a constant or a weight in it too.
        self.sampled_offset = bool(
            self.bias[len(shared) :].any() or self.weight_coef[:, len(shared) :].any()
        )
        # Each parameter that reads inputs is one input, unscaled, alone (an angle encoding,
        # re-uploaded or not): the gates read the inputs themselves, not a gathered copy.
        self.inputs_direct = self.input_unpadded and not self.input_scaled
        self.inputs_direct = self.inputs_direct and not self.sampled_offset
        if self.inputs_direct:
            for index, gate in enumerate(program.gates):
                if gate.matrix is None and gate.uses_inputs:
                    self.rows[index] = [int(self.input_index[row]) for row in self.rows[index]]
        self.encoding = EncodingPlan.of(program)
        self.basis_phases = self.encoding.basis_phase()
        # The layers whose single-qubit gates read no input, then those that do (their
        # matrices are one per sample): each group's matrices are made together.
        reads = [
            any(program.gates[g].uses_inputs for wire in layer.singles for g in wire)
            for layer in program.layers
        ]
        self.layer_groups = [[i for i, r in enumerate(reads) if r == flag] for flag in (0, 1)]
        self.single_slots = [
            [tuple(g for layer in gates for g in layer) for gates in slots]
            for slots in (_slots([program.layers[i].singles for i in g]) for g in self.layer_groups)
        ]
        self._cache: dict[Any, torch.Tensor] = {}
        self._plans: dict[tuple, Any] = {}
        self.merged = self._merged_kinds()

    def _merged_kinds(self) -> dict[str, list[int]]:
        """``{name: gates}``: each kind of gate that no input feeds and that several slots of
        the layers hold (``Rot`` before and after re-uploaded inputs), made in one call."""
        found: dict[str, list[list[int]]] = {}
        for slots in self.single_slots:
            for gates in slots:
                for name, per_sample, positions in self._plan(gates)[0]:
                    if not per_sample:
                        found.setdefault(name, []).append([gates[p] for p in positions])
        return {
            name: [gate for gates in lists for gate in gates]
            for name, lists in found.items()
            if len(lists) > 1
        }

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_cache"] = {}
        return state

    def constant(self, key: Any, array: np.ndarray, dtype: torch.dtype, device: torch.device):
        """``array`` as a tensor of ``dtype`` on ``device``, made once."""
        cache_key = (key, dtype, device)
        if cache_key not in self._cache:
            if not dtype.is_complex and np.iscomplexobj(array):
                array = array.real
            self._cache[cache_key] = torch.as_tensor(array).to(device=device, dtype=dtype)
        return self._cache[cache_key]

    def basis_phase(self, dtype: torch.dtype, device: torch.device) -> torch.Tensor | None:
        """``(2^n,)`` the encoding's fixed phases of the basis states, ``None`` if none."""
        phase = self.basis_phases
        return None if phase is None else self.constant("basis phase", phase, dtype, device)

    def readout(self, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
        """``(2^n, n_outputs)`` read-out matrix."""
        return self.constant("readout", self.program.readout, dtype, device)

    def phase(self, layer: int, position: int, dtype: torch.dtype, device: torch.device):
        """``(2^n,)`` phases of permutation step ``position`` of layer ``layer``."""
        step = self.program.layers[layer].steps[position]
        return self.constant(("phase", layer, position), step.phase, dtype, device)

    def values(self, inputs: torch.Tensor, weights: torch.Tensor | None):
        """Every varying parameter: ``(P,)`` without the inputs' part, and ``(B, P_s)`` for
        the gates that read inputs (with it), or the inputs ``(B, n)`` themselves where each
        such parameter is one input (``inputs_direct``: `rows` then index the inputs)."""
        dtype, device = inputs.dtype, inputs.device
        bias = self.constant("bias", self.bias, dtype, device)
        if weights is None or not self.program.n_weights:
            shared = bias
        elif self.weight_gather:
            index = self.constant("weight_index", self.weight_index, torch.long, device)
            shared = torch.cat([weights, weights.new_zeros(1)])[index]
        else:
            shared = bias + weights @ self.constant("weight_coef", self.weight_coef, dtype, device)
        if not self.input_coef.shape[1]:
            return shared, None
        return shared, self._read_inputs(inputs, shared[self.n_shared :])

    def _read_inputs(self, inputs: torch.Tensor, shared: torch.Tensor) -> torch.Tensor:
        """``(B, P_s)``: the parameters of the gates that read inputs, ``shared`` (their part
        without the inputs, ``(P_s,)``) plus the inputs' part. An angle encoding reads one
        input per parameter, unscaled: the inputs themselves, which `rows` index."""
        dtype, device = inputs.dtype, inputs.device
        if self.input_index is None:
            return shared + inputs @ self.constant("input_coef", self.input_coef, dtype, device)
        if self.inputs_direct:
            return inputs
        index = self.constant("input_index", self.input_index, torch.long, device)
        if self.input_unpadded:
            read = inputs[:, index]
        else:
            read = torch.cat([inputs, inputs.new_zeros(inputs.shape[0], 1)], 1)[:, index]
        if self.input_scaled:
            read = read * self.constant("input_scale", self.input_scale, dtype, device)
        if self.sampled_offset:
            read = read + shared
        return read

    def gate(self, gate: int, shared: torch.Tensor, sampled: torch.Tensor | None, dtype):
        """One gate's matrix, ``(d, d)`` or ``(B, d, d)``."""
        spec = self.program.gates[gate]
        if spec.matrix is not None:
            return self.constant(("gate", gate), spec.matrix, dtype, shared.device)
        values = sampled[:, self.rows[gate]] if spec.uses_inputs else shared[self.rows[gate]]
        return gate_matrices(self.encoding.names.get(gate, spec.name), values).to(dtype)

    def _plan(self, gates: tuple) -> tuple[list, list[int], list[int] | None]:
        """How `slot` builds ``gates``: ``(kinds, constants, gather)``, made once per slot.
        ``kinds``: ``(name, per_sample, positions)``; ``gather``: each position's row in the
        stacked parts (the identity after them), ``None`` if the one part is in order."""
        if gates in self._plans:
            return self._plans[gates]
        kinds: dict[tuple[str, bool], list[int]] = {}
        constants = []
        for position, gate in enumerate(gates):
            spec = None if gate is None else self.program.gates[gate]
            if spec is not None and spec.matrix is None:
                name = self.encoding.names.get(gate, spec.name)
                kinds.setdefault((name, spec.uses_inputs), []).append(position)
            elif spec is not None:
                constants.append(position)
        order = [p for positions in kinds.values() for p in positions] + constants
        where = {position: row for row, position in enumerate(order)}
        gather = [where.get(position, len(order)) for position in range(len(gates))]
        complete = len(order) == len(gates) and gather == list(range(len(gates)))
        in_order = complete and len(kinds) + bool(constants) == 1
        plan = ([(*kind, positions) for kind, positions in kinds.items()], constants, gather)
        self._plans[gates] = plan if not in_order else (plan[0], plan[1], None)
        return self._plans[gates]

    def slot(
        self,
        gates: tuple,
        shared: torch.Tensor,
        sampled: torch.Tensor | None,
        dtype: torch.dtype,
        merged: dict[str, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """``(..., k, 2, 2)`` the single-qubit matrices of ``gates`` (identity for ``None``):
        one call per kind of varying gate (or its rows of ``merged``, `merged_matrices`), the
        constants at once, then one gather."""
        device = shared.device
        kinds, constants, gather = self._plan(gates)
        parts = []
        for name, per_sample, positions in kinds:
            if merged and name in merged and not per_sample:
                first = self.merged[name].index(gates[positions[0]])
                parts.append(merged[name][first : first + len(positions)])
                continue
            rows = [self.rows[gates[p]] for p in positions]
            index = self.constant(("rows", name, per_sample, gates), rows, torch.long, device)
            values = sampled[:, index] if per_sample else shared[index]
            parts.append(gate_matrices(name, values).to(dtype))
        if constants:
            matrices = np.stack([self.program.gates[gates[p]].matrix for p in constants])
            parts.append(self.constant(("constants", gates), matrices, dtype, device))
        if gather is None:
            return parts[0]
        parts.append(self.constant("identity row", IDENTITY[None], dtype, device))
        batch = max((part.shape[:-3] for part in parts), key=len)
        stacked = torch.cat([part.expand(*batch, *part.shape[-3:]) for part in parts], -3)
        return stacked[..., self.constant(("slot", gates), gather, torch.long, device), :, :]

    def encoded_state(self, shared: torch.Tensor, sampled: torch.Tensor | None, batch: int):
        """``(B, 2^n)`` the encoded product state, real for a real encoding."""
        real = self.encoding.real
        dtype = shared.dtype if real else complex_dtype(shared.dtype)
        vectors = self.constant("initial", self.encoding.initial, dtype, shared.device)
        for depth, gates in enumerate(self.encoding.slots):
            if (
                depth == 0
                and (first := self._first_slot(gates, shared, sampled, dtype)) is not None
            ):
                vectors = first
                continue
            matrices = self.slot(gates, shared, sampled, dtype)
            vectors = (matrices * vectors[..., None, :]).sum(-1)
        if vectors.dim() == 2:
            return product_state(vectors[None]).expand(batch, -1)
        return product_state(vectors)

    def _first_slot(self, gates: tuple, shared, sampled, dtype) -> torch.Tensor | None:
        """The first slot of one kind of one-parameter gate on every wire, applied to the
        starting vectors ``s``: ``C0 s + cos(f t) C1 s + sin(f t) C2 s``, without the
        matrices; ``None`` for any other slot."""
        kinds, constants, gather = self._plan(gates)
        if gather is not None or constants or kinds[0][0] == "Rot":
            return None
        name, per_sample, _ = kinds[0]
        terms, form = self._first_terms(name), trig_form(name)
        rows = [self.rows[g][0] for g in gates]
        values = sampled if per_sample else shared
        if rows != list(range(values.shape[-1])):
            values = values[
                ..., self.constant(("rows", name, gates), rows, torch.long, values.device)
            ]
        half = values * form.frequency
        cos, sin = torch.cos(half)[..., None], torch.sin(half)[..., None]
        if terms is None:  # RY on |0> of every wire: (cos, sin)
            return torch.cat([cos, sin], -1).to(dtype)
        key = ("first slot", name)
        if (key, dtype, shared.device) not in self._cache:
            self.constant(key, terms, dtype, shared.device)
        c0, c1, c2 = self._cache[(key, dtype, shared.device)]
        vectors = cos * c1 + sin * c2
        return c0 + vectors if terms[0].any() else vectors

    def _first_terms(self, name: str) -> np.ndarray | None:
        """``(3, n, 2)``: the first slot's ``C0 s``, ``C1 s`` and ``C2 s`` on each wire's starting
        vector ``s``; ``None`` when they are ``0``, ``|0>`` and ``|1>`` on every wire."""
        if ("first terms", name) not in self._plans:
            initial = self.encoding.initial
            form = trig_form(name)
            terms = np.stack([np.stack([c @ s for s in initial]) for c in form.terms])
            basis = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])[:, None, :]
            plain = np.array_equal(terms, np.broadcast_to(basis, terms.shape))
            self._plans[("first terms", name)] = None if plain else terms
        return self._plans[("first terms", name)]

    def merged_matrices(self, shared: torch.Tensor, dtype) -> dict[str, torch.Tensor]:
        """``{name: (k, d, d)}`` the matrices of the gates of each kind in `merged`."""
        result = {}
        for name, gates in self.merged.items():
            rows = [self.rows[g] for g in gates]
            index = self.constant(("merged", name), rows, torch.long, shared.device)
            result[name] = gate_matrices(name, shared[index]).to(dtype)
        return result

    def layer_singles(self, shared: torch.Tensor, sampled: torch.Tensor | None):
        """Each layer's matrix on each wire: ``(L, n, 2, 2)`` when no layer reads inputs,
        else a list of ``(n, 2, 2)`` and, for the layers that do, ``(B, n, 2, 2)``."""
        dtype = complex_dtype(shared.dtype)
        layers: list[torch.Tensor | None] = [None] * len(self.program.layers)
        merged = self.merged_matrices(shared, dtype)
        n = self.program.n_qubits
        for group, slots in zip(self.layer_groups, self.single_slots, strict=True):
            product = None
            for gates in slots:
                matrices = self.slot(gates, shared, sampled, dtype, merged)
                matrices = matrices.unflatten(-3, (len(gates) // n, n))
                product = matrices if product is None else matrices @ product
            if group and not self.layer_groups[1]:
                return product
            for position, layer in enumerate(group):
                layers[layer] = product[..., position, :, :, :]
        return layers

    def dense_matrices(self, shared: torch.Tensor, sampled: torch.Tensor | None):
        """``{gate: (d, d) or (B, d, d)}`` for the dense steps."""
        dtype = complex_dtype(shared.dtype)
        return {
            step.gate: self.gate(step.gate, shared, sampled, dtype)
            for layer in self.program.layers
            for step in layer.steps
            if step.gate is not None
        }

    def forward(self, inputs: torch.Tensor, weights: torch.Tensor | None):
        """``(layer singles, encoded state, dense matrices)`` at ``(B, n)`` inputs and the
        flat weights."""
        shared, sampled = self.values(inputs, weights)
        encoded = self.encoded_state(shared, sampled, inputs.shape[0])
        singles = self.layer_singles(shared, sampled) if self.program.layers else None
        return singles, encoded, self.dense_matrices(shared, sampled)
