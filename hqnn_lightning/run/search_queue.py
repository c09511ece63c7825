"""Several searches in one process (``experiments/tune.py --models``), spread over the
processes given the same list.

A comparison searches every model the same way; one process for all of them imports the
library and warms its caches once, rather than once per model. Each process takes the
searches in the list's order, but first those that no other process owns: a process owns the
search it took while it was free (an exclusive ``flock`` on its directory's `OWNER_FILE`,
`try_lock`, released when it ends, however it ends). Processes given the same list
therefore start on different searches, and meet only when every search left is owned, where
they share its trials and final seeds as the workers of one search do. Where each trial and
seed runs never changes what it computes."""

from __future__ import annotations

import shlex
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from hqnn_lightning.run.lock import try_lock

OWNER_FILE = ".owner.lock"


def model_argvs(models: Sequence[str], run_argv: Sequence[str]) -> list[list[str]]:
    """The runner's options of each search: ``run_argv``, then ``--model MODEL`` and the
    options of each entry ``"MODEL [OPTIONS]"`` of ``models`` (which come after, so they
    override ``run_argv``).

    Raises:
        ValueError: an entry is empty, does not start with a model's name, or ``run_argv``
            names a model too; the message names the entry or option.
    """
    if any(option == "--model" or option.startswith("--model=") for option in run_argv):
        raise ValueError("--models: give each model in --models, not --model after --")
    argvs = []
    for entry in models:
        words = shlex.split(entry)
        if not words or words[0].startswith("-"):
            raise ValueError(
                f'--models "{entry}": each entry starts with a model\'s name, e.g. '
                '"hybrid --n-qubits 8"'
            )
        argvs.append([*run_argv, "--model", *words])
    return argvs


@contextmanager
def next_search(tuning_dirs: Sequence[Path]) -> Iterator[int]:
    """Yields the index in ``tuning_dirs`` of the first search no other process owns, which
    this process owns while the block runs (trying each in turn, so two processes never take
    the same one); ``0``, unowned, when every one is owned (this process then joins the one
    owned longest). Creates the directories it tries."""
    for index, tuning_dir in enumerate(tuning_dirs):
        tuning_dir.mkdir(parents=True, exist_ok=True)
        owner = try_lock(tuning_dir / OWNER_FILE)
        if owner is not None:
            with owner:  # closing the file releases the lock
                yield index
            return
    yield 0
