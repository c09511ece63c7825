"""Fits tiny models on 2 CPU processes (gloo) with a Lightning strategy and saves what each
rank trained on: ``python -m tests.distributed.ddp_fit OUT STRATEGY MODEL[:Q_DEVICE] ...``.

Lightning's ``ddp`` launcher starts rank 1 by running this command again, so this is a script
rather than a test function. Each model is fitted for 2 epochs, with a checkpoint in the middle
of epoch 1 (`MID_EPOCH_STEP`), then fitted again from that checkpoint. Each rank writes
``OUT/<model>-rank<r>.pt``: its parameters before and after the first fit, and the train
indices it loaded in each epoch of both fits, from a callback, which also runs in
``ddp_spawn``'s processes.
"""

import sys
from pathlib import Path

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from torch.utils.data import Dataset

from hqnn_lightning.data.synthetic import SyntheticImageDataModule
from hqnn_lightning.models import create_model

BATCH_SIZE = 8
"""48 training samples: 3 batches of 8 per rank and epoch."""
MID_EPOCH_STEP = 4
"""The step after the first batch of epoch 1, where the step checkpoint is taken."""


class RecordedIndices(Dataset):
    """A dataset that records the indices it is asked for (loaded in this process)."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset
        self.indices: list[int] = []

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int):
        self.indices.append(index)
        return self.dataset[index]


class RecordedSynthetic(SyntheticImageDataModule):
    def build_datasets(self):
        train, val, test = super().build_datasets()
        return RecordedIndices(train), val, test


def parameters(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The trainable weights (batch-norm running statistics are buffers, kept per rank)."""
    return {name: value.detach().cpu().clone() for name, value in model.named_parameters()}


class Record(L.Callback):
    """Saves the rank's parameters and, per epoch, the train indices it loaded."""

    def __init__(self, path_pattern: str) -> None:
        self.path_pattern = path_pattern
        self.before: dict[str, torch.Tensor] = {}
        self.epochs: dict[int, list[int]] = {}

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.before = parameters(pl_module)

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        train_set = trainer.datamodule.train_set
        self.epochs[trainer.current_epoch] = list(train_set.indices)
        train_set.indices.clear()

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        torch.save(
            {
                "before": self.before,
                "after": parameters(pl_module),
                "world": trainer.world_size,
                "epochs": self.epochs,
            },
            self.path_pattern.format(rank=trainer.global_rank),
        )


def fit(spec: str, strategy: str, out: Path, resume: Path | None = None) -> None:
    model_name, _, q_device = spec.partition(":")
    L.seed_everything(0)
    data = RecordedSynthetic(image_size=4, batch_size=BATCH_SIZE)
    model = create_model(
        model_name, num_classes=3, in_channels=3, image_size=4, q_device=q_device or None
    )
    name = f"{model_name}-resumed" if resume else model_name
    callbacks: list[L.Callback] = [Record(str(out / f"{name}-rank{{rank}}.pt"))]
    if resume is None:
        callbacks.append(
            ModelCheckpoint(
                out / model_name, "mid-epoch", every_n_train_steps=MID_EPOCH_STEP, save_top_k=-1
            )
        )
    trainer = L.Trainer(
        strategy=strategy,
        devices=2,
        accelerator="cpu",
        max_epochs=2,
        limit_val_batches=0,
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=callbacks,
    )
    trainer.fit(model, datamodule=data, ckpt_path=resume)


if __name__ == "__main__":
    torch.set_num_threads(1)
    out = Path(sys.argv[1])
    for spec in sys.argv[3:]:
        fit(spec, sys.argv[2], out)
        fit(spec, sys.argv[2], out, resume=out / spec.partition(":")[0] / "mid-epoch.ckpt")
