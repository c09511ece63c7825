"""Reads saved run directories back and groups runs that differ only by the seed.

A run directory (written by `hqnn_lightning.run.training.train`) holds ``config.yaml`` (the
resolved options), ``results.json`` (final metrics, parameter counts, seconds per epoch) and
``csv/metrics.csv`` (one row per logged epoch and stage) and, from runs made since it was
added, ``test_predictions.csv`` (`hqnn_lightning.report.predictions`). Runs whose options
differ only by the seed form one *group*; a group is named after its model plus whichever
options tell it apart from the other groups (``hybrid freeze_backbone=True``).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from hqnn_lightning.experiment.options import logistics_options, renamed, runner_defaults
from hqnn_lightning.report.predictions import PREDICTIONS_FILE, ImagePredictions, read_predictions

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
        runs: The runs, in seed order.
    """

    label: str
    runs: list[RunRecord]

    @property
    def model(self) -> str:
        return str(self.runs[0].config["model"])

    def values(self, metric: str) -> np.ndarray:
        """The final ``metric`` of every run that has it, ``(n_runs,)``."""
        values = [run.results.get(metric) for run in self.runs]
        return np.array([value for value in values if value is not None], dtype=float)

    def by_seed(self, metric: str) -> dict[int, float]:
        """The final ``metric`` of every run that has it, by the run's seed."""
        values = {int(run.config.get("seed", 0)): run.results.get(metric) for run in self.runs}
        return {seed: float(value) for seed, value in values.items() if value is not None}

    def predictions_by_seed(self) -> dict[int, ImagePredictions]:
        """The per-image test predictions of every run that saved them, by the run's seed."""
        found = {int(run.config.get("seed", 0)): run.predictions() for run in self.runs}
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
    """
    run_dir = Path(run_dir)
    for name in ("results.json", "config.yaml"):
        if not (run_dir / name).is_file():
            raise FileNotFoundError(
                f"{run_dir / name} not found: not a finished run directory of experiments/run.py"
            )
    results = json.loads((run_dir / "results.json").read_text())
    config = renamed(yaml.safe_load((run_dir / "config.yaml").read_text()) or {})
    history = _read_history(run_dir / "csv" / "metrics.csv", int(results.get("epochs") or 0))
    return RunRecord(run_dir, config, results, history)


def find_runs(paths: Iterable[str | Path]) -> list[RunRecord]:
    """Every run under ``paths``: run directories themselves, or folders holding them.

    A run directory found below a folder that holds `TUNING_FILE` is a trial of a
    hyperparameter search (`hqnn_lightning.run.tuning`), not a result, and is skipped. Only
    folders from the path searched down are looked at, so trials are read when asked for:
    their run directory or the search's ``trials/`` folder given as a path.

    Raises:
        FileNotFoundError: a path does not exist, or no run was found.
    """
    paths = [Path(path) for path in paths]
    runs = []
    for path in paths:
        if not path.exists():
            raise FileNotFoundError(f"{path} does not exist")
        found = (
            [path]
            if (path / "results.json").is_file()
            else sorted(
                results.parent
                for results in path.rglob("results.json")
                if not _is_trial(results.parent, path)
            )
        )
        runs += [load_run(run_dir) for run_dir in found]
    if not runs:
        raise FileNotFoundError(
            f"no run directory (with results.json) under {', '.join(map(str, paths))} "
            f"(trial runs, below a {TUNING_FILE}, are not counted)"
        )
    return runs


def _is_trial(run_dir: Path, root: Path) -> bool:
    """Whether a folder between ``root`` (included) and ``run_dir`` holds `TUNING_FILE`."""
    folder = run_dir.parent
    while not (folder / TUNING_FILE).is_file():
        if folder == root:
            return False
        folder = folder.parent
    return True


def group_runs(runs: Sequence[RunRecord]) -> list[RunGroup]:
    """Groups runs that differ only by the seed, labelled by model and distinguishing options.

    Groups keep the order in which their first run appears.
    """
    grouped: dict[tuple[tuple[str, str], ...], list[RunRecord]] = {}
    for run in runs:
        grouped.setdefault(run.group_key, []).append(run)
    return [
        RunGroup(label, sorted(members, key=lambda run: run.config.get("seed", 0)))
        for label, members in zip(experiment_labels(list(grouped)), grouped.values(), strict=True)
    ]


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
    the best checkpoint after training are logged at epoch ``epochs`` and left out)."""
    history: dict[str, dict[int, float]] = {}
    if not path.is_file():
        return history
    with path.open(newline="") as file:
        for row in csv.DictReader(file):
            epoch = int(row["epoch"])
            if epoch >= epochs:
                continue
            for name, value in row.items():
                if name not in ("epoch", "step") and value not in ("", None):
                    history.setdefault(name, {})[epoch] = float(value)
    return history
