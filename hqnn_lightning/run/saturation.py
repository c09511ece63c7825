"""Saturated outputs of a bottleneck: a qubit (or a control's ``tanh`` unit) whose value barely
varies across the images of a batch, epoch after epoch, tells the classifier after it nothing.

The trainability monitor (`hqnn_lightning.run.trainability`) records, per training epoch, each
bottleneck output's spread (``trainability/output_std/{i}``: its standard deviation over a
batch's images, averaged over the epoch's batches); `saturated_outputs` names the outputs whose
spread stayed below `SATURATED_BELOW` in each of the last `SATURATED_EPOCHS` epochs. See
``docs/trainability.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lightning.pytorch.utilities import rank_zero_warn
from torch import nn

from hqnn_lightning.experiment.metrics import OUTPUT_STD_KEY
from hqnn_lightning.quantum.module import quantum_modules

SATURATED_BELOW = 0.02
"""An output whose spread over a batch is below this is saturated: 1% of the range ``[-1, 1]``
of a ``<Z>`` or a ``tanh``; below every single output's spread in the last three epochs of the
digits runs measured (the smallest 0.030, a qubit of the study's barely trained circuit) and
above the dead qubits of the default hybrid with a ResNet-50 from scratch (below 0.005;
``docs/trainability.md``)."""

SATURATED_EPOCHS = 3
"""An output is saturated when its spread is below `SATURATED_BELOW` in each of this many last
epochs (every epoch of a shorter run): one low epoch may be a passing state."""

BOUNDED_READOUTS = frozenset({"z", "zz"})
"""The circuit read-outs whose outputs are Pauli expectation values in ``[-1, 1]``, the range
`SATURATED_BELOW` is a fraction of. A circuit with another read-out (probabilities, a
researcher's own) is not judged; a quantum module with no ``circuit.readout`` is judged as
``<Z>`` of each qubit."""


@dataclass(frozen=True)
class OutputLayout:
    """How a bottleneck's ``n_heads * per_head`` outputs are named.

    Args:
        kind: ``"qubit"`` (a circuit read out in ``<Z>`` of each wire), ``"output"`` (another
            Pauli read-out) or ``"unit"`` (a classical layer).
        heads: Heads side by side, each with its own slice of the outputs.
    """

    kind: str
    heads: int = 1

    def describe(self, unit: int, count: int) -> dict[str, Any]:
        """Output ``unit`` (the ``i`` of ``trainability/output_std/{i}``) of ``count``: its
        ``head`` and ``index`` in the head (both from 0, the index being the qubit's wire for
        ``"qubit"``), ``unit`` and ``kind``."""
        per_head = count // self.heads if count % self.heads == 0 else count
        return {"unit": unit, "head": unit // per_head, "index": unit % per_head, "kind": self.kind}

    def phrase(self, units: Sequence[int], count: int, below: float, epochs: int) -> str:
        """``"qubits 2 and 5 of 6 saturated (output spread below 0.02 in each of the last 3
        epochs)"`` for ``units`` of ``count`` outputs, naming each one's head when there are
        several; ``epochs`` is the number of epochs judged."""
        outputs = [self.describe(unit, count) for unit in units]
        several = count % self.heads == 0 and self.heads > 1
        names = [
            f"{o['index']} of head {o['head']}" if several else str(o["index"]) for o in outputs
        ]
        listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
        plural = "s" if len(names) > 1 else ""
        span = "its only epoch" if epochs == 1 else f"each of the last {epochs} epochs"
        return (
            f"{self.kind}{plural} {listed} of {count} saturated (output spread below {below:g} "
            f"in {span})"
        )


def output_layout(
    parts: Mapping[str, nn.Module], hparams: Mapping[str, Any]
) -> OutputLayout | None:
    """The layout of the ``bottleneck`` part's outputs, or ``None`` when they are not judged:
    the model has no bottleneck (a filter model: its recorded filter output is, for the
    convolutional control, taken before the ``tanh``), or its circuit's read-out is not in
    `BOUNDED_READOUTS`."""
    bottleneck = parts.get("bottleneck")
    if bottleneck is None:
        return None
    heads = int(hparams.get("n_heads", 1) or 1)
    modules = quantum_modules(bottleneck).values()
    if not modules:
        return OutputLayout("unit", heads)
    readouts = {getattr(getattr(module, "circuit", None), "readout", None) for module in modules}
    if not readouts <= BOUNDED_READOUTS | {None}:
        return None
    return OutputLayout("qubit" if readouts <= {"z", None} else "output", heads)


def output_spreads(figures: Mapping[str, float]) -> dict[int, float]:
    """An epoch's per-output spreads by output index (``trainability/output_std/{i}``)."""
    return {
        int(key[len(OUTPUT_STD_KEY) :]): value
        for key, value in figures.items()
        if key.startswith(OUTPUT_STD_KEY) and key[len(OUTPUT_STD_KEY) :].isdigit()
    }


def saturated_outputs(
    history: Sequence[Mapping[str, float]],
    below: float = SATURATED_BELOW,
    epochs: int = SATURATED_EPOCHS,
) -> list[int]:
    """The outputs whose spread is below ``below`` (strictly) in each of the last ``epochs``
    epochs of ``history`` (all of them when there are fewer), in index order; none when an
    epoch among those has no spread recorded."""
    spreads = [output_spreads(figures) for figures in history[-epochs:]]
    if not spreads or not all(spreads):
        return []
    return [
        unit for unit in sorted(spreads[-1]) if all(s.get(unit, below) < below for s in spreads)
    ]


class SaturationWarning(UserWarning):
    """Some of a bottleneck's outputs have barely varied across a batch for several epochs."""


def saturation_warning(model: str, phrase: str, kind: str) -> str:
    """The one-line warning for ``model`` whose outputs ``phrase`` (`OutputLayout.phrase`)
    names, with the usual causes for a ``kind`` of output."""
    if kind == "unit":
        cause = "a tanh unit at +-1 for every image (its inputs grown large)"
        advice = "Try a smaller --lr or a larger --weight-decay"
    else:
        cause = (
            "the projection's tanh at its bounds for every image (the encoded angles constant) "
            "or a circuit turning those wires towards an eigenstate of Z whatever the input"
        )
        advice = (
            "Try a smaller --lr or --q-lr, or --identity-blocks true with --q-init identity "
            "(the defaults)"
        )
    return (
        f"{model} has {phrase}: the classifier after the bottleneck gets nearly the same value "
        f"there for every image (trainability/output_std/<i>); usually {cause}. {advice}. "
        "See docs/trainability.md."
    )


class SaturationCheck:
    """The trainability monitor's judgement of saturated bottleneck outputs, on its per-epoch
    figures (``history``: one mapping per epoch with ``"epoch"`` and the spreads).

    Args:
        below: The spread under which an output is saturated, > 0.
        epochs: The last epochs in each of which it must be, >= 1.

    Raises:
        ValueError: ``below`` or ``epochs`` out of range.
    """

    def __init__(self, below: float = SATURATED_BELOW, epochs: int = SATURATED_EPOCHS) -> None:
        if not (below > 0 and epochs >= 1):
            raise ValueError(
                "saturated_below must be positive and saturated_epochs at least 1, got "
                f"{below} and {epochs}"
            )
        self.below = below
        self.epochs = epochs
        self.layout: OutputLayout | None = None
        """The bottleneck's `OutputLayout`; ``None`` where its outputs are not judged."""
        self.warned_at: int | None = None
        """The epoch at whose end the warning was given, if it was."""

    def units(self, history: Sequence[Mapping[str, float]]) -> list[int]:
        """The saturated outputs at the end of ``history`` (`saturated_outputs`)."""
        return [] if self.layout is None else saturated_outputs(history, self.below, self.epochs)

    def phrase(self, history: Sequence[Mapping[str, float]]) -> str:
        """`OutputLayout.phrase` of the saturated outputs; ``""`` when there are none."""
        units = self.units(history)
        if not units:
            return ""
        count = len(output_spreads(history[-1]))
        return self.layout.phrase(units, count, self.below, min(self.epochs, len(history)))

    def warn(self, history: Sequence[Mapping[str, float]], model: str, early: bool) -> None:
        """Warns once (global rank 0) if some outputs are saturated; ``early`` (during fit)
        only once ``epochs`` epochs are there to judge."""
        if self.warned_at is not None or (early and len(history) < self.epochs):
            return
        phrase = self.phrase(history)
        if phrase:
            self.warned_at = int(history[-1]["epoch"])
            message = saturation_warning(model, phrase, self.layout.kind)
            rank_zero_warn(message, category=SaturationWarning)

    def outputs(self, history: Sequence[Mapping[str, float]]) -> list[dict[str, Any]] | None:
        """The saturated outputs (`OutputLayout.describe` and the last epoch's ``spread``);
        ``None`` where the outputs are not judged."""
        if self.layout is None:
            return None
        last = output_spreads(history[-1]) if history else {}
        return [
            self.layout.describe(unit, len(last)) | {"spread": last[unit]}
            for unit in self.units(history)
        ]
