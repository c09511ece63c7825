"""One process of a search (`hqnn_lightning.run.tuning.tune`): it claims trials from the
search's study (`SearchStudy.claim`) until every point is done, runs each as an ordinary run
of ``experiments/run.py`` (`run_trial`), tells the study its value and rewrites the search's
`TUNING_FILE` from the study, one line a trial."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from optuna.trial import TrialState

from hqnn_lightning.report.runs import TUNING_FILE
from hqnn_lightning.run.disk_full import DISK_FULL, disk_full_message
from hqnn_lightning.run.pruning import PRUNING_CALLBACK, reporting_to
from hqnn_lightning.run.search_space import SearchParameter, option_arguments
from hqnn_lightning.run.search_study import Claim, SearchStudy
from hqnn_lightning.run.trial_runs import (
    TrialStopped,
    finished_trial,
    left_over,
    run_trial,
    tested_when_started,
)
from hqnn_lightning.utils.files import write_text_atomically

T = TypeVar("T")


class SearchWorker:
    """Runs the trials of ``search`` that this process claims, as `tune` describes.

    Args:
        search: The search's study.
        record: The search's record without its trials (`SearchStudy.summary` adds them).
        space: The options searched.
    """

    def __init__(
        self, search: SearchStudy, record: dict[str, Any], space: Sequence[SearchParameter]
    ) -> None:
        self.search, self.record, self.space = search, record, tuple(space)
        self.path = search.tuning_dir / TUNING_FILE
        self.recorded = len(search.done())
        self.said = False

    def run(self) -> dict[str, Any]:
        """Runs trials until the study has them all; returns the record it wrote last."""
        while True:
            with self.search.turn():
                claim = exit_if_disk_full(self.search.claim)
                summary = self.write_summary()
            if claim is not None:
                with claim.lock:
                    self._run(claim)
            elif len(summary["trials"]) == len(self.search.points):
                return summary
            else:
                self.search.wait_for_others()

    def write_summary(self) -> dict[str, Any]:
        """Writes `TUNING_FILE` from the study (call it in `SearchStudy.turn`)."""
        summary = self.search.summary(self.record)
        exit_if_disk_full(lambda: write_record(self.path, summary))
        return summary

    def _run(self, claim: Claim) -> None:
        """Runs ``claim``'s trial, or continues what a stopped worker left of it, and tells
        the study its value."""
        trial, name, seed = claim.trial, f"trial{claim.point}", self.record["seed"]
        values = {parameter.name: parameter.suggest(trial) for parameter in self.space}
        trial_dir = self.search.trial_dir(claim.point)
        left = left_over(trial_dir, values, seed)
        self._say_what_continues(left.describe(name))
        tested = left.resumed is not None and tested_when_started(left.resumed)
        single_run = ["--seed", str(seed), "--seeds", "null", "--logger", "csv"]
        single_run += ["--test", "true" if tested else "false"]
        if self.record["pruner"] != "none":
            single_run += ["--callbacks+", PRUNING_CALLBACK]
        argv = [*self.record["argv"], *option_arguments(values), *single_run]
        try:
            with reporting_to(trial) as reports:
                if left.finished:
                    done = finished_trial(left.finished)
                else:
                    output = ["--output-dir", str(trial_dir)]
                    done = run_trial([*argv, *output], trial_dir, left.resumed)
        except TrialStopped as stop:
            print(f"error: {self._stopped_line(name, stop)}", file=sys.stderr)
            raise SystemExit(stop.status) from None
        attrs = {"value": done.value, "diverged": done.diverged, "run_dir": str(done.run_dir)}
        for key, value in attrs.items():
            trial.set_user_attr(key, value)
        with self.search.turn():
            if reports.pruned_at is None:
                exit_if_disk_full(lambda: self.search.study.tell(trial, done.value))
            else:
                exit_if_disk_full(lambda: self.search.study.tell(trial, state=TrialState.PRUNED))
            summary = self.write_summary()
        self._say_trial(claim.point, values, summary, done.diverged, reports.pruned_at)

    def _say_what_continues(self, left: str | None) -> None:
        """The line of a continued search, at this process's first trial; then a line for
        each trial that continues what a stopped worker left."""
        ended = ", ".join(f"trial{point}" for point in self.search.ended)
        ended = ended and (
            f"{ended}, left running by a process that ended, marked failed and run again"
        )
        self.search.ended.clear()
        clauses = [clause for clause in (ended, left) if clause]
        if not self.said and (self.recorded or clauses):
            total = len(self.search.points)
            reused = f"{self.recorded} of {total} trials finished before this command and count "
            reused += "as recorded, not run again"
            left = "; ".join(clauses) or "it left no unfinished run"
            print(f"Continuing the search in {self.path.parent}: {reused}; {left}")
        elif clauses:
            print("; ".join(clauses))
        self.said = True

    def _stopped_line(self, name: str, stop: TrialStopped) -> str:
        done, total = len(self.search.done()), len(self.search.points)
        return (
            f"{stop.reason} stopped the search in {self.path.parent} during {name} ({done} of "
            f"{total} trials finished, recorded in {self.path.name}); {stop.advice}run the same "
            "command again to continue it"
        )

    def _say_trial(
        self,
        point: int,
        values: dict[str, float | int],
        summary: dict[str, Any],
        diverged: bool,
        pruned_at: int | None,
    ) -> None:
        (trial,) = (trial for trial in summary["trials"] if trial["number"] == point)
        shown = ", ".join(f"{name}={value:.4g}" for name, value in values.items())
        notes = " (diverged)" * diverged
        notes += f" (pruned after epoch {pruned_at})" if pruned_at is not None else ""
        best = summary["best"]
        best = f"trial{best['number']}, {100 * best['value']:.2f}%" if best else "none"
        print(
            f"trial{point} ({point + 1}/{len(self.search.points)}): {shown} -> val top-1 "
            f"{100 * trial['value']:.2f}%{notes}; best so far: {best}"
        )


def exit_if_disk_full(write: Callable[[], T]) -> T:
    """Returns ``write()``; on a full disk, prints `disk_full_message` and exits with status
    1."""
    try:
        return write()
    except OSError as error:
        if error.errno not in DISK_FULL:
            raise
        print(f"error: {disk_full_message(error)}", file=sys.stderr)
        raise SystemExit(1) from None


def write_record(path: Path, record: dict[str, Any]) -> None:
    """Writes ``record`` atomically: a reader never sees half a file."""
    write_text_atomically(path, json.dumps(record, indent=2) + "\n")
