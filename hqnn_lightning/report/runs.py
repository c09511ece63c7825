"""Reads saved run directories back and groups runs that differ only by the seed.

A run directory (written by `hqnn_lightning.run.training.train`) holds ``config.yaml`` (the
resolved options), ``results.json`` (final metrics, parameter counts, seconds per epoch) and
``csv/metrics.csv`` (one row per logged epoch and stage) and, from runs made since it was
added, ``test_predictions.csv`` (`hqnn_lightning.report.predictions`). Runs whose options
differ only by the seed form one *group*, each seed counted once
(`hqnn_lightning.report.duplicates`); a group is named after its model plus whichever
options tell it apart from the other groups (``hybrid freeze_backbone=True``). A run
directory whose files cannot be read is skipped with a `RunWarning` naming the file.
"""

from __future__ import annotations

import csv
import io
import json
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from hqnn_lightning.experiment.options import logistics_options, renamed, runner_defaults
from hqnn_lightning.report.duplicates import DuplicateSeed, one_run_per_seed
from hqnn_lightning.report.predictions import PREDICTIONS_FILE, ImagePredictions, read_predictions
from hqnn_lightning.utils.files import read_json_object


class RunWarning(UserWarning):
    """A run directory left out of the report (a file of it cannot be read, `find_runs`) or a
    seed counted once although several run directories hold it (`group_runs`)."""


TUNING_FILE = "tuning.json"
"""The record of a hyperparameter search, in its directory; run directories below it are its
trials (`hqnn_lightning.run.tuning`)."""


@dataclass
class RunRecord:
    """One run directory, read back.

    Args:
        run_dir: The directory.
        config: The resolved options (``config.yaml``).
        results: The final results (``results.json``).
        history: Per-epoch values, ``{metric: {epoch: value}}``, for the training epochs only.
        tuned: Options whose values a search chose for this run (`report.tuning.mark_tuned`):
            they belong to the search, not to the experiment, so they leave its group's key.
    """

    run_dir: Path
    config: dict[str, Any]
    results: dict[str, Any]
    history: dict[str, dict[int, float]] = field(default_factory=dict)
    tuned: frozenset[str] = frozenset()

    @property
    def seed(self) -> int:
        """The run's seed (0 for a run that saved none)."""
        return int(self.config.get("seed", 0))

    @property
    def group_key(self) -> tuple[tuple[str, str], ...]:
        """The run's `experiment_key`, without its `tuned` options."""
        return experiment_key(self.config, self.tuned)

    def predictions(self) -> ImagePredictions | None:
        """The run's per-image test predictions, ``None`` when it saved none."""
        return read_predictions(self.run_dir / PREDICTIONS_FILE)


@dataclass
class RunGroup:
    """Runs of one experiment that differ only by the seed.

    Args:
        label: Model name plus the options that set the group apart from the others.
        runs: The runs, in seed order, one per seed.
        duplicates: The seeds that several run directories held, and which one of them is in
            ``runs`` (`hqnn_lightning.report.duplicates`).
    """

    label: str
    runs: list[RunRecord]
    duplicates: list[DuplicateSeed] = field(default_factory=list)

    @property
    def model(self) -> str:
        return str(self.runs[0].config["model"])

    def values(self, metric: str) -> np.ndarray:
        """The final ``metric`` of every run that has it, ``(n_runs,)``."""
        values = [run.results.get(metric) for run in self.runs]
        return np.array([value for value in values if value is not None], dtype=float)

    def by_seed(self, metric: str) -> dict[int, float]:
        """The final ``metric`` of every run that has it, by the run's seed."""
        values = {run.seed: run.results.get(metric) for run in self.runs}
        return {seed: float(value) for seed, value in values.items() if value is not None}

    def predictions_by_seed(self) -> dict[int, ImagePredictions]:
        """The per-image test predictions of every run that saved them, by the run's seed."""
        found = {run.seed: run.predictions() for run in self.runs}
        return {seed: predictions for seed, predictions in found.items() if predictions is not None}

    def curve(self, metric: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Epochs ``(E,)`` and the mean and sample std over runs ``(E,)`` of ``metric`` per
        epoch (the table's statistics; std 0 for one run), on the epochs every run has."""
        histories = [run.history.get(metric, {}) for run in self.runs]
        epochs = sorted(set.intersection(*(set(history) for history in histories)))
        values = np.array([[history[epoch] for epoch in epochs] for history in histories])
        if not epochs:
            return np.array([]), np.array([]), np.array([])
        std = values.std(axis=0, ddof=1) if len(values) > 1 else np.zeros(len(epochs))
        return np.array(epochs), values.mean(axis=0), std


def load_run(run_dir: str | Path) -> RunRecord:
    """Reads one run directory.

    Raises:
        FileNotFoundError: ``run_dir`` lacks ``results.json`` or ``config.yaml`` (an
            unfinished or foreign directory); the message names the file.
        ValueError: a file of the run cannot be read (truncated, corrupt, not UTF-8, a YAML
            Python tag, not the mapping it should hold); the message names it.
    """
    run_dir = Path(run_dir)
    for name in ("results.json", "config.yaml"):
        if not (run_dir / name).is_file():
            raise FileNotFoundError(
                f"{run_dir / name} not found: not a finished run directory of experiments/run.py"
            )
    results = read_json_object(run_dir / "results.json")
    config = renamed(_read_options(run_dir / "config.yaml"))
    history = _read_history(run_dir / "csv" / "metrics.csv", _epochs(results, run_dir))
    read_predictions(run_dir / PREDICTIONS_FILE)  # checked now, so that a bad one skips the run
    return RunRecord(run_dir, config, results, history)


def _read_options(path: Path) -> dict[str, Any]:
    """The options in a run's ``config.yaml``, read with ``yaml.safe_load`` (no Python tags).

    Raises:
        ValueError: the file cannot be read, holds no options naming a model and a whole
            number as seed, or does not end with the line break the runner writes
            (truncated); the message names it.
    """
    text = _read_text(path)
    try:
        options = yaml.safe_load(text)
    except yaml.constructor.ConstructorError as error:
        raise ValueError(
            f"{path} holds what yaml.safe_load does not load ({error.problem}); "
            "the report reads the plain YAML that experiments/run.py writes"
        ) from None
    except yaml.YAMLError as error:
        reason = " ".join(str(error).split())
        raise ValueError(f"{path} is truncated or corrupt: {reason}") from None
    if not isinstance(options, dict) or "model" not in options:
        raise ValueError(f"{path} is truncated or corrupt: it names no model")
    if not isinstance(options.get("seed", 0), int):
        raise ValueError(f"{path} is corrupt: seed is {options['seed']!r}, not a whole number")
    return options


def _read_text(path: Path) -> str:
    """The UTF-8 text of a file the runner wrote whole, ending with a line break.

    Raises:
        ValueError: it cannot be read, is not UTF-8, or ends in the middle of a line.
    """
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as error:
        raise ValueError(f"{path} cannot be read: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise ValueError(f"{path} is corrupt: it is not UTF-8 text ({error.reason})") from None
    if text and not text.endswith("\n"):
        raise ValueError(f"{path} is truncated: it ends in the middle of a line")
    return text


def _epochs(results: dict[str, Any], run_dir: Path) -> int:
    """The number of training epochs that ``results.json`` records (0 when none)."""
    epochs = results.get("epochs") or 0
    if not isinstance(epochs, int):
        raise ValueError(
            f"{run_dir / 'results.json'} is corrupt: epochs is {epochs!r}, not a whole number"
        )
    return epochs


def find_runs(paths: Iterable[str | Path]) -> list[RunRecord]:
    """Every run under ``paths``: run directories themselves, or folders holding them.

    A run directory found below a folder that holds `TUNING_FILE` is a trial of a
    hyperparameter search (`hqnn_lightning.run.tuning`), not a result, and is skipped. Only
    folders from the path searched down are looked at, so trials are read when asked for:
    their run directory or the search's ``trials/`` folder given as a path. A directory
    found under several paths is read once. A run directory whose files cannot be read
    (`load_run`) is skipped with a `RunWarning` naming the file.

    Raises:
        FileNotFoundError: a path does not exist, or no readable run was found.
    """
    paths = [Path(path) for path in paths]
    runs, skipped, read = [], [], set()
    for path in paths:
        if not path.exists():
            raise FileNotFoundError(f"{path} does not exist")
        for run_dir in _run_directories(path):
            if run_dir.resolve() in read:
                continue
            read.add(run_dir.resolve())
            try:
                runs.append(load_run(run_dir))
            except (FileNotFoundError, ValueError) as error:
                message = str(error).rstrip(".")
                warnings.warn(f"{message}; run {run_dir} skipped", RunWarning, stacklevel=2)
                skipped.append(error)
    if not runs:
        where = ", ".join(map(str, paths))
        raise FileNotFoundError(
            f"no readable run under {where}: the {len(skipped)} run director"
            f"{'ies' if len(skipped) > 1 else 'y'} found could not be read (warnings above)"
            if skipped
            else f"no run directory (with results.json) under {where} "
            f"(trial runs, below a {TUNING_FILE}, are not counted)"
        )
    return runs


def _run_directories(path: Path) -> list[Path]:
    """``path`` if it is a run directory (it holds ``results.json``), else the run directories
    below it that are not trials of a search, in path order."""
    if (path / "results.json").is_file():
        return [path]
    found = (results.parent for results in path.rglob("results.json"))
    return sorted(run_dir for run_dir in found if not _is_trial(run_dir, path))


def _is_trial(run_dir: Path, root: Path) -> bool:
    """Whether a folder between ``root`` (included) and ``run_dir`` holds `TUNING_FILE`."""
    folder = run_dir.parent
    while not (folder / TUNING_FILE).is_file():
        if folder == root:
            return False
        folder = folder.parent
    return True


def group_runs(runs: Sequence[RunRecord]) -> list[RunGroup]:
    """Groups runs that differ only by the seed, labelled by model and distinguishing options,
    each seed once: of several run directories with a group's seed, one is kept
    (`hqnn_lightning.report.duplicates`), with a `RunWarning` saying which and why.

    Groups keep the order in which their first run appears.
    """
    grouped: dict[tuple[tuple[str, str], ...], list[RunRecord]] = {}
    for run in runs:
        grouped.setdefault(run.group_key, []).append(run)
    groups = []
    for label, members in zip(experiment_labels(list(grouped)), grouped.values(), strict=True):
        kept, duplicates = one_run_per_seed(members)
        for duplicate in duplicates:
            warnings.warn(duplicate.sentence(label), RunWarning, stacklevel=2)
        groups.append(RunGroup(label, sorted(kept, key=lambda run: run.seed), duplicates))
    return groups


def experiment_key(
    config: dict[str, Any], ignored: Iterable[str] = ()
) -> tuple[tuple[str, str], ...]:
    """The options of ``config`` that define the experiment, as sorted ``(name, JSON value)``
    pairs: the model, and the other options set (not ``None``) but ``ignored``, the seed and
    logistics
    (`logistics_options`) and runner options at their defaults, so that runs made before the
    runner recorded an option group with runs made after."""
    ignored, defaults = logistics_options() | set(ignored), runner_defaults()
    defaults.pop("model")
    return tuple(
        sorted(
            (name, json.dumps(value, sort_keys=True))
            for name, value in config.items()
            if value is not None
            and name not in ignored
            and not (name in defaults and value == defaults[name])
        )
    )


def experiment_labels(keys: Sequence[tuple[tuple[str, str], ...]]) -> list[str]:
    """One label per `experiment_key`: the model plus the options whose values differ
    between the keys (``hybrid freeze_backbone=True``)."""
    options = {name for key in keys for name, _ in key} - {"model"}
    varying = sorted(name for name in options if len({dict(key).get(name) for key in keys}) > 1)
    labels = []
    for key in keys:
        values = dict(key)
        details = [
            f"{name}={_label_value(json.loads(values[name]), _class_values(name, keys))}"
            for name in varying
            if name in values
        ]
        labels.append(" ".join([json.loads(values["model"]), *details]))
    return labels


def _label_value(value: Any, same_option: list[dict[str, Any]]) -> str:
    """An option's value in a label. A class in ``class_path``/``init_args`` form (the
    training recipe's ``optimizer``, ``lr_scheduler``, ``callbacks``) is its class name with
    the arguments whose values differ between the groups' instances of that class
    (``SGD(momentum=0.9)``; ``same_option``: every such instance, `_class_values`)."""
    if isinstance(value, list):
        return "[" + ", ".join(_label_value(item, same_option) for item in value) + "]"
    if not isinstance(value, dict) or "class_path" not in value:
        return str(value)
    same_class = [v for v in same_option if v["class_path"] == value["class_path"]]
    arguments = value.get("init_args") or {}
    differing = [
        f"{name}={argument}"
        for name, argument in sorted(arguments.items())
        if len({json.dumps((v.get("init_args") or {}).get(name)) for v in same_class}) > 1
    ]
    name = value["class_path"].rsplit(".", 1)[-1]
    return f"{name}({', '.join(differing)})" if differing else name


def _class_values(name: str, keys: Sequence[tuple[tuple[str, str], ...]]) -> list[dict[str, Any]]:
    """Every value in ``class_path``/``init_args`` form that the option ``name`` has in
    ``keys`` (each item of a list)."""
    found = []
    for key in keys:
        value = json.loads(dict(key).get(name, "null"))
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict) and "class_path" in item:
                found.append(item)
    return found


def _read_history(path: Path, epochs: int) -> dict[str, dict[int, float]]:
    """Per-epoch values of the training epochs ``0 .. epochs - 1`` (the validation and test of
    the best checkpoint after training are logged at epoch ``epochs`` and left out).

    Raises:
        ValueError: the file is not as Lightning's CSV logger writes it (`_read_text`, a
            number that is not one); the message names it.
    """
    history: dict[str, dict[int, float]] = {}
    if not path.is_file():
        return history
    text = _read_text(path)
    try:
        for row in csv.DictReader(io.StringIO(text, newline="")):
            _add_row(history, row, epochs)
    except (csv.Error, KeyError, ValueError) as error:
        reason = f"it has no {error} column" if isinstance(error, KeyError) else str(error)
        raise ValueError(f"{path} is truncated or corrupt: {reason}") from None
    return history


def _add_row(history: dict[str, dict[int, float]], row: dict[str, str], epochs: int) -> None:
    """Adds one row of ``metrics.csv`` to ``history`` if its epoch is a training epoch."""
    if None in row:
        raise ValueError(f"a row has more values than the header: {row[None]}")
    epoch = int(row["epoch"])
    if epoch >= epochs:
        return
    for name, value in row.items():
        if name not in ("epoch", "step") and value not in ("", None):
            history.setdefault(name, {})[epoch] = float(value)
