"""The library's callbacks: a NaN loss stops training with the last good checkpoint kept."""

from __future__ import annotations

import lightning as L
import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint

from hqnn_lightning.callbacks import NonFiniteLossError, StopOnNonFiniteLoss
from hqnn_lightning.data import DigitsDataModule
from hqnn_lightning.models import ClassicalResNet

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
