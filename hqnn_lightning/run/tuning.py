"""Equal tuning budgets (Bowles et al. 2024): the same small hyperparameter search for every
model of a comparison, chosen on the validation split only.

A search space is a few runner options, each a range (`SearchParameter`, spelled
``lr=1e-4:3e-2:log`` or ``max_epochs=10:40:int`` on the command line, `parse_space`).
`tune` runs an Optuna study over it whose trials are ordinary runs of ``experiments/run.py``,
made in this process, and keeps each run's best validation top-1; it writes the space, the
sampler, every trial and the best values to `TUNING_FILE` in the tuning directory, which the
report reads (`hqnn_lightning.report.tuning`) and below which it counts no run as a result.

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
import sys
import warnings
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import optuna

from hqnn_lightning.report.runs import TUNING_FILE, experiment_key
from hqnn_lightning.run.disk_full import DISK_FULL, disk_full_message
from hqnn_lightning.run.lock import search_directory_lock
from hqnn_lightning.run.options import RUNNER, build_parser, constructor_options
from hqnn_lightning.run.signatures import option_flag
from hqnn_lightning.run.training import MONITOR
from hqnn_lightning.run.trial_runs import (
    TrialRun,
    TrialStopped,
    finished_trial,
    left_over,
    run_trial,
    tested_when_started,
)
from hqnn_lightning.utils.files import read_json_object, write_text_atomically


class SearchRecordError(ValueError):
    """A search's `TUNING_FILE` cannot be continued: corrupt, or its trials are not the values
    the sampler offers."""


@dataclass(frozen=True)
class SearchParameter:
    """One option searched over a range.

    Args:
        name: A runner option (``lr``, ``weight_decay``, ``max_epochs``, ``q_lr``).
        low: The smallest value.
        high: The largest value.
        log: Drawn uniformly in the logarithm (needs ``low > 0``).
        integer: Integer values (the option must take them).
    """

    name: str
    low: float
    high: float
    log: bool = False
    integer: bool = False

    @property
    def spelling(self) -> str:
        """The command-line spelling, ``lr=0.0001:0.03:log``."""
        flags = [":int"] * self.integer + [":log"] * self.log
        return f"{self.name}={self.low:g}:{self.high:g}{''.join(flags)}"

    def suggest(self, trial: optuna.Trial) -> float | int:
        """The trial's value of this option."""
        if self.integer:
            return trial.suggest_int(self.name, int(self.low), int(self.high), log=self.log)
        return trial.suggest_float(self.name, self.low, self.high, log=self.log)


def parse_space(items: Sequence[str]) -> tuple[SearchParameter, ...]:
    """Reads ``NAME=LOW:HIGH[:log][:int]`` items (``lr=1e-4:3e-2:log``).

    Raises:
        ValueError: an item is malformed, names an option the runner does not have or names
            one twice, or its range is empty, not positive on a log scale, or not integer
            with ``:int``; one line naming the item.
    """
    known = set(RUNNER) | {option.name for option in constructor_options()}
    space: list[SearchParameter] = []
    for item in items:
        name, _, bounds = item.partition("=")
        name = name.strip().replace("-", "_")
        low, _, rest = bounds.partition(":")
        high, *flags = rest.split(":") if rest else [""]
        if not name or not low or not high or set(flags) - {"log", "int"}:
            raise ValueError(f"--space {item!r}: expected NAME=LOW:HIGH[:log][:int]")
        if name not in known:
            raise ValueError(f"--space {item!r}: experiments/run.py has no option --{name}")
        if name in {parameter.name for parameter in space}:
            raise ValueError(f"--space {item!r}: {name} is searched twice")
        try:
            parameter = SearchParameter(name, float(low), float(high), "log" in flags)
        except ValueError:
            raise ValueError(f"--space {item!r}: LOW and HIGH must be numbers") from None
        if "int" in flags:
            if not (parameter.low.is_integer() and parameter.high.is_integer()):
                raise ValueError(f"--space {item!r}: :int needs integer bounds")
            parameter = SearchParameter(name, parameter.low, parameter.high, parameter.log, True)
        if not parameter.low < parameter.high:
            raise ValueError(f"--space {item!r}: LOW must be below HIGH")
        if parameter.log and parameter.low <= 0:
            raise ValueError(f"--space {item!r}: a log scale needs LOW > 0")
        space.append(parameter)
    if not space:
        raise ValueError("--space: give at least one NAME=LOW:HIGH[:log][:int]")
    return tuple(space)


def option_arguments(values: dict[str, float | int]) -> list[str]:
    """``{"lr": 0.003}`` as runner arguments, ``["--lr", "0.003"]``."""
    return [part for name, value in values.items() for part in (option_flag(name), repr(value))]


def tuning_name(
    base_argv: Sequence[str], space: Sequence[SearchParameter], n_trials: int, seed: int
) -> str:
    """``MODEL-HASH``: the model of ``base_argv`` and a short hash of what defines the
    search (the options that define the experiment, the space, the trials and the seed), so
    the same search gets the same directory whatever the seeds of the final runs or the
    output folder."""
    config = build_parser().parse_args(list(base_argv))
    definition = {
        "options": experiment_key(config_dict(config)),
        "space": [asdict(parameter) for parameter in space],
        "trials": n_trials,
        "seed": seed,
    }
    digest = hashlib.sha256(json.dumps(definition, sort_keys=True).encode()).hexdigest()
    return f"{config.model}-{digest[:8]}"


def tune(
    base_argv: Sequence[str],
    space: Sequence[SearchParameter],
    n_trials: int,
    tuning_dir: str | Path,
    seed: int = 0,
) -> dict[str, Any]:
    """Searches ``space`` with ``n_trials`` runs of ``base_argv`` and returns the record it
    writes to ``tuning_dir``/`TUNING_FILE` (after each trial, atomically).

    Trial ``N`` runs ``base_argv`` plus its values (``--lr 0.003``), with ``--seed seed``, one
    seed, the CSV logger only and ``--test false``, into ``tuning_dir/trials/trialN``. Its
    value is the best validation top-1 of the run, `MONITOR` (the runner validates the best
    checkpoint); a run whose training loss stops being finite keeps the best validation top-1
    of the epochs it finished (0 when it finished none). Only final runs are tested
    (`tested_when_started`). The sampler is a seeded scrambled Sobol sequence (see above).

    One process searches in ``tuning_dir`` at a time (`search_directory_lock`). A finished
    search there of the same experiment (`experiment_key`), space, trials and seed is
    returned as it is. One that stopped (killed, SIGTERM, Ctrl-C, a full disk) is continued,
    with one line saying so: its recorded trials count as recorded, not run again, and its
    unfinished trial's run is resumed, counted or replaced (`left_over`).

    Args:
        base_argv: Options of ``experiments/run.py``; the trial values come after them and
            win over them.
        space: The options searched.
        n_trials: Runs in the search.
        tuning_dir: Where `TUNING_FILE` and ``trials/`` go.
        seed: The sampler's seed and the trials' training seed.

    Returns:
        The record: ``metric``, ``direction``, ``space``, ``sampler`` (name and seed),
        ``seed``, ``n_trials``, ``trials`` (each ``number``, ``params``, ``value``,
        ``diverged``, ``run_dir``), ``best`` (``number``, ``params``, ``value``), ``argv`` and
        ``config`` (the resolved base options).

    Raises:
        SystemExit: with status 2 when the runner refuses the options (it printed why); 1 for
            a full disk, 130 for Ctrl-C, `SIGTERM_EXIT_CODE` for SIGTERM, each after one line
            saying where the search stopped and to run the same command again.
        FileExistsError: ``tuning_dir`` holds another search.
        RunDirectoryInUse: another process is searching in ``tuning_dir``.
        SearchRecordError: `TUNING_FILE` is corrupt or not what the sampler offers; named.
    """
    tuning_dir = Path(tuning_dir)
    path = tuning_dir / TUNING_FILE
    config = build_parser().parse_args(list(base_argv))
    record = _search_record(base_argv, space, n_trials, seed, config_dict(config))
    with ExitStack() as held:
        exit_if_disk_full(lambda: held.enter_context(search_directory_lock(tuning_dir)))
        previous = _previous_search(path, record)
        if previous is not None and len(previous["trials"]) == n_trials:
            print(f"Reusing the finished search in {tuning_dir}")
            return previous
        if previous is None:
            exit_if_disk_full(lambda: _write_json(path, record))
        search = _Search(base_argv, space, seed, path, previous or record)
        _optimize(search.objective, _sobol_sampler(seed), n_trials)
    return search.record


def _optimize(
    objective: Callable[[optuna.Trial], float], sampler: optuna.samplers.BaseSampler, n_trials: int
) -> None:
    """Runs an Optuna study of ``n_trials`` trials, maximising ``objective``, without Optuna's
    own line per trial (``objective`` prints its own)."""
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = optuna.create_study(direction="maximize", sampler=sampler)
        study.optimize(objective, n_trials=n_trials)
    finally:
        optuna.logging.set_verbosity(verbosity)


def _sobol_sampler(seed: int) -> optuna.samplers.QMCSampler:
    """Optuna's scrambled Sobol sampler with ``seed``, without its experimental warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.QMCSampler(seed=seed, scramble=True)


def _search_record(
    base_argv: Sequence[str],
    space: Sequence[SearchParameter],
    n_trials: int,
    seed: int,
    config: dict[str, Any],
) -> dict[str, Any]:
    """A search's record before its first trial (`tune` lists the keys)."""
    return {
        "metric": MONITOR,
        "direction": "maximize",
        "space": [{**asdict(parameter), "spelling": parameter.spelling} for parameter in space],
        "sampler": {"name": "QMCSampler", "qmc_type": "sobol", "scramble": True, "seed": seed},
        "seed": seed,
        "n_trials": n_trials,
        "trials": [],
        "best": None,
        "argv": list(base_argv),
        "config": config,
    }


def _previous_search(path: Path, record: dict[str, Any]) -> dict[str, Any] | None:
    """The record at ``path``, finished or not, of ``record``'s experiment, space, seed and
    number of trials; ``None`` without one.

    Raises:
        FileExistsError: ``path`` records another search.
        SearchRecordError: ``path`` is not a JSON object.
    """
    if not path.is_file():
        return None
    try:
        previous = read_json_object(path)
    except ValueError as error:
        raise SearchRecordError(str(error)) from None
    same = all(previous.get(key) == record[key] for key in ("space", "seed", "n_trials"))
    same &= isinstance(previous.get("config"), dict) and isinstance(previous.get("trials"), list)
    if not (same and experiment_key(previous["config"]) == experiment_key(record["config"])):
        raise FileExistsError(
            f"{path.parent} holds another search ({path.name} records other options, space, "
            "trials or seed); give another --output-dir, or delete that folder to search again"
        )
    return previous


class _Search:
    """The study's objective: runs each trial as `tune` describes, adds it to ``record``,
    writes ``record`` to ``path`` and prints one line; the trials ``record`` already holds
    count as recorded.

    Args:
        base_argv: The runner options of every trial.
        space: The options searched.
        seed: The trials' seed.
        path: The search's `TUNING_FILE`.
        record: The search's record, with the trials finished before this process.
    """

    def __init__(
        self,
        base_argv: Sequence[str],
        space: Sequence[SearchParameter],
        seed: int,
        path: Path,
        record: dict[str, Any],
    ) -> None:
        self.base_argv, self.space, self.seed = list(base_argv), tuple(space), seed
        self.path, self.record = path, record
        self.recorded = len(record["trials"])

    def objective(self, trial: optuna.Trial) -> float:
        """Trial ``trial.number``'s value: recorded, or from its run."""
        values = {parameter.name: parameter.suggest(trial) for parameter in self.space}
        if trial.number < self.recorded:
            return self._recorded_value(trial.number, values)
        name = f"trial{trial.number}"
        trial_dir = self.path.parent / "trials" / name
        left = left_over(trial_dir, values, self.seed)
        self._say_what_continues(trial.number, left.describe(name))
        tested = left.resumed is not None and tested_when_started(left.resumed)
        single_run = ["--seed", str(self.seed), "--seeds", "null", "--logger", "csv"]
        single_run += ["--test", "true" if tested else "false"]
        argv = [*self.base_argv, *option_arguments(values), *single_run]
        try:
            if left.finished:
                done = finished_trial(left.finished)
            else:
                done = run_trial([*argv, "--output-dir", str(trial_dir)], trial_dir, left.resumed)
        except TrialStopped as stop:
            print(f"error: {self._stopped_line(name, stop)}", file=sys.stderr)
            raise SystemExit(stop.status) from None
        self._add(trial.number, values, done)
        return done.value

    def _recorded_value(self, number: int, values: dict[str, float | int]) -> float:
        recorded = self.record["trials"][number]
        if recorded["params"] != values:
            raise SearchRecordError(
                f"{self.path}: trial{number} ran with {recorded['params']}, but the sampler now "
                f"offers {values} (another version of Optuna?); delete {self.path.parent} to "
                "search again"
            )
        return recorded["value"]

    def _say_what_continues(self, number: int, left: str | None) -> None:
        """The one line of a continued search, at its first trial to run."""
        if number == self.recorded and (self.recorded or left):
            total = self.record["n_trials"]
            reused = f"{self.recorded} of {total} trials finished before it stopped and count "
            reused += "as recorded, not run again"
            left = left or "it left no unfinished run"
            print(f"Continuing the search in {self.path.parent}: {reused}; {left}")
        elif left:
            print(left)

    def _stopped_line(self, name: str, stop: TrialStopped) -> str:
        done, total = len(self.record["trials"]), self.record["n_trials"]
        return (
            f"{stop.reason} stopped the search in {self.path.parent} during {name} ({done} of "
            f"{total} trials finished, recorded in {self.path.name}); {stop.advice}run the same "
            "command again to continue it"
        )

    def _add(self, number: int, values: dict[str, float | int], done: TrialRun) -> None:
        """Records trial ``number`` and prints its line."""
        self.record["trials"].append(
            {
                "number": number,
                "params": values,
                "value": done.value,
                "diverged": done.diverged,
                "run_dir": str(done.run_dir),
            }
        )
        best = max(self.record["trials"], key=lambda trial: trial["value"])
        self.record["best"] = {key: best[key] for key in ("number", "params", "value")}
        exit_if_disk_full(lambda: _write_json(self.path, self.record))
        shown = ", ".join(f"{name}={value:.4g}" for name, value in values.items())
        print(
            f"trial{number} ({number + 1}/{self.record['n_trials']}): {shown} -> val "
            f"top-1 {100 * done.value:.2f}%{' (diverged)' if done.diverged else ''}; best so "
            f"far: trial{best['number']}, {100 * best['value']:.2f}%"
        )


def exit_if_disk_full(write: Callable[[], object]) -> None:
    """Calls ``write``; on a full disk, prints `disk_full_message` and exits with status 1."""
    try:
        write()
    except OSError as error:
        if error.errno not in DISK_FULL:
            raise
        print(f"error: {disk_full_message(error)}", file=sys.stderr)
        raise SystemExit(1) from None


def config_dict(config: Any) -> dict[str, Any]:
    """The resolved options as plain values, as ``config.yaml`` holds them."""
    values = config.as_dict()
    values.pop("config", None)
    return values


def _write_json(path: Path, record: dict[str, Any]) -> None:
    """Writes ``record`` atomically: a reader never sees half a file."""
    write_text_atomically(path, json.dumps(record, indent=2) + "\n")
