"""The library's callbacks: a NaN loss stops training with the last good checkpoint kept; the
random number generators' states travel in checkpoints."""

from __future__ import annotations

import random

import lightning as L
import numpy as np
import pytest
import torch
from lightning.pytorch.callbacks import ModelCheckpoint

from hqnn_lightning.data import DigitsDataModule
from hqnn_lightning.models import ClassicalResNet
from hqnn_lightning.run.callbacks import NonFiniteLossError, RngStateCheckpoint, StopOnNonFiniteLoss

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
