"""``HQNN_SMOKE_BATCHES=N``: every run trains one epoch of at most ``N`` batches and
validates and tests on at most ``N`` batches, whatever ``--max-epochs`` says. The
documentation's tests set it to run the documented commands in seconds
(docs/contributing.md, "Documentation that runs"); unset, a run is exactly as configured. The
run's ``config.yaml`` keeps the options as given; its metrics cover the batches run."""

from __future__ import annotations

import os
from typing import Any

SMOKE_VARIABLE = "HQNN_SMOKE_BATCHES"


def smoke_batches() -> int | None:
    """``N`` from ``HQNN_SMOKE_BATCHES``, or ``None`` when it is unset or empty."""
    value = os.environ.get(SMOKE_VARIABLE, "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise SystemExit(f"error: {SMOKE_VARIABLE}={value}: give a positive number of batches")
    return int(value)


def smoke_trainer_arguments(max_epochs: int) -> dict[str, Any]:
    """The `lightning.Trainer` arguments ``max_epochs`` and, under ``HQNN_SMOKE_BATCHES=N``,
    one epoch and ``limit_{train,val,test}_batches=N``."""
    batches = smoke_batches()
    if batches is None:
        return {"max_epochs": max_epochs}
    return {
        "max_epochs": 1,
        "limit_train_batches": batches,
        "limit_val_batches": batches,
        "limit_test_batches": batches,
    }
