"""The cost of an evaluation before anything is submitted: the circuits and shots still to
run, stated in one paragraph (on a QPU with the estimated dollars and QPU time,
`hardware.prices`), and the terminal prompt that asks for consent."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hqnn_lightning.hardware.prices import describe_cost, price_for
from hqnn_lightning.quantum import KNOWN_DEVICES


@dataclass(frozen=True)
class EvaluationPlan:
    """What an evaluation will submit.

    Args:
        samples: Test samples in all.
        batches: Batches in all.
        done_batches: Batches finished by an earlier, interrupted run.
        remaining_samples: Samples of the batches still to run.
        circuits_per_sample: Circuit executions one sample needs (one per head of a hybrid,
            one per patch and channel of a quanvolution; `count_circuits`).
        shots: Shots per circuit (``None``: exact simulation).
    """

    samples: int
    batches: int
    done_batches: int
    remaining_samples: int
    circuits_per_sample: int
    shots: int | None

    @property
    def circuits(self) -> int:
        """Circuit executions still to run."""
        return self.remaining_samples * self.circuits_per_sample

    @property
    def total_shots(self) -> int | None:
        """Shots still to run, ``None`` for an exact simulation."""
        return None if self.shots is None else self.circuits * self.shots

    def totals(self, samples: int) -> dict[str, int | None]:
        """``circuits`` and ``total_shots`` (``None`` when exact) of ``samples`` samples."""
        circuits = samples * self.circuits_per_sample
        return {
            "circuits": circuits,
            "total_shots": None if self.shots is None else circuits * self.shots,
        }

    def describe(self, device: str, options: Mapping[str, Any] | None = None) -> str:
        """One paragraph for the confirmation prompt, and on a QPU a line with the estimated
        dollars and QPU time (`hardware.prices`; ``options`` select the QPU: ``device_arn``,
        ``backend``)."""
        shots = "exact" if self.shots is None else f"{self.shots:,} shots per circuit"
        total = "" if self.total_shots is None else f", {self.total_shots:,} shots in total"
        resumed = (
            f" ({self.done_batches} of {self.batches} batches done earlier)"
            if self.done_batches
            else ""
        )
        info = KNOWN_DEVICES.get(device)
        remote = cost = ""
        if info is not None and info.remote:
            cost = "\n" + describe_cost(price_for(device, options), self.circuits, self.shots)
            remote = "; sent to a cloud service (queued, possibly billed)"
            if not info.recorded_jobs:
                remote += (
                    "; its plugin does not expose job ids, so a batch retried after a client "
                    "timeout is submitted and billed again"
                )
        return (
            f"{device}: {self.batches - self.done_batches} batches{resumed}, "
            f"{self.remaining_samples:,} test samples x {self.circuits_per_sample:,} circuits "
            f"= {self.circuits:,} circuit executions, {shots}{total}{remote}{cost}"
        )


def confirm_on_terminal(message: str, assume_yes: bool) -> bool:
    """Asks ``message`` on the terminal; ``assume_yes`` (``--yes``) answers for the user.

    Raises:
        PermissionError: no terminal to ask on (stdin is not one, or ``CI`` is set) and no
            ``assume_yes``: nothing is submitted without consent.
    """
    print(message)
    if assume_yes:
        return True
    if not sys.stdin.isatty() or os.environ.get("CI"):
        raise PermissionError(
            "refusing to submit without confirmation: stdin is not a terminal; "
            "rerun with --yes to accept the cost above"
        )
    return input("Submit? [y/N] ").strip().lower() in {"y", "yes"}
