"""The train order: fixed by (seed, epoch), equal to a seeded shuffling DataLoader's, resumable."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from hqnn_lightning.data import DigitsDataModule
from hqnn_lightning.data.sampling import EpochShuffleSampler, seeded_train_loader

DATASET = TensorDataset(torch.arange(37))


def batches(loader: DataLoader) -> list[list[int]]:
    return [batch[0].tolist() for batch in loader]


def shuffling_loader_orders(seed: int, epochs: int) -> list[list[list[int]]]:
    loader = DataLoader(
        DATASET, batch_size=5, shuffle=True, generator=torch.Generator().manual_seed(seed)
    )
    return [batches(loader) for _ in range(epochs)]


class TestEpochShuffleSampler:
    @pytest.mark.parametrize("seed", [0, 3])
    def test_same_orders_as_a_seeded_shuffling_loader(self, seed):
        sampler = EpochShuffleSampler(DATASET, seed)
        loader = seeded_train_loader(DATASET, sampler, batch_size=5)
        assert [batches(loader) for _ in range(4)] == shuffling_loader_orders(seed, 4)

    def test_an_epoch_order_depends_only_on_seed_and_epoch(self):
        expected = shuffling_loader_orders(3, 4)
        sampler = EpochShuffleSampler(DATASET, 3)
        loader = seeded_train_loader(DATASET, sampler, batch_size=5)
        for epoch in (3, 1, 1, 0, 2):
            sampler.set_epoch(epoch)
            assert batches(loader) == expected[epoch]

    def test_resume_skips_the_batches_done_then_goes_on(self):
        expected = shuffling_loader_orders(1, 4)
        sampler = EpochShuffleSampler(DATASET, 1)
        sampler.resume(epoch=2, samples_done=15)
        loader = seeded_train_loader(DATASET, sampler, batch_size=5)
        assert batches(loader) == expected[2][3:]
        assert batches(loader) == expected[3]

    def test_rejects_impossible_positions(self):
        sampler = EpochShuffleSampler(DATASET, 0)
        with pytest.raises(ValueError, match="samples_done must be in"):
            sampler.resume(epoch=0, samples_done=38)
        with pytest.raises(ValueError, match="epoch must be >= 0"):
            sampler.set_epoch(-1)


class TestShards:
    def test_the_ranks_interleave_to_the_one_process_order(self):
        # 37 samples on 2 processes: the order is padded with its first index, as
        # DistributedSampler pads.
        whole = EpochShuffleSampler(DATASET, 4)
        ranks = [EpochShuffleSampler(DATASET, 4, num_replicas=2, rank=r) for r in (0, 1)]
        for epoch in (0, 2):
            whole.set_epoch(epoch)
            order = list(whole)
            for rank in ranks:
                rank.set_epoch(epoch)
            shards = [list(rank) for rank in ranks]
            assert [len(shard) for shard in shards] == [19, 19]
            assert [i for pair in zip(*shards, strict=True) for i in pair] == [*order, order[0]]

    def test_each_rank_resumes_its_own_shard(self):
        for rank in (0, 1):
            expected = list(EpochShuffleSampler(DATASET, 4, num_replicas=2, rank=rank))
            resumed = EpochShuffleSampler(DATASET, 4, num_replicas=2, rank=rank)
            resumed.resume(epoch=0, samples_done=10)
            assert list(resumed) == expected[10:]


def distributed_digits(rank: int, state: dict[str, int] | None = None) -> DigitsDataModule:
    data = DigitsDataModule(seed=2)
    data.setup()
    data.trainer = SimpleNamespace(distributed_sampler_kwargs={"num_replicas": 2, "rank": rank})
    if state is not None:
        data.load_state_dict(state)
    return data


class TestResumableTrainOrder:
    def test_each_process_loads_its_shard_and_continues_it(self):
        for rank in (0, 1):
            loader = distributed_digits(rank).train_dataloader()
            order = [labels.tolist() for _, labels in loader]
            state = {"epoch": 0, "samples_done": 2 * 64, "world_size": 2}
            resumed = distributed_digits(rank, state).train_dataloader()
            assert [labels.tolist() for _, labels in resumed] == order[2:]

    def test_a_mid_epoch_state_of_another_number_of_processes_is_refused(self):
        data = distributed_digits(0, {"epoch": 1, "samples_done": 64})  # one process's
        with pytest.raises(ValueError, match="in the middle of epoch 1 by 1 process"):
            data.train_dataloader()
        at_epoch_start = distributed_digits(0, {"epoch": 1, "samples_done": 0, "world_size": 1})
        assert at_epoch_start.train_dataloader().sampler.epoch == 1

    def test_a_loaded_state_continues_the_order(self):
        expected = DigitsDataModule(seed=2)
        expected.setup()
        loader = expected.train_dataloader()
        for epoch in range(2):
            loader.sampler.set_epoch(epoch)
            order = [labels.tolist() for _, labels in loader]

        resumed = DigitsDataModule(seed=2)
        resumed.setup()
        resumed.load_state_dict({"epoch": 1, "samples_done": 5 * 64})
        assert [labels.tolist() for _, labels in resumed.train_dataloader()] == order[5:]

    def test_no_state_outside_fit(self):
        data = DigitsDataModule()
        data.setup()
        data.train_dataloader()
        assert data.state_dict() == {}
