"""One run per seed in a group: run directories of the same experiment and seed (a copied run
directory, two searches or seed lists started together into one output directory) measure one
seed, so they are counted once.

The run counted is, in this order: the most complete (the most values in its ``results.json``,
then the most of ``csv/metrics.csv`` and ``test_predictions.csv`` present), then the one whose
``results.json`` was written last (a rerun of the seed replaces the older result), then the
first by path; so the choice depends on the directories alone, not on the order they are
given in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hqnn_lightning.report.runs import RunRecord

REPORT_FILES = ("csv/metrics.csv", "test_predictions.csv")
"""The files of a run besides ``results.json`` and ``config.yaml`` that the report reads."""


@dataclass(frozen=True)
class DuplicateSeed:
    """Run directories of one group that hold the same seed; one of them is counted.

    Args:
        seed: The seed.
        kept: The run counted.
        left_out: The others, in path order.
        reason: Why ``kept`` was chosen, a clause (``its results.json was written last``).
    """

    seed: int
    kept: RunRecord
    left_out: tuple[RunRecord, ...]
    reason: str

    def sentence(self, label: str) -> str:
        """What was counted and why, for the group named ``label``: the directories, the one
        kept, the options in which they differ (none for a copy) and their test top-1."""
        runs = [self.kept, *self.left_out]
        return (
            f"{label}: seed {self.seed} is in {len(runs)} run directories of the same "
            f"experiment, {_option_differences(runs)}; counted once, from {self.kept.run_dir} "
            f"({self.reason}), leaving out {', '.join(str(r.run_dir) for r in self.left_out)}; "
            f"{_test_top1(runs)}"
        )


def one_run_per_seed(runs: Sequence[RunRecord]) -> tuple[list[RunRecord], list[DuplicateSeed]]:
    """The runs of one group with each seed once (the module's rule picks which), in the
    order of ``runs``, and a `DuplicateSeed` for every seed held by several."""
    by_seed: dict[int, list[RunRecord]] = {}
    for run in runs:
        by_seed.setdefault(run.seed, []).append(run)
    duplicates = [_choose(seed, same) for seed, same in by_seed.items() if len(same) > 1]
    left_out = {id(run) for duplicate in duplicates for run in duplicate.left_out}
    return [run for run in runs if id(run) not in left_out], duplicates


def _choose(seed: int, runs: Sequence[RunRecord]) -> DuplicateSeed:
    """The `DuplicateSeed` of ``runs`` (two or more with ``seed``)."""
    ranked = sorted(runs, key=lambda run: str(run.run_dir))
    ranked.sort(key=lambda run: (_completeness(run), _written_ns(run)), reverse=True)
    kept, runner_up = ranked[0], ranked[1]
    if _completeness(kept) > _completeness(runner_up):
        values, files = _completeness(kept)
        reason = f"the most complete: {values} values in results.json, {files} of {REPORT_FILES}"
    elif _written_ns(kept) > _written_ns(runner_up):
        written = datetime.fromtimestamp(_written_ns(kept) / 1e9).isoformat(timespec="seconds")
        reason = f"its results.json was written last, at {written}"
    else:
        reason = "as complete and as recent as the others, and first by path"
    left_out = tuple(sorted(ranked[1:], key=lambda run: str(run.run_dir)))
    return DuplicateSeed(seed, kept, left_out, reason)


def _completeness(run: RunRecord) -> tuple[int, int]:
    """The values ``results.json`` holds (not null), and how many of `REPORT_FILES` exist."""
    values = sum(value is not None for value in run.results.values())
    return values, sum((run.run_dir / name).is_file() for name in REPORT_FILES)


def _written_ns(run: RunRecord) -> int:
    """When ``results.json`` was last written (ns since the epoch; 0 when it is not on disk)."""
    try:
        return (run.run_dir / "results.json").stat().st_mtime_ns
    except OSError:
        return 0


def _option_differences(runs: Sequence[RunRecord]) -> str:
    """The options whose saved values differ between ``runs``, which the grouping ignores."""
    names = {name for run in runs for name in run.config}
    differing = sorted(name for name in names if len({repr(r.config.get(name)) for r in runs}) > 1)
    if not differing:
        return "with the same options"
    return f"with options differing only in {', '.join(differing)}, which the grouping ignores"


def _test_top1(runs: Sequence[RunRecord]) -> str:
    """Their test top-1 (%): one figure when equal, else each run's, which says that the seed
    did not reproduce the run."""
    values = [run.results.get("test/acc_top1") for run in runs]
    if len(set(values)) == 1:
        return f"test top-1 the same in all ({_percent(values[0])})"
    each = ", ".join(_percent(value) for value in values)
    return f"test top-1 differs ({each}, the counted first): the seed did not reproduce the run"


def _percent(value: float | None) -> str:
    return "none" if value is None else f"{100 * value:.2f}%"
