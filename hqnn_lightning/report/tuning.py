"""Hyperparameter searches read back for the report: each `TUNING_FILE`'s model, space,
trials and chosen values (written by `hqnn_lightning.run.tuning.tune`)."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hqnn_lightning.report.runs import (
    TUNING_FILE,
    RunRecord,
    RunWarning,
    experiment_key,
    experiment_labels,
)
from hqnn_lightning.utils.files import read_json_object


@dataclass
class TuningRecord:
    """One search, read back.

    Args:
        tuning_dir: Its directory.
        record: The contents of its `TUNING_FILE`.
    """

    tuning_dir: Path
    record: dict[str, Any]

    @property
    def config(self) -> dict[str, Any]:
        """The resolved options every trial started from."""
        return self.record["config"]

    @property
    def space(self) -> str:
        """The space as it is spelled on the command line, ``lr=0.0001:0.03:log``."""
        return " ".join(parameter["spelling"] for parameter in self.record["space"])


def find_tunings(paths: Iterable[str | Path]) -> list[TuningRecord]:
    """Every search whose `TUNING_FILE` is in or under ``paths``, in path order. One whose
    file cannot be read is skipped with a `RunWarning` naming it (its trials are still not
    counted as runs, `find_runs`).

    Raises:
        FileNotFoundError: a path does not exist.
    """
    tunings = []
    for path in map(Path, paths):
        if not path.exists():
            raise FileNotFoundError(f"{path} does not exist")
        for file in sorted(path.rglob(TUNING_FILE)):
            try:
                tunings.append(TuningRecord(file.parent, read_json_object(file)))
            except ValueError as error:
                warnings.warn(f"{error}; search {file.parent} skipped", RunWarning, stacklevel=2)
    return tunings


def mark_tuned(runs: Sequence[RunRecord], tunings: Sequence[TuningRecord]) -> None:
    """Sets ``run.tuned`` to a search's options for each run that search chose values for:
    the run has the search's options but the searched ones, and the chosen values of those.
    Then a hybrid and its control, each trained with the values its own search chose, are
    one experiment apart, not two, and pair in the report."""
    for tuning in tunings:
        best = tuning.record.get("best")
        if not best:
            continue
        searched = frozenset(best["params"])
        wanted = experiment_key(tuning.config, searched)
        for run in runs:
            chosen = all(run.config.get(name) == value for name, value in best["params"].items())
            if chosen and experiment_key(run.config, searched) == wanted:
                run.tuned = searched


def tuning_labels(tunings: Sequence[TuningRecord]) -> list[str]:
    """Each search's model and the options that set it apart from the other searches."""
    return experiment_labels([experiment_key(tuning.config) for tuning in tunings])


def tuning_table(tunings: Sequence[TuningRecord]) -> str:
    """A Markdown table, one row per search: its `tuning_labels`, the space, the sampler and
    seed, trials run of trials planned (with how many the pruner stopped, ``3/8 (2
    pruned)``), the chosen values and their validation top-1 (percent)."""
    rows = [
        "| model | space | sampler (seed) | trials | chosen | val top-1 % |",
        "|" + "---|" * 6,
    ]
    for label, tuning in zip(tuning_labels(tunings), tunings, strict=True):
        record, best = tuning.record, tuning.record["best"]
        sampler = f"{record['sampler']['name']} ({record['sampler']['seed']})"
        trials = f"{len(record['trials'])}/{record['n_trials']}"
        pruned = sum(trial.get("pruned", False) for trial in record["trials"])
        trials += f" ({pruned} pruned)" if pruned else ""
        chosen = _values(best["params"]) if best else "-"
        value = f"{100 * best['value']:.2f}" if best else "-"
        rows.append(f"| {label} | {tuning.space} | {sampler} | {trials} | {chosen} | {value} |")
    return "\n".join(rows)


def trials_table(tunings: Sequence[TuningRecord]) -> str:
    """A Markdown table, one row per trial of each search: the search's `tuning_labels`, the
    trial (``trialN``, as its directory under ``trials/``), its values and its validation
    top-1 (percent; "diverged" when its training loss stopped being finite, "pruned" when
    the pruner stopped it), the chosen trial marked."""
    rows = ["| model | trial | values | val top-1 % |", "|" + "---|" * 4]
    for label, tuning in zip(tuning_labels(tunings), tunings, strict=True):
        best = tuning.record["best"] or {}
        for trial in tuning.record["trials"]:
            value = f"{100 * trial['value']:.2f}" + " (diverged)" * trial["diverged"]
            value += " (pruned)" * trial.get("pruned", False)
            mark = " (chosen)" if trial["number"] == best.get("number") else ""
            rows.append(
                f"| {label} | trial{trial['number']}{mark} | {_values(trial['params'])} | {value} |"
            )
    return "\n".join(rows)


def _values(params: dict[str, float]) -> str:
    """``lr=0.003, weight_decay=1e-05``."""
    return ", ".join(f"{name}={value:.4g}" for name, value in params.items())
