"""A search's Optuna study, kept in Optuna storage so that it outlives its processes and so
that several processes, on one machine or many, run it together (``experiments/tune.py
--storage``).

The storage is a journal file in the search's directory (`JOURNAL_FILE`, Optuna's
`JournalStorage`) unless ``--storage`` names another journal file or an RDB URL
(``sqlite:///search.db``, ``postgresql://...``). Its study, named as the search's directory,
holds every trial: its point, its state, its value.

Trial ``k`` of a search is point ``k`` of Optuna's scrambled Sobol sequence of the search's
seed and space (`candidate_points`), drawn once as one process drawing them in turn draws
them, so that the points never depend on how many processes search or in what order. A
worker claims the first point that no trial has finished (complete or pruned) and no live
worker runs: under the lock of the search directory, it enqueues that point and asks for it
(`SearchStudy.claim`), and holds the lock of the point's directory (``trials/trialK/.lock``)
while its trial runs. A trial left RUNNING whose lock is free belongs to a worker that ended
(``kill -9``, a machine lost, SIGTERM): it is marked FAIL and its point is claimed again, so
the search needs no heartbeat and no grace period. Every worker therefore needs the search's
directory on a filesystem they all share, with working ``flock`` (NFSv4 does), as the report
needs the trial and final runs in one output directory.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

import optuna
from optuna.trial import FrozenTrial, TrialState

from hqnn_lightning.report.runs import experiment_key
from hqnn_lightning.run.lock import try_lock, waiting_lock

JOURNAL_FILE = "optuna.journal"
SEARCH_LOCK = ".lock"
DONE = (TrialState.COMPLETE, TrialState.PRUNED)


class SearchRecordError(ValueError):
    """A search's `TUNING_FILE` cannot be continued: corrupt, or its trials are not the values
    the sampler offers."""


class Suggests(Protocol):
    """A searched option (`hqnn_lightning.run.tuning.SearchParameter`)."""

    name: str

    def suggest(self, trial: optuna.Trial) -> float | int: ...


def candidate_points(space: Sequence[Suggests], seed: int, n_points: int) -> list[FrozenTrial]:
    """The first ``n_points`` points of ``QMCSampler(seed=seed, scramble=True)`` over
    ``space``, as the sampler offers them to one process that asks for them in turn, each a
    trial with its ``params`` and ``distributions`` (the first is drawn by the sampler's
    seeded random sampler, as every `QMCSampler` draws its first)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        sampler = optuna.samplers.QMCSampler(seed=seed, scramble=True)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    for _ in range(n_points):
        trial = study.ask()
        for parameter in space:
            parameter.suggest(trial)
        study.tell(trial, 0.0)
    return study.get_trials(deepcopy=False)


def search_turn(tuning_dir: Path) -> AbstractContextManager[None]:
    """Holds the lock of the search directory ``tuning_dir`` while the block runs: one worker
    at a time opens the study, claims a trial or records one."""
    return waiting_lock(tuning_dir / SEARCH_LOCK)


def storage_name(storage: str | None, tuning_dir: Path) -> str:
    """Where the study is kept, as `TUNING_FILE` records it: the journal file, or the RDB URL
    without its password."""
    if storage is None:
        return str(tuning_dir / JOURNAL_FILE)
    if "://" not in storage:
        return storage
    import sqlalchemy  # Optuna's RDB storage needs it, the journal does not

    try:
        return sqlalchemy.engine.make_url(storage).render_as_string(hide_password=True)
    except sqlalchemy.exc.ArgumentError:
        return storage


def open_storage(storage: str | None, tuning_dir: Path) -> optuna.storages.BaseStorage:
    """The storage ``--storage`` names: an RDB URL (``sqlite:///search.db``), or a journal
    file; ``None`` is `JOURNAL_FILE` in ``tuning_dir``.

    Raises:
        ValueError: Optuna cannot open it; one line naming ``--storage``.
    """
    if storage is None:
        storage = str(tuning_dir / JOURNAL_FILE)
    try:
        if "://" in storage:
            return optuna.storages.RDBStorage(storage)
        backend = optuna.storages.journal.JournalFileBackend(storage)
        return optuna.storages.JournalStorage(backend)
    except Exception as error:  # SQLAlchemy and its drivers raise their own
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise ValueError(f"--storage {storage}: Optuna cannot open it ({reason})") from None


@dataclass
class Claim:
    """A trial this process runs, and the lock of its point it holds meanwhile.

    Args:
        trial: The Optuna trial, RUNNING, whose parameters are fixed to its point.
        point: Its point's index, the ``K`` of ``trials/trialK``.
        lock: The point's lock file, open (closing it releases the point).
    """

    trial: optuna.Trial
    point: int
    lock: IO[str]


class SearchStudy:
    """A search's study and what its workers share, as the module's docstring describes.

    Args:
        study: The study.
        storage: Its storage.
        points: The search's points (`candidate_points`).
        tuning_dir: The search's directory (``trials/`` and the locks).
    """

    def __init__(
        self,
        study: optuna.Study,
        storage: optuna.storages.BaseStorage,
        points: Sequence[FrozenTrial],
        tuning_dir: Path,
    ) -> None:
        self.study, self.storage = study, storage
        self.points, self.tuning_dir = list(points), tuning_dir
        self.ended: list[int] = []

    def trial_dir(self, point: int) -> Path:
        """The directory of point ``point``'s runs, ``trials/trialK``."""
        return self.tuning_dir / "trials" / f"trial{point}"

    def turn(self) -> AbstractContextManager[None]:
        """`search_turn` of the search's directory."""
        return search_turn(self.tuning_dir)

    def done(self) -> list[FrozenTrial]:
        """The trials that finished (complete or pruned), in point order."""
        trials = self.study.get_trials(deepcopy=False, states=DONE)
        return sorted(trials, key=lambda trial: trial.user_attrs["point"])

    def claim(self) -> Claim | None:
        """Marks FAIL the trials whose workers ended (`ended` lists their points), then
        claims the first point left; ``None`` when every point is done or running. Call it
        in `turn`."""
        trials = self.study.get_trials(deepcopy=False)
        busy = {trial.user_attrs["point"] for trial in trials if trial.state in DONE}
        for trial in trials:
            point = trial.user_attrs.get("point")
            if trial.state == TrialState.RUNNING and self._runs(point):
                busy.add(point)
            elif trial.state in (TrialState.RUNNING, TrialState.WAITING):
                # A WAITING trial was enqueued by a worker that ended before it asked for it.
                self.ended += [point] * (trial.state == TrialState.RUNNING)
                self.storage.set_trial_state_values(trial._trial_id, TrialState.FAIL)
        for point in (point for point in range(len(self.points)) if point not in busy):
            lock = try_lock(self._lock_path(point))
            if lock is not None:
                self.study.enqueue_trial(self.points[point].params, user_attrs={"point": point})
                return Claim(self.study.ask(), point, lock)
        return None

    def summary(self, record: dict[str, Any]) -> dict[str, Any]:
        """``record`` with the study's ``trials`` (each ``number``, its point; ``params``,
        ``value``, ``diverged``, ``pruned``, ``run_dir``), in point order, the ``best`` of
        those not pruned (the first in point order among equals), and how many trials were
        ``failed`` (left running by a worker that ended, then run again)."""
        names = [parameter["name"] for parameter in record["space"]]
        trials = [
            {
                "number": trial.user_attrs["point"],
                "params": {name: trial.params[name] for name in names},
                **{key: trial.user_attrs[key] for key in ("value", "diverged")},
                "pruned": trial.state == TrialState.PRUNED,
                "run_dir": trial.user_attrs["run_dir"],
            }
            for trial in self.done()
        ]
        kept = [trial for trial in trials if not trial["pruned"]]
        best = max(kept, key=lambda trial: trial["value"], default=None)
        failed = self.study.get_trials(deepcopy=False, states=(TrialState.FAIL,))
        return {
            **record,
            "trials": trials,
            "best": best and {key: best[key] for key in ("number", "params", "value")},
            "failed": len(failed),
        }

    def add_recorded(self, path: Path, trials: Sequence[dict[str, Any]]) -> None:
        """Adds the trials that ``path`` (a `TUNING_FILE` written before searches kept their
        study in storage) records, as they ran.

        Raises:
            SearchRecordError: a trial's values are not its point's; named.
        """
        for recorded in trials:
            point = self.points[recorded["number"]]
            if recorded["params"] != point.params:
                raise SearchRecordError(
                    f"{path}: trial{recorded['number']} ran with {recorded['params']}, but the "
                    f"sampler now offers {point.params} (another version of Optuna?); delete "
                    f"{path.parent} to search again"
                )
            attrs = {key: recorded[key] for key in ("value", "diverged", "run_dir")}
            pruned = recorded.get("pruned", False)
            trial = optuna.trial.create_trial(
                state=TrialState.PRUNED if pruned else TrialState.COMPLETE,
                params=point.params,
                distributions=point.distributions,
                value=None if pruned else recorded["value"],
                user_attrs={"point": recorded["number"], **attrs},
            )
            self.study.add_trial(trial)

    def _runs(self, point: int) -> bool:
        """Whether a live process holds point ``point``'s lock."""
        lock = try_lock(self._lock_path(point))
        if lock is not None:
            lock.close()
        return lock is None

    def wait_for_others(self) -> None:
        """Waits until the trials other workers run end (or their workers do)."""
        for trial in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            with waiting_lock(self._lock_path(trial.user_attrs["point"])):
                pass

    def _lock_path(self, point: int) -> Path:
        directory = self.trial_dir(point)
        directory.mkdir(parents=True, exist_ok=True)
        return directory / SEARCH_LOCK


def open_study(
    storage: optuna.storages.BaseStorage,
    name: str,
    definition: dict[str, Any],
    pruner: optuna.pruners.BasePruner,
) -> tuple[optuna.Study, bool]:
    """The study ``name`` in ``storage``, created with ``definition`` (the search's space,
    seed, trials, pruner and options) as its ``search`` user attribute when it is not there;
    and whether it was created. Call it in `SearchStudy.turn`.

    Raises:
        FileExistsError: the study holds another search.
    """
    # The study's own sampler never draws: every trial is enqueued with its point.
    sampler = optuna.samplers.RandomSampler()
    try:
        study = optuna.load_study(study_name=name, storage=storage, sampler=sampler, pruner=pruner)
    except KeyError:
        study = optuna.create_study(
            storage=storage, study_name=name, direction="maximize", sampler=sampler, pruner=pruner
        )
        study.set_user_attr("search", definition)
        return study, True
    if not same_search(study.user_attrs.get("search"), definition):
        raise FileExistsError(
            f"the Optuna study {name} holds another search (other options, space, trials, seed "
            "or pruner); give another --output-dir or --storage, or delete the study to search "
            "again"
        )
    return study, False


def same_search(saved: Any, definition: dict[str, Any]) -> bool:
    """Whether ``saved`` (a `TUNING_FILE` or a study's ``search`` attribute) defines the
    search ``definition`` does: the same space, seed, trials, pruner and experiment."""
    if not isinstance(saved, dict) or not isinstance(saved.get("config"), dict):
        return False
    keys = ("space", "seed", "n_trials")
    same = all(saved.get(key) == definition[key] for key in keys)
    same &= saved.get("pruner", "none") == definition["pruner"]
    return same and experiment_key(saved["config"]) == experiment_key(definition["config"])
