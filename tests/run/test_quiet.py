"""Quiet runs (issue 29 item 5): the third-party messages a run leaves out, each gone from a
run's output, and the library's own warnings still shown."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import warnings
from pathlib import Path

import lightning as L
import pytest
import torch
from lightning.pytorch.loggers import CSVLogger
from torch import nn
from torch.nn import functional as F
from torch.utils.data import DataLoader, TensorDataset

from hqnn_lightning.data import create_datamodule
from hqnn_lightning.run.quiet import (
    FROZEN_MODULES_WARNINGS,
    IGNORED_WARNINGS,
    IN_MEMORY_DATA_WARNINGS,
    RANK_ZERO_LOGGER,
    quiet_run,
    reads_image_files,
)
from tests.data.car_files import write_folders

ROOT = Path(__file__).resolve().parents[2]

LEAF_SPEC = "`isinstance(treespec, LeafSpec)` is deprecated"
LOGGING_INTERVAL = "is smaller than the logging interval"
FEW_WORKERS = "does not have many workers"
LITLOGGER = "litlogger"
EVAL_MODE = "module(s) in eval mode at the start of training"


class TinyModule(L.LightningModule):
    """Two inputs, two classes, four samples in two batches; a part in eval mode, frozen
    unless ``eval_part_trains``."""

    def __init__(self, eval_part_trains: bool = False) -> None:
        super().__init__()
        self.layer = nn.Linear(2, 2)
        self.part = nn.BatchNorm1d(2).eval().requires_grad_(eval_part_trains)

    def training_step(self, batch: list[torch.Tensor], batch_idx: int) -> torch.Tensor:
        inputs, labels = batch
        loss = F.cross_entropy(self.layer(inputs), labels)
        self.log("loss", loss, on_step=False, on_epoch=True)
        return loss

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.1)

    def train_dataloader(self) -> DataLoader:
        data = TensorDataset(torch.rand(4, 2), torch.tensor([0, 1, 0, 1]))
        return DataLoader(data, batch_size=2)


def lightning_messages(
    tmp_path: Path, monkeypatch, quiet: bool, datamodule=None, model=None
) -> str:
    """Every warning and rank-zero log line of a tiny fit of ``model`` (a `TinyModule`), on
    a machine where Lightning would suggest 4 DataLoader workers, under `quiet_run` or not."""
    model = model or TinyModule()
    monkeypatch.setattr(
        "lightning.pytorch.trainer.connectors.data_connector.suggested_max_num_workers",
        lambda devices: 4,
    )
    records: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())
    rank_zero = logging.getLogger(RANK_ZERO_LOGGER)
    monkeypatch.setattr(rank_zero, "disabled", False)
    rank_zero.addHandler(handler)
    level = rank_zero.level
    rank_zero.setLevel(logging.INFO)  # whatever a test before set on Lightning's loggers
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with quiet_run(datamodule, model) if quiet else warnings.catch_warnings():
                trainer = L.Trainer(
                    max_epochs=1,
                    logger=CSVLogger(tmp_path),
                    enable_checkpointing=False,
                    enable_progress_bar=False,
                    enable_model_summary=False,
                )
                trainer.fit(model)
    finally:
        rank_zero.removeHandler(handler)
        rank_zero.setLevel(level)
    return "\n".join([*records, *(str(warning.message) for warning in caught)])


@pytest.fixture(scope="module")
def fits(tmp_path_factory) -> dict[str, str]:
    """The messages of the tiny fit, ``"loud"`` and ``"quiet"`` (with the digits, in memory)."""
    digits = create_datamodule("digits")
    with pytest.MonkeyPatch.context() as monkeypatch:
        return {
            "loud": lightning_messages(tmp_path_factory.mktemp("loud"), monkeypatch, False),
            "quiet": lightning_messages(
                tmp_path_factory.mktemp("quiet"), monkeypatch, True, datamodule=digits
            ),
        }


@pytest.mark.parametrize(
    "message", [LEAF_SPEC, LOGGING_INTERVAL, FEW_WORKERS, LITLOGGER, EVAL_MODE]
)
def test_each_message_is_left_out_of_a_quiet_fit(fits, message):
    assert message in fits["loud"]
    assert message not in fits["quiet"]


def test_the_workers_warning_stays_for_data_read_from_image_files(tmp_path, monkeypatch):
    cars = create_datamodule("stanford_cars", data_dir=str(write_folders(tmp_path / "cars")))
    cached = create_datamodule("stanford_cars", data_dir=str(tmp_path / "cars"), cache_images=True)
    assert reads_image_files(cars) and not reads_image_files(cached)
    assert not reads_image_files(create_datamodule("digits"))
    messages = lightning_messages(tmp_path / "fit", monkeypatch, quiet=True, datamodule=cars)
    assert FEW_WORKERS in messages and LEAF_SPEC not in messages


def test_the_eval_mode_warning_stays_for_a_part_in_eval_mode_that_trains(tmp_path, monkeypatch):
    model = TinyModule(eval_part_trains=True)
    assert EVAL_MODE in lightning_messages(tmp_path, monkeypatch, quiet=True, model=model)


def test_the_filters_and_the_logger_are_restored_after_the_run():
    filters, rank_zero = list(warnings.filters), logging.getLogger(RANK_ZERO_LOGGER)
    with quiet_run(create_datamodule("digits")):
        added = len(IGNORED_WARNINGS) + len(IN_MEMORY_DATA_WARNINGS)
        assert len(warnings.filters) == len(filters) + added
    with quiet_run(create_datamodule("digits"), TinyModule()):
        added += len(FROZEN_MODULES_WARNINGS)
        assert len(warnings.filters) == len(filters) + added
    assert warnings.filters == filters and not rank_zero.filters


def test_each_filter_names_a_module_a_category_and_a_reason():
    for ignored in (*IGNORED_WARNINGS, *IN_MEMORY_DATA_WARNINGS, *FROZEN_MODULES_WARNINGS):
        assert ignored.module.startswith(r"lightning\.") and ignored.reason
        assert ignored.category is not Warning and issubclass(ignored.category, Warning)


def test_the_librarys_own_warnings_still_show():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with quiet_run(create_datamodule("digits")):
            warnings.warn("the library's own", UserWarning, stacklevel=1)
            warnings.warn("lightning's, from this module", FutureWarning, stacklevel=1)
    assert [str(warning.message) for warning in caught] == [
        "the library's own",
        "lightning's, from this module",
    ]


THIRD_PARTY = [
    LEAF_SPEC,
    LOGGING_INTERVAL,
    LITLOGGER,
    "multiple `ModelCheckpoint` callbacks",
    "The anonymous setting has no effect",
]


@pytest.mark.slow
def test_a_digits_run_shows_the_librarys_warning_and_none_of_the_third_party_ones(tmp_path):
    """quanv_tiny on digits with W&B offline, 3 batches an epoch (under Lightning's logging
    interval of 10): the output has the library's --normalize warning and none of
    `THIRD_PARTY`."""
    command = [sys.executable, str(ROOT / "experiments" / "run.py"), "--model", "quanv_tiny"]
    command += ["--data", "digits", "--max-epochs", "1", "--batch-size", "512"]
    command += ["--logger", "wandb", "--progress-bar", "false", "--output-dir", str(tmp_path)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "WANDB_MODE": "offline"}
    env |= {"OMP_WAIT_POLICY": "PASSIVE", "WANDB_DIR": str(tmp_path)}
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "pass --normalize false" in output
    assert [message for message in THIRD_PARTY if message in output] == []
