"""The trainability monitor: per-epoch figures that say whether a model is learning, a
warning when it has not left its initial plateau, and a verdict at the end of fit.

A classifier that has learned nothing predicts the uniform distribution, whose cross-entropy
is ``ln C`` nats for ``C`` classes; a run whose training loss stays there has not left its
initial plateau. `TrainabilityMonitor` logs, per training epoch, what tells the usual causes
apart: the gradient norm reaching each part of the model (``monitored_parts()``), the spread
of the bottleneck's (or patch filter's) outputs across the batch, and the train loss minus
``ln C``; it names the bottleneck's saturated outputs (`hqnn_lightning.run.saturation`). See
``docs/trainability.md``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import lightning as L
import torch
from lightning.fabric.utilities.warnings import PossibleUserWarning
from lightning.pytorch.utilities import rank_zero_warn
from torch import nn

from hqnn_lightning.experiment.metrics import GRAD_NORM_KEY, LOSS_KEY, OUTPUT_STD_KEY, PREFIX
from hqnn_lightning.models import ImageClassifier
from hqnn_lightning.quantum.module import quantum_modules
from hqnn_lightning.run.saturation import (
    SATURATED_BELOW,
    SATURATED_EPOCHS,
    SaturationCheck,
    output_layout,
)

DOCS = "docs/trainability.md"


class PlateauWarning(UserWarning):
    """A run's train loss has not left ``ln C``, the loss of a model that learned nothing."""


def gradient_norm(parameters: Iterable[nn.Parameter]) -> torch.Tensor | None:
    """The L2 norm of the gradients of ``parameters`` taken together (the square root of the
    sum of the squares of every gradient element), a 0-dim float32 tensor on the gradients'
    device; ``None`` when no parameter has a gradient."""
    norms = [p.grad.detach().norm().float() for p in parameters if p.grad is not None]
    return torch.linalg.vector_norm(torch.stack(norms)) if norms else None


def batch_spread(outputs: torch.Tensor) -> torch.Tensor:
    """The spread across the batch of each unit of ``outputs``: ``(B, U, *rest) -> (U,)``
    float32, the standard deviation over the ``B`` samples (population, ``correction=0``), of
    each unit, averaged over the trailing positions (the ``H' x W'`` of a filter's output)."""
    units = outputs.shape[1] if outputs.ndim > 1 else 1
    values = outputs.detach().float().reshape(outputs.shape[0], units, -1)
    return values.std(dim=0, correction=0).mean(dim=1)


class TrainabilityMonitor(L.Callback):
    """Logs, for each training epoch of an `ImageClassifier` that names its parts
    (``monitored_parts()``), the figures that say whether it is learning, and warns once when
    its train loss has not left ``ln C``.

    Metrics (logged at the epoch's end, to every logger; also in `history`):

    - ``trainability/grad_norm/{part}``: the L2 norm of the part's gradients, taken at each
      optimizer step (after backward, before clipping; unscaled under mixed precision) and
      averaged over the epoch's steps. Parts with no trainable parameter (a frozen backbone,
      a fixed filter) are left out.
    - ``trainability/output_std/{i}`` and ``trainability/output_std/mean``: the standard
      deviation across the batch of each output unit of the first part named in
      ``spread_of`` that the model has (`batch_spread`), averaged over the epoch's training
      batches, and its mean over the units. Near 0, the part sends every image to the same
      values and the classifier after it sees no difference between them.
    - ``trainability/loss_minus_ln_classes``: the epoch's mean train loss (``train/loss``)
      minus ``ln C``, in nats.

    A training epoch is *on the plateau* when its train loss is at or above
    ``(1 - margin) * ln C``: it has fallen by less than ``margin`` of the way from chance to
    a perfect fit (0.115 nats for 10 classes at the default 0.05). A loss above ``ln C``
    counts, as it is no better than chance either. After ``patience`` consecutive epochs on
    the plateau, global rank 0 warns once (`PlateauWarning`, one line: what it usually means,
    which options to try, those of the circuit when the bottleneck holds a `QuantumModule`, and
    ``docs/trainability.md``). When fit ends, `verdict` says whether the
    run learned, judged on the last epoch.

    A bottleneck output (a qubit of the circuit, a unit of a control's ``tanh`` layer) whose
    spread is below ``saturated_below`` in each of the last ``saturated_epochs`` epochs is
    *saturated* (`hqnn_lightning.run.saturation`): global rank 0 warns once
    (`SaturationWarning`), as soon as ``saturated_epochs`` epochs show it, or at fit's end for
    a shorter run; the verdict names those of the last epochs and `saturated` lists them.

    Under DDP, gradients are already averaged across processes when they are measured; the
    output spread and the loss are averaged over every process's batches, so each process
    holds the same figures. The running sums, the history and the warning travel in
    checkpoints, so a resumed run logs what an uninterrupted one would; a checkpoint loaded to
    validate or test leaves them alone.

    Args:
        margin: The plateau's width, as a fraction of ``ln C``, in ``(0, 1)``.
        patience: Consecutive epochs on the plateau before the warning, >= 1.
        spread_of: Names of the parts whose output spread is recorded; the first the model
            has is used (``bottleneck`` for the hybrid and its control, ``filter`` for the
            quanvolutional net and its control).
        saturated_below: The spread under which a bottleneck output is saturated, > 0
            (`SATURATED_BELOW`, for outputs in ``[-1, 1]``).
        saturated_epochs: The last epochs in each of which it must be, >= 1
            (`SATURATED_EPOCHS`).

    Raises:
        ValueError: ``margin``, ``patience``, ``saturated_below`` or ``saturated_epochs`` out
            of range.
    """

    def __init__(
        self,
        margin: float = 0.05,
        patience: int = 3,
        spread_of: Sequence[str] = ("bottleneck", "filter"),
        saturated_below: float = SATURATED_BELOW,
        saturated_epochs: int = SATURATED_EPOCHS,
    ) -> None:
        if not 0 < margin < 1:
            raise ValueError(f"margin must be in (0, 1), a fraction of ln C; got {margin}")
        if patience < 1:
            raise ValueError(f"patience must be at least 1, got {patience}")
        self.margin = margin
        self.patience = patience
        self.spread_of = tuple(spread_of)
        self._saturation = SaturationCheck(saturated_below, saturated_epochs)
        self.history: list[dict[str, float]] = []
        """One entry per training epoch: ``"epoch"`` and the metrics logged for it."""
        self.warned_at: int | None = None
        """The epoch at whose end the plateau warning was given, if it was."""
        self.verdict: str | None = None
        """One line, set when fit ends: whether the run learned (``None`` before)."""
        self.learned: bool | None = None
        """Whether the last epoch's train loss was below the plateau (``None`` before)."""
        self.parts: list[str] = []
        """The model's monitored parts, in its order."""
        self.saturated: list[dict[str, Any]] | None = None
        """Set when fit ends: the bottleneck's saturated outputs (`OutputLayout.describe` and
        the last epoch's ``spread``); ``None`` where they are not judged."""
        self._parameters: dict[str, list[nn.Parameter]] = {}
        self._num_classes = 0
        self._circuit = False
        self._hook: torch.utils.hooks.RemovableHandle | None = None
        self._recording = False
        self._reset_sums()

    def _reset_sums(self) -> None:
        self._batches = 0
        self._grad_sums: dict[str, torch.Tensor | float] = {}
        self._grad_steps: dict[str, int] = {}
        self._spread_sum: torch.Tensor | None = None
        self._spread_count = 0

    @property
    def ln_classes(self) -> float:
        """``ln C``, the cross-entropy in nats of a uniform prediction over ``C`` classes."""
        return math.log(self._num_classes) if self._num_classes else math.nan

    @property
    def plateau_below(self) -> float:
        """The train loss under which an epoch has left the plateau, ``(1 - margin) ln C``."""
        return (1 - self.margin) * self.ln_classes

    def _on_plateau(self, figures: dict[str, float]) -> bool:
        return figures[LOSS_KEY] + self.ln_classes >= self.plateau_below

    def on_fit_start(self, trainer: L.Trainer, pl_module: ImageClassifier) -> None:
        parts = pl_module.monitored_parts()
        self.parts = list(parts)
        self._parameters = {
            name: [p for p in part.parameters() if p.requires_grad] for name, part in parts.items()
        }
        self._num_classes = pl_module.hparams.num_classes
        bottleneck = parts.get("bottleneck")
        self._circuit = bottleneck is not None and bool(quantum_modules(bottleneck))
        self._saturation.layout = output_layout(parts, pl_module.hparams)
        spread_part = next((parts[name] for name in self.spread_of if name in parts), None)
        if spread_part is not None:
            self._hook = spread_part.register_forward_hook(self._record_spread)
        if trainer.world_size > 1:
            # The figures are equal on every process already (see _log).
            warnings.filterwarnings(
                "ignore", f"It is recommended to use `self.log\\('{PREFIX}/", PossibleUserWarning
            )

    def _record_spread(self, module: nn.Module, inputs: Any, outputs: Any) -> None:
        # One image has no spread: a batch of one would read as saturated.
        if not self._recording or not isinstance(outputs, torch.Tensor) or len(outputs) < 2:
            return
        spread = batch_spread(outputs)
        total = self._spread_sum
        self._spread_sum = spread if total is None else total.to(spread.device) + spread
        self._spread_count += 1

    def on_train_batch_start(
        self, trainer: L.Trainer, pl_module: L.LightningModule, batch: Any, batch_idx: int
    ) -> None:
        self._recording = True

    def on_before_optimizer_step(
        self, trainer: L.Trainer, pl_module: L.LightningModule, optimizer: torch.optim.Optimizer
    ) -> None:
        for name, parameters in self._parameters.items():
            norm = gradient_norm(parameters)
            if norm is not None:
                self._grad_sums[name] = self._grad_sums.get(name, 0.0) + norm
                self._grad_steps[name] = self._grad_steps.get(name, 0) + 1

    def on_train_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        self._recording = False
        self._batches += 1

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: ImageClassifier) -> None:
        if self._batches == 0:  # no training batch ran (a run resumed at the epoch's end)
            return
        figures = self._epoch_figures(trainer, pl_module)
        self.history.append(figures)
        self._reset_sums()
        self._log(pl_module, figures)
        if self.warned_at is None and self._epochs_on_plateau() >= self.patience:
            self.warned_at = trainer.current_epoch
            rank_zero_warn(self._warning(type(pl_module).__name__), category=PlateauWarning)
        self._saturation.warn(self.history, type(pl_module).__name__, early=True)

    def _epoch_figures(self, trainer: L.Trainer, pl_module: ImageClassifier) -> dict[str, float]:
        figures: dict[str, float] = {"epoch": trainer.current_epoch}
        for name, steps in self._grad_steps.items():
            figures[GRAD_NORM_KEY + name] = float(self._grad_sums[name]) / steps
        if self._spread_sum is not None:
            reduce = trainer.strategy.reduce
            count = reduce(self._spread_sum.new_tensor(self._spread_count), reduce_op="sum")
            spread = reduce(self._spread_sum, reduce_op="sum").cpu() / float(count)
            figures[OUTPUT_STD_KEY + "mean"] = spread.mean().item()
            figures |= {OUTPUT_STD_KEY + str(i): value for i, value in enumerate(spread.tolist())}
        # Synced over processes, weighted by batch size: the value logged as train/loss.
        loss = pl_module.train_loss.compute().item()
        figures[LOSS_KEY] = loss - self.ln_classes
        return figures

    @staticmethod
    def _log(pl_module: L.LightningModule, figures: dict[str, float]) -> None:
        metrics = {key: value for key, value in figures.items() if key != "epoch"}
        # Equal on every process already, so not synced: sync_dist=True would make computing
        # them a collective call, which the progress bar and CSVMetricsCheckpoint make on
        # global rank 0 alone at this epoch's end (a deadlock under DDP).
        pl_module.log_dict(metrics, on_step=False, on_epoch=True)

    def _epochs_on_plateau(self) -> int:
        """How many of the last epochs in a row were on the plateau."""
        count = 0
        for figures in reversed(self.history):
            if not self._on_plateau(figures):
                break
            count += 1
        return count

    def _warning(self, model: str) -> str:
        last = self.history[-1]
        if self._circuit:
            advice = (
                "usually the gradients reaching the circuit and the projection are tiny (see "
                f"{GRAD_NORM_KEY}*), or the encoding loses information (RY on |0> measured in Z "
                "is even in the angle and drops its sign; a uniform [0, 2pi) initialisation "
                "scrambles the state). Try --encoding hadamard_ry, --identity-blocks true with "
                "--q-init identity (the defaults), a larger --q-lr, or more epochs"
            )
        else:
            advice = (
                f"usually the gradients reaching the early parts are tiny (see {GRAD_NORM_KEY}*) "
                "or the learning rate does not fit. Try another --lr, or more epochs"
            )
        return (
            f"{model} has not left its initial plateau: its train loss "
            f"({last[LOSS_KEY] + self.ln_classes:.3f} at epoch {last['epoch']}) has stayed "
            f"{self._plateau()} for {_epochs(self.patience)}; {advice}. See {DOCS}."
        )

    def _chance(self) -> str:
        return f"ln {self._num_classes} = {self.ln_classes:.3f}, the loss at chance"

    def _plateau(self) -> str:
        return f"above {self.plateau_below:.3f} nats ({self.margin:.0%} below {self._chance()})"

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._remove_hook()
        if not self.history:
            return
        self._saturation.warn(self.history, type(pl_module).__name__, early=False)
        self.saturated = self._saturation.outputs(self.history)
        saturation = self._saturation.phrase(self.history)
        loss = self.history[-1][LOSS_KEY] + self.ln_classes
        self.learned = not self._on_plateau(self.history[-1])
        if self.learned:
            self.verdict = (
                f"learned{f', but {saturation}' if saturation else ''}: the train loss fell "
                f"{-self.history[-1][LOSS_KEY]:.3f} nats below {self._chance()} (last epoch: "
                f"{loss:.3f})"
            )
            return
        left = next((f["epoch"] for f in self.history if not self._on_plateau(f)), None)
        what = (
            f"did not leave its initial plateau: in all its {_epochs(len(self.history))}, its "
            "train loss stayed"
            if left is None
            else f"fell back to its initial plateau: it left it at epoch {left}, but its last "
            "epoch's train loss is back"
        )
        self.verdict = f"{what} {self._plateau()}, {loss:.3f} in the last epoch; " + (
            f"{saturation}; see {DOCS}" if saturation else f"see {DOCS}"
        )

    def on_exception(
        self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException
    ) -> None:
        self._remove_hook()

    def _remove_hook(self) -> None:
        if self._hook is not None:
            self._hook.remove()
            self._hook = None
        self._recording = False

    def summary(self) -> dict[str, Any]:
        """What ``results.json`` keeps under ``"trainability"``: the verdict, the plateau's
        bounds, the parts in order, the saturated outputs with their rule, and the per-epoch
        figures (`history`)."""
        return {
            "verdict": self.verdict,
            "learned": self.learned,
            "ln_classes": self.ln_classes,
            "plateau_below": self.plateau_below,
            "margin": self.margin,
            "patience": self.patience,
            "warned_at_epoch": self.warned_at,
            "parts": self.parts,
            "saturated": self.saturated,
            "saturated_below": self._saturation.below,
            "saturated_epochs": self._saturation.epochs,
            "saturation_warned_at_epoch": self._saturation.warned_at,
            "epochs": self.history,
        }

    def state_dict(self) -> dict[str, Any]:
        return {
            "history": [dict(figures) for figures in self.history],
            "warned_at": self.warned_at,
            "saturation_warned_at": self._saturation.warned_at,
            "batches": self._batches,
            "grad_sums": {name: float(value) for name, value in self._grad_sums.items()},
            "grad_steps": dict(self._grad_steps),
            "spread_sum": None if self._spread_sum is None else self._spread_sum.tolist(),
            "spread_count": self._spread_count,
        }

    def on_load_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        state = checkpoint.get("callbacks", {}).get(self.state_key)
        # Only to resume fitting: validating or testing a checkpoint leaves the run's record.
        if state and trainer.state.fn == "fit":
            self._set_state(state)

    def _set_state(self, state_dict: dict[str, Any]) -> None:
        self.history = [dict(figures) for figures in state_dict["history"]]
        self.warned_at = state_dict["warned_at"]
        self._saturation.warned_at = state_dict.get("saturation_warned_at")
        self._batches = state_dict["batches"]
        self._grad_sums = {name: torch.tensor(v) for name, v in state_dict["grad_sums"].items()}
        self._grad_steps = dict(state_dict["grad_steps"])
        spread = state_dict["spread_sum"]
        self._spread_sum = None if spread is None else torch.tensor(spread)
        self._spread_count = state_dict["spread_count"]


def _epochs(count: int) -> str:
    return f"{count} epoch{'s' if count != 1 else ''}"


def wants_monitor(model: L.LightningModule) -> bool:
    """Whether ``model`` names parts for the monitor (`ImageClassifier.monitored_parts`)."""
    return isinstance(model, ImageClassifier) and bool(model.monitored_parts())
