"""Top-k accuracy counted without sorting: torchmetrics' ``MulticlassAccuracy`` with
``top_k > 1`` calls ``torch.topk`` twice and one-hot encodes its predictions at every update,
2.0 ms for logits ``(512, 196)`` on one thread, more than a frozen head's step costs
(``benchmarks/top_k_accuracy.py``).

Whether a label is among the ``k`` largest logits of its row follows from two counts: with
``above`` logits strictly greater than the label's and ``level`` equal to it (the label's
own included), the label is in the top ``k`` when ``above + level <= k`` and out of it when
``above >= k``, whichever logits ``torch.topk`` picks among equal ones. In between, and where
the top-1 prediction of a row whose label is out is tied (torchmetrics counts that class as a
false positive) or a row holds a NaN, the answer depends on ``torch.topk``'s choice, and the
batch goes to torchmetrics' own update.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torchmetrics.classification import MulticlassAccuracy
from torchmetrics.functional.classification.stat_scores import (
    _multiclass_stat_scores_tensor_validation,
)


class TopKAccuracy(MulticlassAccuracy):
    """``MulticlassAccuracy`` whose update of logits ``(B, C)`` against labels ``(B,)`` with
    ``top_k > 1`` counts without ``torch.topk`` (the module's docstring): the same states
    (``tp``, ``fp``, ``tn``, ``fn``, int64 ``(C,)``, so its ``state_dict`` is
    ``MulticlassAccuracy``'s), the same values after every update, the same errors for bad
    input. Other inputs (``top_k=1``, ``multidim_average="samplewise"``, extra dimensions,
    integer predictions, an empty batch) and batches whose ties ``torch.topk`` decides are
    ``MulticlassAccuracy``'s update. Takes ``MulticlassAccuracy``'s arguments.
    """

    def update(self, preds: Tensor, target: Tensor) -> None:
        """Counts a batch of logits ``preds`` ``(B, C)`` against labels ``target`` ``(B,)``."""
        counts = None
        if self._counts_without_sorting(preds, target):
            if self.validate_args:
                _multiclass_stat_scores_tensor_validation(
                    preds, target, self.num_classes, self.multidim_average, self.ignore_index
                )
            kept = slice(None) if self.ignore_index is None else target != self.ignore_index
            # torchmetrics counts nothing of a row whose label is ignore_index
            counts = _top_k_counts(preds[kept], target[kept], self.top_k, self.num_classes)
        if counts is None:
            super().update(preds, target)
        else:
            self._update_state(*counts)

    def _counts_without_sorting(self, preds: Tensor, target: Tensor) -> bool:
        return (
            self.top_k > 1
            and self.multidim_average == "global"
            and preds.ndim == 2
            and target.shape == preds.shape[:1]
            and len(target) > 0  # torchmetrics refuses an empty batch
            and preds.is_floating_point()
        )


def _top_k_counts(
    preds: Tensor, target: Tensor, k: int, num_classes: int
) -> tuple[Tensor, Tensor, Tensor, Tensor] | None:
    """Per class ``(tp, fp, tn, fn)``, int64 ``(C,)``, of logits ``preds`` ``(B, C)`` against
    labels ``target`` ``(B,)`` as torchmetrics counts top-``k`` hits: a row whose label is in
    the top ``k`` is a true positive of its label; another is a false negative of its label
    and a false positive of its top-1 class; ``None`` where ``torch.topk``'s choice among
    equal logits (or a NaN) decides either."""
    target = target.long()
    label_logit = preds.gather(1, target[:, None])
    above = (preds > label_logit).sum(1)
    level = (preds == label_logit).sum(1)
    top, top_class = preds.max(1)
    top_ties = (preds == top[:, None]).sum(1)
    in_top = above + level <= k
    undecided = ~in_top & ((above < k) | (top_ties > 1))
    if bool(undecided.any() | preds.isnan().any()):
        return None
    tp_fn = torch.bincount(target + num_classes * (~in_top), minlength=2 * num_classes)
    tp, fn = tp_fn[:num_classes], tp_fn[num_classes:]
    fp = torch.bincount(torch.where(in_top, num_classes, top_class), minlength=num_classes + 1)
    fp = fp[:num_classes]
    return tp, fp, len(target) - tp - fp - fn, fn
