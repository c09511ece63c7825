"""A model's frozen modules stay in eval mode through ``train()``, ``eval()`` and the
validations of a fit, and releasing gradients before a validation skips them; a checkpoint
leaves out the tensors that `frozen_state` names, in its order."""

from __future__ import annotations

import lightning as L
import torch
from torch.utils.data import DataLoader, TensorDataset

from hqnn_lightning.models import frozen_state
from hqnn_lightning.models.classical import ClassicalResNet
from hqnn_lightning.models.frozen_state import FINGERPRINT_KEY
from tests.models.test_frozen_checkpoint import build, weights_file


def frozen_model() -> ClassicalResNet:
    torch.manual_seed(0)
    return ClassicalResNet(num_classes=3, arch="small_cnn", in_channels=1, freeze_backbone=True)


def modes(model: torch.nn.Module) -> dict[str, bool]:
    return {name: module.training for name, module in model.named_modules()}


def expected(model: ClassicalResNet, mode: bool) -> dict[str, bool]:
    """``mode`` everywhere but in the frozen backbone, which is in eval mode."""
    return {
        name: mode and not (name == "backbone" or name.startswith("backbone."))
        for name, _ in model.named_modules()
    }


def test_train_and_eval_leave_the_frozen_backbone_in_eval_mode():
    model = frozen_model()
    assert modes(model.train()) == expected(model, True)
    assert modes(model.eval()) == expected(model, False)
    model.backbone.train()  # set by hand: the next train() puts it back
    assert modes(model.train()) == expected(model, True)


class Modes(L.Callback):
    """Every module's mode at the start of each training batch after the first epoch's
    validation; at each validation's start, checks the modes and that no gradient is left."""

    def __init__(self) -> None:
        self.seen: list[dict[str, bool]] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if trainer.current_epoch > 0:
            self.seen.append(modes(pl_module))

    def on_validation_start(self, trainer, pl_module) -> None:
        assert modes(pl_module) == expected(pl_module, False)
        assert all(p.grad is None for p in pl_module.parameters())


def test_a_fit_validates_in_eval_mode_then_trains_in_the_modes_it_had():
    model = frozen_model()
    images = torch.rand(12, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    data = TensorDataset(images, torch.arange(12) % 3)
    seen = Modes()
    trainer = L.Trainer(
        max_epochs=2,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[seen],
    )
    trainer.fit(model, DataLoader(data, batch_size=6), DataLoader(data, batch_size=6))
    assert seen.seen == [expected(model, True)] * 2


def test_a_checkpoint_leaves_out_what_frozen_state_names_with_its_fingerprint(tmp_path):
    file = weights_file(tmp_path / "backbone.pt", seed=0)
    model = build(file)
    frozen = frozen_state.frozen_state(model, [model.backbone])
    for _ in range(2):  # the names are found once, then read again
        checkpoint = {"state_dict": model.state_dict()}
        model.on_save_checkpoint(checkpoint)
        assert checkpoint[FINGERPRINT_KEY] == frozen_state.fingerprint(
            model.frozen_source(), [model.backbone], frozen
        )
        assert not set(frozen) & set(checkpoint["state_dict"])
        assert set(checkpoint["state_dict"]) == set(model.state_dict()) - set(frozen)
