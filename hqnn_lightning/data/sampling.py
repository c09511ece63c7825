"""The train loaders' shuffle: one order per (seed, epoch), resumable in the middle of an epoch.

A ``DataLoader(shuffle=True, generator=torch.Generator().manual_seed(seed))`` draws each epoch's
order from where the previous epoch left its generator, so a run restarted from a checkpoint
would replay epoch 0's order. `EpochShuffleSampler` gives the same orders as that loader
(with ``num_workers=0``, or workers that are not persistent) but computes epoch ``e``'s from
``(seed, e)`` alone, and can start an epoch part-way, so that a run resumed from a mid-epoch
checkpoint sees exactly the batches the uninterrupted run saw.
"""

from __future__ import annotations

from collections.abc import Iterator, Sized
from typing import Any

import torch
from torch.utils.data import DataLoader, Sampler


class EpochShuffleSampler(Sampler[int]):
    """A random permutation of ``range(len(data_source))`` per epoch, fixed by ``(seed, epoch)``.

    Pass it with ``generator=sampler.generator`` to the ``DataLoader``: the loader draws its
    workers' base seed from that generator, as a shuffling ``DataLoader`` does, so the orders
    and the worker seeds are those of ``DataLoader(shuffle=True, generator=...)`` seeded with
    ``seed``. Lightning calls `set_epoch` before each epoch (as for a
    ``DistributedSampler``).

    Args:
        data_source: The dataset; only its length is used.
        seed: Seed of every epoch's order.
    """

    def __init__(self, data_source: Sized, seed: int) -> None:
        self.num_samples = len(data_source)
        self.seed = seed
        self.generator = torch.Generator().manual_seed(seed)
        self.epoch = 0
        self._states = {0: self.generator.get_state()}
        self._skip = 0

    def set_epoch(self, epoch: int) -> None:
        """The next iteration is epoch ``epoch`` (from 0); a full iteration moves to the next
        epoch by itself, so a loop that never calls this gets a new order each time."""
        self.generator.set_state(self._state_at(epoch))
        self.epoch = epoch

    def resume(self, epoch: int, samples_done: int) -> None:
        """Starts the next iteration in epoch ``epoch``, after its first ``samples_done``
        indices (those of the batches trained before a checkpoint)."""
        if not 0 <= samples_done <= self.num_samples:
            raise ValueError(f"samples_done must be in [0, {self.num_samples}], got {samples_done}")
        self.set_epoch(epoch)
        self._skip = samples_done

    def __iter__(self) -> Iterator[int]:
        epoch = self.epoch
        self.generator.set_state(self._state_at(epoch))
        order = _draw_epoch(self.generator, self.num_samples)
        skip, self._skip = self._skip, 0
        yield from order[skip:]
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
            _draw_epoch(replay, self.num_samples)
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


class ResumableTrainOrder:
    """Mixin of a ``LightningDataModule`` whose train loader uses `EpochShuffleSampler`.

    Its `state_dict`, which Lightning stores in every checkpoint, records the epoch and
    how many training samples of it the model has seen; `load_state_dict` makes the next
    train loader continue from there. Call `train_sampler` from ``train_dataloader``.
    """

    trainer: Any
    _train_sampler: EpochShuffleSampler | None = None
    _train_batch_size = 1
    _order_to_resume: dict[str, int] | None = None

    def train_sampler(self, dataset: Sized, seed: int, batch_size: int) -> EpochShuffleSampler:
        """A new sampler over ``dataset`` for batches of ``batch_size``, continuing a loaded
        checkpoint's order if any."""
        sampler = EpochShuffleSampler(dataset, seed)
        if self._order_to_resume is not None:
            sampler.resume(**self._order_to_resume)
            self._order_to_resume = None
        self._train_sampler, self._train_batch_size = sampler, batch_size
        return sampler

    def state_dict(self) -> dict[str, int]:
        """``{"epoch", "samples_done"}`` of the training in progress; empty outside ``fit``."""
        sampler = self._train_sampler
        if sampler is None or self.trainer is None or self.trainer.state.fn != "fit":
            return {}
        batches = self.trainer.fit_loop.epoch_loop.batch_progress.current.processed
        samples_done = min(batches * self._train_batch_size, sampler.num_samples)
        if samples_done == sampler.num_samples:
            return {"epoch": sampler.epoch + 1, "samples_done": 0}
        return {"epoch": sampler.epoch, "samples_done": samples_done}

    def load_state_dict(self, state_dict: dict[str, int]) -> None:
        """Makes the next train loader start where ``state_dict`` says."""
        if state_dict:
            self._order_to_resume = {
                "epoch": int(state_dict["epoch"]),
                "samples_done": int(state_dict["samples_done"]),
            }


def seeded_train_loader(
    dataset: Any, sampler: EpochShuffleSampler, **loader_options: Any
) -> DataLoader:
    """A ``DataLoader`` over ``dataset`` in ``sampler``'s order, its worker seeds drawn from
    the sampler's generator."""
    return DataLoader(dataset, sampler=sampler, generator=sampler.generator, **loader_options)
