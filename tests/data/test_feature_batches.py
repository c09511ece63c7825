"""Cached features fetched a batch at a time (``__getitems__``) and passed on as read
(`collate_feature_batch`) are the batches that fetching them one by one gives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, Dataset

from hqnn_lightning.data.feature_store import (
    FeatureBatch,
    FeatureDataset,
    FeatureRows,
    collate_feature_batch,
)


class OneByOne(Dataset):
    """``dataset`` without its ``__getitems__``: a DataLoader fetches it item by item."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int):
        return self.dataset[index]


@pytest.fixture
def cache(tmp_path: Path) -> FeatureDataset:
    generator = np.random.default_rng(0)
    np.save(tmp_path / "features.npy", generator.normal(size=(23, 5)).astype(np.float32))
    np.save(tmp_path / "labels.npy", generator.integers(0, 3, size=23).astype(np.int64))
    return FeatureDataset(tmp_path)


def batches(dataset: Dataset, **options) -> list[list[torch.Tensor]]:
    sampler = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(1))
    return list(DataLoader(dataset, batch_size=4, sampler=sampler.tolist(), **options))


@pytest.mark.parametrize(
    ("split", "options"),
    [
        ("whole", {}),
        ("rows", {}),
        ("whole", {"collate_fn": collate_feature_batch}),
        ("rows", {"collate_fn": collate_feature_batch}),
        ("rows", {"collate_fn": collate_feature_batch, "num_workers": 2}),
    ],
)
def test_a_batch_read_at_once_is_the_batch_read_row_by_row(
    cache: FeatureDataset, split, options
) -> None:
    rows = np.array([7, 2, 19, 2, 11, 0, 22, 5, 13])
    dataset = cache if split == "whole" else FeatureRows(cache, rows, torch.arange(len(rows)))
    assert type(dataset).__getitems__ is not None
    together, one_by_one = batches(dataset, **options), batches(OneByOne(dataset))
    assert len(together) == len(one_by_one) == -(-len(dataset) // 4)
    for batch, expected in zip(together, one_by_one, strict=True):
        assert type(batch) is type(expected) is list and len(batch) == 2
        (features, labels), (expected_features, expected_labels) = batch, expected
        assert features.dtype == torch.float32 and labels.dtype == torch.int64
        assert features.is_contiguous() and labels.is_contiguous()
        assert torch.equal(features, expected_features) and torch.equal(labels, expected_labels)


def test_a_feature_batch_reads_as_its_samples(cache: FeatureDataset) -> None:
    batch = cache.__getitems__([4, 0, 4])
    assert isinstance(batch, FeatureBatch) and len(batch) == 3
    for (feature, label), index in zip(batch, [4, 0, 4], strict=True):
        expected_feature, expected_label = cache[index]
        assert torch.equal(feature, expected_feature) and torch.equal(label, expected_label)
    assert torch.equal(batch[1][0], cache[0][0])
