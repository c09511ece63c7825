"""Equal tuning budgets (Bowles et al. 2024): the same small hyperparameter search for every
model of a comparison, chosen on the validation split only.

A search space is a few runner options, each a range (`SearchParameter`, spelled
``lr=1e-4:3e-2:log`` or ``max_epochs=10:40:int`` on the command line, `parse_space`).
`tune` runs an Optuna study over it whose trials are ordinary runs of ``experiments/run.py``
and keeps each run's best validation top-1. The study lives in Optuna storage
(`hqnn_lightning.run.search_study`), so a search outlives its processes and several processes
run it together; `tune` writes the space, the sampler, every trial and the best values from
it to `TUNING_FILE` in the tuning directory, which the report reads
(`hqnn_lightning.report.tuning`) and below which it counts no run as a result.

The sampler is Optuna's scrambled Sobol sequence, ``QMCSampler(seed=seed, scramble=True)``:
its points depend on the seed and the space alone, never on the values found, so every
model searched with the same seed and space is offered the same candidates, which is
what makes the budgets equal; they also cover the space more evenly than random points
(Bergstra and Bengio 2012). A model-driven sampler such as TPE would follow each model's
own results and give each a different search. As with every `QMCSampler`, the first
candidate is drawn by its seeded random sampler and the Sobol points follow.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

import optuna

from hqnn_lightning.report.runs import TUNING_FILE, experiment_key
from hqnn_lightning.run.options import build_parser
from hqnn_lightning.run.search_space import PRUNERS, SearchParameter
from hqnn_lightning.run.search_study import (
    SearchRecordError,
    SearchStudy,
    candidate_points,
    open_storage,
    open_study,
    same_search,
    search_turn,
    storage_name,
)
from hqnn_lightning.run.search_worker import SearchWorker, exit_if_disk_full
from hqnn_lightning.run.training import MONITOR
from hqnn_lightning.utils.files import read_json_object


def tuning_name(
    base_argv: Sequence[str],
    space: Sequence[SearchParameter],
    n_trials: int,
    seed: int,
    pruner: str = "none",
) -> str:
    """``MODEL-HASH``: the model of ``base_argv`` and a short hash of what defines the
    search (the options that define the experiment, the space, the trials, the seed and the
    pruner), so the same search gets the same directory whatever the seeds of the final runs,
    the output folder or the storage."""
    config = build_parser().parse_args(list(base_argv))
    definition = {
        "options": experiment_key(config_dict(config)),
        "space": [asdict(parameter) for parameter in space],
        "trials": n_trials,
        "seed": seed,
    }
    if pruner != "none":  # the searches before pruning keep their directories
        definition["pruner"] = pruner
    digest = hashlib.sha256(json.dumps(definition, sort_keys=True).encode()).hexdigest()
    return f"{config.model}-{digest[:8]}"


def tune(
    base_argv: Sequence[str],
    space: Sequence[SearchParameter],
    n_trials: int,
    tuning_dir: str | Path,
    seed: int = 0,
    storage: str | None = None,
    pruner: str = "none",
) -> dict[str, Any]:
    """Searches ``space`` with ``n_trials`` runs of ``base_argv``, with any other process
    running the same search, and returns the record it writes to `TUNING_FILE` in
    ``tuning_dir`` (after each trial, atomically).

    Trial ``K`` (point ``K`` of the sampler) runs ``base_argv`` plus its values (``--lr
    0.003``), with ``--seed seed``, one seed, the CSV logger only and ``--test false``, into
    ``tuning_dir/trials/trialK``. Its value is the best validation top-1 of the run,
    `MONITOR` (the runner validates the best checkpoint); a run whose training loss stops
    being finite keeps the best validation top-1 of the epochs it finished (0 when it
    finished none). A trial never loads the test set (but one that a search started before
    trials skipped it, continued as it started); only the final runs are tested.

    The study, named ``tuning_dir``'s name, is kept in ``storage`` (`open_storage`); the
    processes running it at once share its points, each run once (`SearchStudy`). A finished
    search of the same experiment (`experiment_key`), space, trials, seed and pruner is
    returned as it is; one that stopped (killed, SIGTERM, Ctrl-C, a full disk) is continued,
    with one line saying so: its finished trials are not run again, a trial left running is
    marked failed and its point runs again, resuming, counting or replacing its run
    (`left_over`). So is a `TUNING_FILE` from before studies were kept in storage.

    Args:
        base_argv: Options of ``experiments/run.py``; the trial values come after them.
        space: The options searched.
        n_trials: Trials in the study, whatever the number of processes.
        tuning_dir: Where `TUNING_FILE` and ``trials/`` go.
        seed: The sampler's seed and the trials' training seed.
        storage: An RDB URL or a journal file (`open_storage`).
        pruner: A name of `PRUNERS` (`hqnn_lightning.run.search_space`).

    Returns:
        The record: `_search_record`'s keys, with ``trials`` and ``best`` (``None`` when
        every trial was pruned) and ``failed`` from the study (`SearchStudy.summary`).

    Raises:
        SystemExit: with status 2 when the runner refuses the options (it printed why); 1 for
            a full disk, 130 for Ctrl-C, `SIGTERM_EXIT_CODE` for SIGTERM, each after one line
            saying where the search stopped and to run the same command again.
        FileExistsError: ``tuning_dir`` or the study holds another search.
        SearchRecordError: `TUNING_FILE` is corrupt or not what the sampler offers; named.
        ValueError: Optuna cannot open ``storage``; named.
    """
    tuning_dir = Path(tuning_dir)
    config = build_parser().parse_args(list(base_argv))
    record = _search_record(base_argv, space, n_trials, seed, config_dict(config), pruner)
    with _optuna_quiet():
        worker, summary = exit_if_disk_full(lambda: _open(tuning_dir, record, space, storage))
        if len(summary["trials"]) == n_trials:
            print(f"Reusing the finished search in {tuning_dir}")
            return summary
        return worker.run()


def _open(
    tuning_dir: Path,
    record: dict[str, Any],
    space: Sequence[SearchParameter],
    storage: str | None,
) -> tuple[SearchWorker, dict[str, Any]]:
    """Opens the search of ``record`` in ``storage`` (creating its study, and adding the
    trials that a `TUNING_FILE` from before studies were kept in storage records) and
    writes its `TUNING_FILE`; returns its worker and what it wrote. Adds ``storage`` to
    ``record`` (`storage_name`)."""
    record["storage"] = storage_name(storage, tuning_dir)
    tuning_dir.mkdir(parents=True, exist_ok=True)
    with search_turn(tuning_dir):
        previous = _previous_search(tuning_dir / TUNING_FILE, record)
        opened = open_storage(storage, tuning_dir)
        keys = ("space", "seed", "n_trials", "pruner", "config", "argv")
        pruner = PRUNERS[record["pruner"]]()
        study, created = open_study(opened, tuning_dir.name, {k: record[k] for k in keys}, pruner)
        # The options of the command that created the study (its final seeds, say) stay.
        record.update({key: study.user_attrs["search"][key] for key in ("config", "argv")})
        points = candidate_points(space, record["seed"], record["n_trials"])
        search = SearchStudy(study, opened, points, tuning_dir)
        if created and previous:
            search.add_recorded(tuning_dir / TUNING_FILE, previous)
        worker = SearchWorker(search, record, space)
        return worker, worker.write_summary()


@contextmanager
def _optuna_quiet() -> Iterator[None]:
    """Optuna's warnings only, without its line per trial (the search prints its own)."""
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(verbosity)


def _search_record(
    base_argv: Sequence[str],
    space: Sequence[SearchParameter],
    n_trials: int,
    seed: int,
    config: dict[str, Any],
    pruner: str,
) -> dict[str, Any]:
    """A search's record before its first trial: ``metric``, ``direction``, ``space``,
    ``sampler`` (name and seed), ``seed``, ``n_trials``, ``pruner``, ``trials`` (each
    ``number``, ``params``, ``value``, ``diverged``, ``pruned``, ``run_dir``), ``best``
    (``number``, ``params``, ``value``), ``failed``, ``argv`` and ``config`` (the resolved
    base options); `tune` adds ``storage``."""
    return {
        "metric": MONITOR,
        "direction": "maximize",
        "space": [{**asdict(parameter), "spelling": parameter.spelling} for parameter in space],
        "sampler": {"name": "QMCSampler", "qmc_type": "sobol", "scramble": True, "seed": seed},
        "seed": seed,
        "n_trials": n_trials,
        "pruner": pruner,
        "trials": [],
        "best": None,
        "failed": 0,
        "argv": list(base_argv),
        "config": config,
    }


def _previous_search(path: Path, record: dict[str, Any]) -> list[dict[str, Any]]:
    """The trials that ``path`` records, when it records ``record``'s search; ``[]`` without
    it.

    Raises:
        FileExistsError: ``path`` records another search.
        SearchRecordError: ``path`` is not a JSON object.
    """
    if not path.is_file():
        return []
    try:
        previous = read_json_object(path)
    except ValueError as error:
        raise SearchRecordError(str(error)) from None
    if not (same_search(previous, record) and isinstance(previous.get("trials"), list)):
        raise FileExistsError(
            f"{path.parent} holds another search ({path.name} records other options, space, "
            "trials, seed or pruner); give another --output-dir, or delete that folder to "
            "search again"
        )
    return previous["trials"]


def config_dict(config: Any) -> dict[str, Any]:
    """The resolved options as plain values, as ``config.yaml`` holds them."""
    values = config.as_dict()
    values.pop("config", None)
    return values
