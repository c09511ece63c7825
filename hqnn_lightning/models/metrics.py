"""Loss, top-1/top-5 accuracy and macro F1 per stage, shared by every model of the library."""

from __future__ import annotations

import warnings

import torch
from torchmetrics import MeanMetric, MetricCollection
from torchmetrics.classification import (
    MulticlassAccuracy,
    MulticlassConfusionMatrix,
    MulticlassF1Score,
    MulticlassStatScores,
)

from hqnn_lightning.models.top_k_accuracy import TopKAccuracy

STAGES = ("train", "val", "test")
TOP_K = 5

CONFUSION_MAX_CLASSES = 256
"""Above this many classes no test confusion matrix is kept (VMMRdb's 9,170 would need 84M
counts, and no figure could show them)."""


class MacroAveragedClasses(MulticlassStatScores):
    """How many classes torchmetrics' macro average (``f1_macro``) is taken over: those that
    are the label or the top-1 prediction of at least one sample (``tp + fp + fn > 0``).
    torchmetrics gives every other class weight 0, so a class with no test image is left out
    of the average unless the model predicts it, and then counts with F1 0. Computes an int64
    scalar.

    Args:
        num_classes: The number of classes of the logits ``(B, num_classes)``.
    """

    def __init__(self, num_classes: int) -> None:
        super().__init__(num_classes, average=None)

    def compute(self) -> torch.Tensor:
        return (self.tp + self.fp + self.fn > 0).sum()


def classification_metrics(
    num_classes: int, prefix: str = "", macro_classes: bool = True
) -> MetricCollection:
    """Top-1 and top-5 accuracy (top-5 clipped to ``num_classes``) and macro F1 of logits
    ``(B, num_classes)`` against labels ``(B,)``, keys ``{prefix}acc_top1``,
    ``{prefix}acc_top5``, ``{prefix}f1_macro``, and with ``macro_classes`` the number of
    classes macro F1 averages over, ``{prefix}f1_macro_classes`` (`MacroAveragedClasses`).
    Top-5 is torchmetrics' ``MulticlassAccuracy`` counted without sorting (`TopKAccuracy`:
    the same states and values)."""
    metrics = {
        "acc_top1": MulticlassAccuracy(num_classes, top_k=1, average="micro"),
        "acc_top5": TopKAccuracy(num_classes, top_k=min(TOP_K, num_classes), average="micro"),
        "f1_macro": MulticlassF1Score(num_classes, average="macro"),
    }
    if macro_classes:
        metrics["f1_macro_classes"] = MacroAveragedClasses(num_classes)
    return MetricCollection(metrics, prefix=prefix)


class ClassificationMetricsMixin:
    """The metrics of a classifier LightningModule; `ImageClassifier`'s steps update and log them.

    Mix it in before ``LightningModule`` and call `_init_metrics` from ``__init__``; it
    has no ``__init__`` of its own, so inheritance order never surprises. Logged per epoch, the
    keys are ``{stage}/loss``, ``{stage}/acc_top1``, ``{stage}/acc_top5`` and
    ``{stage}/f1_macro`` for ``stage`` in ``train``, ``val``, ``test``, and
    ``{stage}/f1_macro_classes`` (the number of classes macro F1 averages over,
    `MacroAveragedClasses`) for ``val`` and ``test``. Top-5 is clipped to
    ``num_classes`` (so it reads 1.0 with five classes or fewer, with a warning when the model is
    built). The test stage also counts a
    confusion matrix (`confusion_matrix`), up to `CONFUSION_MAX_CLASSES` classes, and keeps
    each image's label, top-1 prediction and whether the label is in the top 5
    (`test_predictions`).

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
        for stage in STAGES:
            # Not for train: its states are in checkpoints, which one more metric would make
            # unloadable for the runs saved before it.
            metrics = classification_metrics(num_classes, f"{stage}/", stage != "train")
            setattr(self, f"{stage}_metrics", metrics)
            setattr(self, f"{stage}_loss", MeanMetric())
        self.train_metrics.persistent(True)
        self.train_loss.persistent(True)
        self.test_confusion = (
            MulticlassConfusionMatrix(num_classes) if num_classes <= CONFUSION_MAX_CLASSES else None
        )
        self._test_predictions: list[torch.Tensor] = []

    def _record_test_predictions(self, logits: torch.Tensor, labels: torch.Tensor) -> None:
        """Keeps a test batch's ``(B, 3)`` rows of `test_predictions` (on the batch's device)."""
        top = logits.topk(min(TOP_K, logits.shape[1]), dim=1).indices
        in_top = (top == labels[:, None]).any(dim=1)
        rows = [labels.long(), logits.argmax(dim=1), in_top.long()]
        self._test_predictions.append(torch.stack(rows, dim=1))

    def test_predictions(self) -> torch.Tensor | None:
        """The last test's images in the order this process saw them, ``(N, 3)`` int64 on the
        CPU: the label, the top-1 prediction (``argmax``: a tie goes to the lower class, as
        in ``acc_top1``) and 1 where the label is among the top 5 (clipped to ``num_classes``),
        else 0; ``None`` when this process ran no test batch. Not gathered across processes:
        under DDP each holds its own share of the test set."""
        if not self._test_predictions:
            return None
        return torch.cat(self._test_predictions).cpu()

    def confusion_matrix(self) -> torch.Tensor | None:
        """Counts of the last test, ``(num_classes, num_classes)`` int64, rows the true class
        and columns the predicted one; ``None`` above `CONFUSION_MAX_CLASSES` classes, or
        when this process ran no test batch (``ddp_spawn`` tests in spawned processes)."""
        if self.test_confusion is None or self.test_confusion.update_count == 0:
            return None
        return self.test_confusion.compute()
