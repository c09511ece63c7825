"""The library's callbacks: a NaN loss stops training with the last good checkpoint kept; the
random number generators' states and the CSV rows travel in checkpoints; a run saves its
per-image test predictions."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger
from torch.utils.data import DataLoader, TensorDataset

from hqnn_lightning.data import DigitsDataModule
from hqnn_lightning.models import ClassicalResNet
from hqnn_lightning.report import PREDICTIONS_FILE, read_predictions
from hqnn_lightning.run.callbacks import (
    CSVMetricsCheckpoint,
    NonFiniteLossError,
    RngStateCheckpoint,
    StopOnNonFiniteLoss,
)
from hqnn_lightning.run.cli import main as run_main

FAULTY_STEP = 25  # in the second epoch: digits has 20 training batches of 64


class LossTurnsNaN(ClassicalResNet):
    def training_step(self, batch, batch_idx):
        loss = super().training_step(batch, batch_idx)
        return loss * float("nan") if self.global_step == FAULTY_STEP else loss


def test_nan_loss_stops_at_its_step_and_the_last_checkpoint_is_good(tmp_path):
    model = LossTurnsNaN(num_classes=10, arch="small_cnn", in_channels=1, image_size=8)
    checkpoint = ModelCheckpoint(dirpath=tmp_path, save_last=True)
    trainer = L.Trainer(
        max_epochs=3,
        callbacks=[checkpoint, StopOnNonFiniteLoss()],
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    with pytest.raises(NonFiniteLossError, match=f"nan at epoch 1, global step {FAULTY_STEP};"):
        trainer.fit(model, datamodule=DigitsDataModule())
    saved = torch.load(tmp_path / "last.ckpt", weights_only=False)
    assert saved["epoch"] == 0
    assert all(torch.isfinite(value).all() for value in saved["state_dict"].values())
    assert all(torch.isfinite(parameter).all() for parameter in model.parameters())


class TestRngStateCheckpoint:
    def draws(self) -> tuple[float, float, float]:
        return random.random(), float(np.random.rand()), torch.rand(()).item()  # noqa: NPY002

    def test_restores_python_numpy_and_torch_when_fitting(self, tmp_path):
        callback = RngStateCheckpoint()
        torch.save({"callbacks": {callback.state_key: callback.state_dict()}}, tmp_path / "c.ckpt")
        expected = self.draws()
        checkpoint = torch.load(tmp_path / "c.ckpt", weights_only=True)  # plain tensors/values
        trainer = L.Trainer(logger=False)
        trainer.state.fn = "fit"
        callback.on_load_checkpoint(trainer, None, checkpoint)
        assert self.draws() == expected

    def test_left_alone_when_a_checkpoint_is_loaded_to_test(self):
        callback = RngStateCheckpoint()
        checkpoint = {"callbacks": {callback.state_key: callback.state_dict()}}
        first = self.draws()
        trainer = L.Trainer(logger=False)
        trainer.state.fn = "test"
        callback.on_load_checkpoint(trainer, None, checkpoint)
        assert self.draws() != first


class LogsAtEveryLevel(L.LightningModule):
    """A linear regression that logs a step metric, a validation metric and, in its
    ``on_train_epoch_end``, the epoch's training metric: the row Lightning sends to the loggers
    only after the epoch-end checkpoints are saved."""

    def __init__(self) -> None:
        super().__init__()
        self.layer = torch.nn.Linear(4, 1)

    def loss(self, batch: list[torch.Tensor]) -> torch.Tensor:
        inputs, targets = batch
        return torch.nn.functional.mse_loss(self.layer(inputs), targets)

    def training_step(self, batch: list[torch.Tensor], batch_idx: int) -> torch.Tensor:
        loss = self.loss(batch)
        self.log("train/step_loss", loss)
        return loss

    def validation_step(self, batch: list[torch.Tensor], batch_idx: int) -> None:
        self.log("val/loss", self.loss(batch))

    def on_train_epoch_end(self) -> None:
        self.log("train/weight_norm", self.layer.weight.norm())

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.1)


class TestCSVMetricsCheckpoint:
    EPOCHS = 3

    def fit(self, run_dir: Path, checkpoint: Path | None = None) -> None:
        """Fits `LogsAtEveryLevel` for `EPOCHS` epochs into ``run_dir`` (from ``checkpoint``),
        saving a checkpoint at every epoch's end as `EpochCheckpoint` does."""
        L.seed_everything(3)
        data = TensorDataset(torch.randn(24, 4), torch.randn(24, 1))
        logger = CSVLogger(run_dir, name="", version="csv")
        every_epoch = ModelCheckpoint(
            dirpath=run_dir / "checkpoints",
            filename="epoch{epoch}",
            auto_insert_metric_name=False,
            save_top_k=-1,
        )
        trainer = L.Trainer(
            max_epochs=self.EPOCHS,
            logger=logger,
            callbacks=[CSVMetricsCheckpoint(logger), every_epoch],
            log_every_n_steps=2,
            enable_progress_bar=False,
            enable_model_summary=False,
        )
        loader = DataLoader(data, batch_size=8)
        trainer.fit(LogsAtEveryLevel(), loader, loader, ckpt_path=checkpoint)

    @staticmethod
    def logged(rows: list[dict[str, str]]) -> list[dict[str, str]]:
        """``rows`` without the empty cells of metrics a row does not hold."""
        return [{key: value for key, value in row.items() if value != ""} for row in rows]

    @staticmethod
    def csv_rows(run_dir: Path) -> list[dict[str, str]]:
        with (run_dir / "csv" / "metrics.csv").open(newline="") as file:
            return list(csv.DictReader(file))

    def test_an_epoch_checkpoint_holds_the_rows_up_to_its_epoch_end(self, tmp_path):
        self.fit(tmp_path)
        rows = self.logged(self.csv_rows(tmp_path))
        for epoch in range(self.EPOCHS):
            saved = torch.load(tmp_path / "checkpoints" / f"epoch{epoch}.ckpt", weights_only=True)
            state = saved["callbacks"][CSVMetricsCheckpoint.__qualname__]
            up_to_epoch = [row for row in rows if int(row["epoch"]) <= epoch]
            assert self.logged(state["rows"]) == up_to_epoch
            assert "train/weight_norm" in up_to_epoch[-1]  # the row sent after the save

    def test_a_run_resumed_at_an_epoch_end_writes_each_epoch_once(self, tmp_path):
        self.fit(tmp_path / "whole")
        self.fit(tmp_path / "resumed")
        checkpoint = tmp_path / "resumed" / "checkpoints" / "epoch0.ckpt"
        self.fit(tmp_path / "resumed", checkpoint)
        resumed = self.csv_rows(tmp_path / "resumed")
        assert resumed == self.csv_rows(tmp_path / "whole")
        train_rows = [row["epoch"] for row in resumed if row["train/weight_norm"]]
        assert train_rows == [str(epoch) for epoch in range(self.EPOCHS)]


@pytest.mark.slow
@pytest.mark.parametrize(
    "options",
    [[], ["--freeze-backbone", "true", "--precompute-features", "true", "--cache-dir", "{tmp}"]],
    ids=["images", "cached_features"],
)
def test_a_run_saves_its_test_predictions_one_row_per_image(tmp_path, options):
    argv = ["--model", "classical_tiny", "--arch", "small_cnn", "--max-epochs", "1"]
    argv += ["--logger", "csv", "--output-dir", str(tmp_path)]
    (results,) = run_main([*argv, *(option.format(tmp=tmp_path) for option in options)])
    run_dir = Path(results["run_dir"])
    predictions = read_predictions(run_dir / PREDICTIONS_FILE)
    data = DigitsDataModule(seed=0)
    data.setup("test")
    labels = torch.cat([labels for _, labels in data.test_dataloader()])
    assert predictions.labels.tolist() == labels.tolist()  # the 270 test images, in order
    saved = json.loads((run_dir / "results.json").read_text())
    assert predictions.correct.mean() == pytest.approx(saved["test/acc_top1"])
    assert predictions.correct_top5.mean() == pytest.approx(saved["test/acc_top5"])
    assert not any(path.name.endswith(".partial") for path in run_dir.iterdir())
    assert any(tmp_path.glob("*features*")) == bool(options)  # the cache was used


def test_no_predictions_under_fast_dev_run(tmp_path):
    argv = ["--model", "classical_tiny", "--arch", "small_cnn", "--fast-dev-run", "true"]
    (results,) = run_main([*argv, "--logger", "csv", "--output-dir", str(tmp_path)])
    assert not (Path(results["run_dir"]) / PREDICTIONS_FILE).exists()
