"""`TopKAccuracy` counts what torchmetrics' ``MulticlassAccuracy`` counts, ties included."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torchmetrics.classification import MulticlassAccuracy, MulticlassStatScores

from hqnn_lightning.models.top_k_accuracy import TopKAccuracy

# A metric loaded from a state dict, or given no batch, computes before any update.
pytestmark = pytest.mark.filterwarnings("ignore:The ``compute`` method of metric")


INF = float("inf")


def both(num_classes: int, **options) -> tuple[TopKAccuracy, MulticlassAccuracy]:
    return TopKAccuracy(num_classes, **options), MulticlassAccuracy(num_classes, **options)


def assert_same(fast: TopKAccuracy, reference: MulticlassAccuracy) -> None:
    for state in ("tp", "fp", "tn", "fn"):
        assert torch.equal(getattr(fast, state), getattr(reference, state)), state
    assert torch.equal(fast.compute(), reference.compute())


@st.composite
def batches(draw, num_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits ``(B, C)`` from a few levels (ties within a row are common), continuous (with
    denormals) or among infinities and NaN, float32 or bfloat16, and labels ``(B,)``."""
    size = draw(st.integers(0, 9))
    values = draw(
        st.sampled_from(
            [
                st.integers(0, draw(st.integers(0, 2))).map(float),
                st.floats(-4, 4, width=32),
                st.sampled_from([-INF, -1.0, 0.0, 1.0, INF, float("nan")]),
            ]
        )
    )
    logits = draw(st.lists(values, min_size=size * num_classes, max_size=size * num_classes))
    labels = draw(st.lists(st.integers(0, num_classes - 1), min_size=size, max_size=size))
    dtype = draw(st.sampled_from([torch.float32, torch.bfloat16]))
    logits = torch.tensor(logits, dtype=dtype).reshape(size, num_classes)
    return logits, torch.tensor(labels, dtype=torch.long)


@st.composite
def runs(draw) -> tuple[int, int, str, list[tuple[torch.Tensor, torch.Tensor]]]:
    num_classes = draw(st.integers(2, 8))
    top_k = min(draw(st.integers(1, 5)), num_classes)
    average = draw(st.sampled_from(["micro", "macro"]))
    return num_classes, top_k, average, draw(st.lists(batches(num_classes), max_size=4))


@settings(max_examples=300, deadline=None)
@given(runs())
def test_counts_what_torchmetrics_counts_after_every_update(run) -> None:
    num_classes, top_k, average, updates = run
    fast, reference = both(num_classes, top_k=top_k, average=average)
    for logits, labels in updates:
        if len(labels) == 0:  # torchmetrics refuses an empty batch
            with pytest.raises(RuntimeError):
                reference.update(logits, labels)
            with pytest.raises(RuntimeError):
                fast.update(logits, labels)
            continue
        fast.update(logits, labels)
        reference.update(logits, labels)
        assert_same(fast, reference)


@settings(max_examples=100, deadline=None)
@given(runs(), st.sampled_from([-1, 0, 1]))
def test_ignore_index_as_torchmetrics(run, ignore_index) -> None:
    num_classes, top_k, average, updates = run
    fast, reference = both(num_classes, top_k=top_k, average=average, ignore_index=ignore_index)
    for logits, labels in (update for update in updates if len(update[1])):
        labels = torch.where(labels == 2, ignore_index, labels)
        fast.update(logits, labels)
        reference.update(logits, labels)
    assert_same(fast, reference)


def test_distinct_logits_are_counted_without_torchmetrics_update(monkeypatch) -> None:
    fast, reference = both(196, top_k=5)
    logits = torch.randn(64, 196, generator=torch.Generator().manual_seed(0))
    labels = torch.randint(0, 196, (64,), generator=torch.Generator().manual_seed(1))
    logits[:8] = logits[:8].scatter(1, labels[:8, None], 10.0)  # some hits
    reference.update(logits, labels)
    monkeypatch.setattr(MulticlassStatScores, "update", lambda *_: pytest.fail("sorted"))
    fast.update(logits, labels)
    assert_same(fast, reference)
    assert 8 / 64 <= float(fast.compute()) < 1


@pytest.mark.parametrize(
    "logits",
    [
        torch.zeros(6, 7),  # every logit equal: torch.topk's choice
        torch.tensor([[0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0]]).repeat(6, 1),  # tied top-1
        torch.full((6, 7), float("nan")),
        torch.arange(42.0).reshape(6, 7).index_fill(1, torch.tensor([3]), float("nan")),
        torch.tensor([[float("inf")] * 3 + [0.0] * 4]).repeat(6, 1),
    ],
)
def test_rows_that_torch_topk_decides_are_its(logits) -> None:
    labels = torch.tensor([0, 1, 2, 3, 4, 6])
    fast, reference = both(7, top_k=2)
    fast.update(logits, labels)
    reference.update(logits, labels)
    assert_same(fast, reference)


def test_merge_state_dict_and_reset_are_torchmetrics() -> None:
    generator = torch.Generator().manual_seed(2)
    data = [(torch.randn(10, 9, generator=generator), torch.arange(10) % 9) for _ in range(2)]
    first, second = TopKAccuracy(9, top_k=3), TopKAccuracy(9, top_k=3)
    reference = MulticlassAccuracy(9, top_k=3)
    first.update(*data[0])
    second.update(*data[1])
    for batch in data:
        reference.update(*batch)
    first.merge_state(second)
    assert_same(first, reference)
    loaded = TopKAccuracy(9, top_k=3)
    for metric in (first, reference, loaded):
        metric.persistent(True)
    shapes = {name: value.shape for name, value in reference.state_dict().items()}
    assert {name: value.shape for name, value in first.state_dict().items()} == shapes
    loaded.load_state_dict(reference.state_dict())  # a checkpoint of MulticlassAccuracy
    assert_same(loaded, reference)
    first.reset()
    assert all(int(value.abs().sum()) == 0 for value in first.state_dict().values())


@pytest.mark.parametrize(
    ("logits", "labels", "error"),
    [
        (torch.randn(4, 5), torch.tensor([0, 1, 2, 9]), RuntimeError),  # a label out of range
        (torch.randn(4, 6), torch.tensor([0, 1, 2, 3]), ValueError),  # 6 classes, not 5
    ],
)
def test_bad_input_is_refused_as_torchmetrics_refuses_it(logits, labels, error) -> None:
    fast, reference = both(5, top_k=2)
    with pytest.raises(error):
        reference.update(logits, labels)
    with pytest.raises(error):
        fast.update(logits, labels)
