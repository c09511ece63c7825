"""One tiny fit per model on the real built-in digits, read back from the CSV logger."""

import csv

import lightning as L
import pytest
from lightning.pytorch.loggers import CSVLogger

from hqnn_lightning.data import DigitsDataModule
from hqnn_lightning.models import create_model

EPOCH_KEYS = {
    f"{stage}/{name}"
    for stage in ("train", "val")
    for name in ("loss", "acc_top1", "acc_top5", "f1_macro")
}


@pytest.mark.slow
@pytest.mark.parametrize("name", ["classical_tiny", "hybrid_tiny", "quanv_tiny"])
def test_one_epoch_logs_every_metric(name, tmp_path):
    L.seed_everything(0)
    data = DigitsDataModule(batch_size=32)
    data.setup()
    model = create_model(
        name,
        num_classes=data.num_classes,
        in_channels=data.num_channels,
        image_size=data.image_size,
    )
    trainer = L.Trainer(
        max_epochs=2,
        limit_train_batches=4,
        limit_val_batches=2,
        limit_test_batches=2,
        logger=CSVLogger(tmp_path, name="", version="csv"),
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        accelerator="cpu",
    )
    trainer.fit(model, datamodule=data)
    test_metrics = trainer.test(model, datamodule=data, verbose=False)[0]

    rows = list(csv.DictReader((tmp_path / "csv" / "metrics.csv").open()))
    logged = {key for row in rows for key, value in row.items() if value}
    assert logged >= EPOCH_KEYS | {"test/acc_top1", "test/acc_top5", "test/loss"}
    val_rows = [row for row in rows if row["val/acc_top1"]]
    assert [int(row["epoch"]) for row in val_rows] == [0, 1]
    for row in val_rows:
        assert 0 <= float(row["val/acc_top1"]) <= float(row["val/acc_top5"]) <= 1
    assert set(test_metrics) >= {"test/acc_top1", "test/acc_top5", "test/f1_macro", "test/loss"}
