"""Top-k accuracy counted without sorting: torchmetrics' ``MulticlassAccuracy`` with
``top_k > 1`` calls ``torch.topk`` twice and one-hot encodes its predictions at every update,
2.0 ms for logits ``(512, 196)`` on one thread, more than a frozen head's step costs;
`TopKAccuracy` takes 0.17 ms (``benchmarks/frozen_overheads.py``).

Whether a label is among the ``k`` largest of the ``C`` logits of its row follows from two
counts: with ``above`` logits strictly greater than the label's and ``below`` strictly
smaller, the label is in the top ``k`` when ``below >= C - k`` (at most ``k`` logits, its
own included, are not below it) and out of it when ``above >= k``, whichever logits
``torch.topk`` picks among equal ones. In between, where the top-1 prediction of a row whose
label is out is tied (torchmetrics counts that class as a false positive), or where a row
holds a NaN, the answer depends on ``torch.topk``'s choice, and the batch goes to
torchmetrics' own update.
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
    equal logits decides either, or a row holds a NaN or two infinities of one sign.

    Counted in floats, which is exact: the sign of the difference of two floats is the sign
    of their comparison (a difference rounds to 0 only between equal floats; with denormals
    flushed to zero, equal is all it can wrongly say, which only sends rows to ``None``), and
    sums of up to 2**24 ones are exact in float32. Comparisons to booleans and ``max`` with
    indices cost 3-4 times as much on a CPU."""
    if preds.dtype not in (torch.float32, torch.float64):
        preds = preds.float()  # exactly: counts of 196 ones overflow bfloat16's integers
    target = target.long()
    signs = (preds - preds.gather(1, target[:, None])).sign_()
    difference = signs.sum(1)  # logits above the label's, less those below it
    total = signs.abs_().sum(1)  # logits above it and below it
    at_top = (preds - preds.amax(1, keepdim=True)).sign_().add_(1)  # 1 at a row's largest
    top_count = at_top.sum(1)
    in_top = total - difference >= 2 * (num_classes - k)  # at least C - k logits below
    out_undecided = (total + difference < 2 * k) | (top_count != 1)
    if bool(
        torch.any(~in_top & out_undecided) | difference.isnan().any() | top_count.isnan().any()
    ):
        return None
    hit_miss = torch.bincount(target + num_classes * (~in_top), minlength=2 * num_classes)
    tp, fn = hit_miss[:num_classes], hit_miss[num_classes:]
    fp = ((~in_top).to(at_top.dtype) @ at_top).long()  # each miss's top-1 class
    return tp, fp, len(target) - tp - fp - fn, fn
