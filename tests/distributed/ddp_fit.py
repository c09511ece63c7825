"""Fits tiny models on 2 CPU processes (gloo) with a Lightning strategy and saves each rank's
parameters: ``python -m tests.distributed.ddp_fit OUT STRATEGY MODEL[:Q_DEVICE] ...``.

Lightning's ``ddp`` launcher starts rank 1 by running this command again, so this is a script
rather than a test function. Each rank writes ``OUT/<model>-rank<r>.pt`` with its parameters
before and after one epoch, from a callback, which also runs in ``ddp_spawn``'s processes.
"""

import sys
from pathlib import Path

import lightning as L
import torch

from hqnn_lightning.data.synthetic import SyntheticImageDataModule
from hqnn_lightning.models import create_model


def parameters(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The trainable weights (batch-norm running statistics are buffers, kept per rank)."""
    return {name: value.detach().cpu().clone() for name, value in model.named_parameters()}


class SaveParameters(L.Callback):
    def __init__(self, path_pattern: str) -> None:
        self.path_pattern = path_pattern
        self.before: dict[str, torch.Tensor] = {}

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.before = parameters(pl_module)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        torch.save(
            {"before": self.before, "after": parameters(pl_module), "world": trainer.world_size},
            self.path_pattern.format(rank=trainer.global_rank),
        )


def fit(spec: str, strategy: str, out: Path) -> None:
    model_name, _, q_device = spec.partition(":")
    L.seed_everything(0)
    data = SyntheticImageDataModule(image_size=4, batch_size=8)
    model = create_model(
        model_name, num_classes=3, in_channels=3, image_size=4, q_device=q_device or None
    )
    trainer = L.Trainer(
        strategy=strategy,
        devices=2,
        accelerator="cpu",
        max_epochs=1,
        limit_val_batches=0,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[SaveParameters(str(out / f"{model_name}-rank{{rank}}.pt"))],
    )
    trainer.fit(model, datamodule=data)


if __name__ == "__main__":
    torch.set_num_threads(1)
    for spec in sys.argv[3:]:
        fit(spec, sys.argv[2], Path(sys.argv[1]))
