"""Loss, top-1/top-5 accuracy and macro F1 per stage, shared by every model of the library."""

from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F
from torchmetrics import MeanMetric, MetricCollection
from torchmetrics.classification import (
    MulticlassAccuracy,
    MulticlassConfusionMatrix,
    MulticlassF1Score,
)

STAGES = ("train", "val", "test")
TOP_K = 5

CONFUSION_MAX_CLASSES = 256
"""Above this many classes no test confusion matrix is kept (VMMRdb's 9,170 would need 84M
counts, and no figure could show them)."""


class ClassificationMetricsMixin:
    """Metrics and the shared train/val/test steps of a classifier LightningModule.

    Mix it in before ``LightningModule`` and call `_init_metrics` from ``__init__``; it
    has no ``__init__`` of its own, so inheritance order never surprises. Logged per epoch, the
    keys are ``{stage}/loss``, ``{stage}/acc_top1``, ``{stage}/acc_top5`` and
    ``{stage}/f1_macro`` for ``stage`` in ``train``, ``val``, ``test``. Top-5 is clipped to
    ``num_classes`` (so it reads 1.0 with five classes or fewer, with a warning when the model is
    built). The test stage also counts a
    confusion matrix (`confusion_matrix`), up to `CONFUSION_MAX_CLASSES` classes.

    The loss is a ``MeanMetric`` weighted by batch size. The train stage's metric states are
    part of the ``state_dict``, so a checkpoint saved in the middle of an epoch holds the
    running sums, and a run resumed from it reports the epoch's metrics over all its batches;
    they are reset when an epoch starts and logged when it ends (also when a run resumes at an
    epoch's end, where Lightning has seen no training step log them).

    The host module must map images ``(B, C, H, W)`` to logits ``(B, num_classes)``.
    """

    def _init_metrics(self, num_classes: int) -> None:
        if num_classes < 2:
            raise ValueError(f"num_classes must be at least 2, got {num_classes}")
        if num_classes <= TOP_K:
            warnings.warn(
                f"with {num_classes} classes every prediction is in the top {TOP_K}, so "
                f"acc_top{TOP_K} is always 1.0 and says nothing; read acc_top1",
                stacklevel=3,
            )
        metrics = MetricCollection(
            {
                "acc_top1": MulticlassAccuracy(num_classes, top_k=1, average="micro"),
                "acc_top5": MulticlassAccuracy(
                    num_classes, top_k=min(TOP_K, num_classes), average="micro"
                ),
                "f1_macro": MulticlassF1Score(num_classes, average="macro"),
            }
        )
        for stage in STAGES:
            setattr(self, f"{stage}_metrics", metrics.clone(prefix=f"{stage}/"))
            setattr(self, f"{stage}_loss", MeanMetric())
        self.train_metrics.persistent(True)
        self.train_loss.persistent(True)
        self.test_confusion = (
            MulticlassConfusionMatrix(num_classes) if num_classes <= CONFUSION_MAX_CLASSES else None
        )

    def on_train_epoch_start(self) -> None:
        self.train_metrics.reset()
        self.train_loss.reset()

    def on_train_epoch_end(self) -> None:
        self.log("train/loss", self.train_loss.compute(), prog_bar=True)
        self.log_dict(self.train_metrics.compute())

    def on_test_epoch_start(self) -> None:
        if self.test_confusion is not None:
            self.test_confusion.reset()

    def confusion_matrix(self) -> torch.Tensor | None:
        """Counts of the last test, ``(num_classes, num_classes)`` int64, rows the true class
        and columns the predicted one; ``None`` above `CONFUSION_MAX_CLASSES` classes, or
        when this process ran no test batch (``ddp_spawn`` tests in spawned processes)."""
        if self.test_confusion is None or self.test_confusion.update_count == 0:
            return None
        return self.test_confusion.compute()

    def _batch_logits(self, inputs: torch.Tensor) -> torch.Tensor:
        """Logits of a batch's inputs: ``self(inputs)``, unless a model's batches hold
        something other than images (precomputed features)."""
        return self(inputs)

    def _step(self, batch: tuple[torch.Tensor, torch.Tensor], stage: str) -> torch.Tensor:
        images, labels = batch
        logits = self._batch_logits(images)
        loss = F.cross_entropy(logits, labels)
        metrics: MetricCollection = getattr(self, f"{stage}_metrics")
        metrics.update(logits.detach(), labels)
        if stage == "test" and self.test_confusion is not None:
            self.test_confusion.update(logits.detach(), labels)
        mean_loss: MeanMetric = getattr(self, f"{stage}_loss")
        mean_loss.update(loss.detach(), weight=labels.shape[0])
        if stage != "train":  # the train stage logs in on_train_epoch_end
            self.log(f"{stage}/loss", mean_loss, on_step=False, on_epoch=True, prog_bar=True)
            self.log_dict(metrics, on_step=False, on_epoch=True, prog_bar=True)
        return loss

    def training_step(
        self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int
    ) -> torch.Tensor:
        return self._step(batch, "train")

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        self._step(batch, "val")

    def test_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        self._step(batch, "test")
