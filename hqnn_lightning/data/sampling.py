"""The train loaders' shuffle: one order per (seed, epoch), resumable in the middle of an epoch.

A ``DataLoader(shuffle=True, generator=torch.Generator().manual_seed(seed))`` draws each epoch's
order from where the previous epoch left its generator, so a run restarted from a checkpoint
would replay epoch 0's order. `EpochShuffleSampler` gives the same orders as that loader
(with ``num_workers=0``, or workers that are not persistent) but computes epoch ``e``'s from
``(seed, e)`` alone, and can start an epoch part-way, so that a run resumed from a mid-epoch
checkpoint sees exactly the batches the uninterrupted run saw. Under DDP each process takes
its own shard of that order, as a ``DistributedSampler`` does, and resumes it where it stood.

A dataset that draws random numbers per sample (augmentation) sets ``keyed_by_epoch``: the
sampler then yields ``(epoch, index)`` keys, and the dataset seeds each sample's draws from
`sample_seed`, so that they do not depend on which worker loads it, or on a resumption.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator, Sized
from typing import Any

import torch
from torch.utils.data import DataLoader, DistributedSampler


class EpochShuffleSampler(DistributedSampler):
    """A random permutation of ``range(len(data_source))`` per epoch, fixed by ``(seed, epoch)``;
    with ``num_replicas`` processes, this process's shard of it.

    Pass it with ``generator=sampler.generator`` to the ``DataLoader``: the loader draws its
    workers' base seed from that generator, as a shuffling ``DataLoader`` does, so the orders
    and the worker seeds are those of ``DataLoader(shuffle=True, generator=...)`` seeded with
    ``seed``. Lightning calls `set_epoch` before each epoch. With several processes the
    order is padded with its first indices to a multiple of ``num_replicas`` and process
    ``rank`` takes every ``num_replicas``-th index from ``rank`` on, as ``DistributedSampler``
    does; being one, it is not replaced by Lightning's sampler, which would shard it again.

    Args:
        data_source: The dataset; its length is used, and its ``keyed_by_epoch`` attribute
            (``True``: yield ``(epoch, index)`` instead of ``index``).
        seed: Seed of every epoch's order.
        num_replicas: The number of processes that share each epoch's order.
        rank: This process's place among them, from 0.
    """

    def __init__(self, data_source: Sized, seed: int, num_replicas: int = 1, rank: int = 0) -> None:
        super().__init__(data_source, num_replicas=num_replicas, rank=rank, seed=seed)
        self.dataset_size = len(data_source)
        self.keyed_by_epoch = bool(getattr(data_source, "keyed_by_epoch", False))
        self.generator = torch.Generator().manual_seed(seed)
        self._states = {0: self.generator.get_state()}
        self._skip = 0

    def set_epoch(self, epoch: int) -> None:
        """The next iteration is epoch ``epoch`` (from 0); a full iteration moves to the next
        epoch by itself, so a loop that never calls this gets a new order each time."""
        self.generator.set_state(self._state_at(epoch))
        self.epoch = epoch

    def resume(self, epoch: int, samples_done: int) -> None:
        """Starts the next iteration in epoch ``epoch``, after the first ``samples_done``
        indices of this process's shard (those of the batches trained before a checkpoint)."""
        if not 0 <= samples_done <= self.num_samples:
            raise ValueError(f"samples_done must be in [0, {self.num_samples}], got {samples_done}")
        self.set_epoch(epoch)
        self._skip = samples_done

    def __iter__(self) -> Iterator[Any]:
        epoch = self.epoch
        self.generator.set_state(self._state_at(epoch))
        order = _draw_epoch(self.generator, self.dataset_size)
        padded = (order * math.ceil(self.total_size / max(len(order), 1)))[: self.total_size]
        shard = padded[self.rank : self.total_size : self.num_replicas]
        skip, self._skip = self._skip, 0
        if self.keyed_by_epoch:
            yield from ((epoch, index) for index in shard[skip:])
        else:
            yield from shard[skip:]
        self.epoch = epoch + 1

    def __len__(self) -> int:
        return self.num_samples

    def _state_at(self, epoch: int) -> torch.Tensor:
        """The generator's state when epoch ``epoch`` begins, replayed from the seed."""
        if epoch < 0:
            raise ValueError(f"epoch must be >= 0, got {epoch}")
        known = max(e for e in self._states if e <= epoch)
        replay = torch.Generator()
        replay.set_state(self._states[known])
        for past in range(known, epoch):
            _draw_epoch(replay, self.dataset_size)
            self._states[past + 1] = replay.get_state()
        return self._states[epoch]


def _draw_epoch(generator: torch.Generator, num_samples: int) -> list[int]:
    """The draws of one epoch of ``DataLoader(shuffle=True, generator=generator)``: the
    workers' base seed, the permutation it returns, and the one ``RandomSampler`` draws for
    the remainder of ``num_samples // n``."""
    torch.empty((), dtype=torch.int64).random_(generator=generator)
    order = torch.randperm(num_samples, generator=generator).tolist()
    torch.randperm(num_samples, generator=generator)
    return order


def sample_seed(seed: int, epoch: int, index: int) -> int:
    """The seed of sample ``index``'s random draws in epoch ``epoch`` of a run seeded with
    ``seed``: a 64-bit hash of the three, so that neighbouring samples and epochs get unrelated
    streams."""
    digest = hashlib.blake2b(f"{seed},{epoch},{index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


class ResumableTrainOrder:
    """Mixin of a ``LightningDataModule`` whose train loader uses `EpochShuffleSampler`.

    Its `state_dict`, which Lightning stores in every checkpoint, records the epoch, how many
    training samples of it each process has seen, and the number of processes;
    `load_state_dict` makes the next train loader continue from there. Call
    `train_sampler` from ``train_dataloader``.
    """

    trainer: Any
    _train_sampler: EpochShuffleSampler | None = None
    _train_batch_size = 1
    _order_to_resume: dict[str, int] | None = None

    def train_sampler(self, dataset: Sized, seed: int, batch_size: int) -> EpochShuffleSampler:
        """A new sampler over ``dataset`` for batches of ``batch_size`` (this process's shard,
        under a distributed strategy), continuing a loaded checkpoint's order if any.

        Raises:
            ValueError: the loaded checkpoint was taken in the middle of an epoch by another
                number of processes, whose shards this one cannot continue.
        """
        shard = getattr(self.trainer, "distributed_sampler_kwargs", None) or {}
        sampler = EpochShuffleSampler(
            dataset, seed, shard.get("num_replicas", 1), shard.get("rank", 0)
        )
        if self._order_to_resume is not None:
            order, self._order_to_resume = self._order_to_resume, None
            processes = order.pop("world_size")
            if order["samples_done"] and processes != sampler.num_replicas:
                raise ValueError(
                    f"the checkpoint was taken in the middle of epoch {order['epoch']} by "
                    f"{processes} process(es), and this run has {sampler.num_replicas}: resume "
                    f"it with {processes} (--devices times --num-nodes), or resume an "
                    "end-of-epoch checkpoint"
                )
            sampler.resume(**order)
        self._train_sampler, self._train_batch_size = sampler, batch_size
        return sampler

    def state_dict(self) -> dict[str, int]:
        """``{"epoch", "samples_done", "world_size"}`` of the training in progress
        (``samples_done`` in each process's shard); empty outside ``fit``."""
        sampler = self._train_sampler
        if sampler is None or self.trainer is None or self.trainer.state.fn != "fit":
            return {}
        batches = self.trainer.fit_loop.epoch_loop.batch_progress.current.processed
        samples_done = min(batches * self._train_batch_size, sampler.num_samples)
        epoch = sampler.epoch
        if samples_done == sampler.num_samples:
            epoch, samples_done = epoch + 1, 0
        return {"epoch": epoch, "samples_done": samples_done, "world_size": sampler.num_replicas}

    def load_state_dict(self, state_dict: dict[str, int]) -> None:
        """Makes the next train loader start where ``state_dict`` says (a checkpoint from
        before ``world_size`` was recorded came from one process)."""
        if state_dict:
            self._order_to_resume = {
                "epoch": int(state_dict["epoch"]),
                "samples_done": int(state_dict["samples_done"]),
                "world_size": int(state_dict.get("world_size", 1)),
            }


def seeded_train_loader(
    dataset: Any, sampler: EpochShuffleSampler, **loader_options: Any
) -> DataLoader:
    """A ``DataLoader`` over ``dataset`` in ``sampler``'s order, its worker seeds drawn from
    the sampler's generator."""
    return DataLoader(dataset, sampler=sampler, generator=sampler.generator, **loader_options)
