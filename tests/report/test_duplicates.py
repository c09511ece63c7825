"""A seed held by several run directories of one experiment is counted once (issue 26 item 1)."""

from __future__ import annotations

import json
import os
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

from hqnn_lightning.report import RunRecord, RunWarning, find_runs, group_runs, summary_table
from tests.report.test_report import report_main, write_monitored_run


def run_on_disk(run_dir: Path, seed: int, results: dict, **options) -> RunRecord:
    """A run directory holding ``results.json`` with ``results``, read back as a record."""
    run_dir.mkdir(parents=True)
    (run_dir / "results.json").write_text(json.dumps(results))
    config = {"model": "hybrid", "data": "digits", "seed": seed, **options}
    return RunRecord(run_dir, config, results)


def test_a_copied_run_directory_is_one_seed(tmp_path: Path, capsys) -> None:
    correct = np.arange(100) % 3 == 0
    write_monitored_run(tmp_path / "runs" / "hybrid-seed0", "hybrid", 0, ["classifier"], correct)
    write_monitored_run(tmp_path / "runs" / "hybrid-seed1", "hybrid", 1, ["classifier"])
    shutil.copytree(tmp_path / "runs" / "hybrid-seed0", tmp_path / "runs" / "hybrid-seed0 (copy)")

    report = report_main([str(tmp_path / "runs"), "--output", str(tmp_path / "report")])
    text = report.read_text()
    assert "| hybrid | 2 (+1 duplicate) |" in text  # two distinct seeds, not three
    assert "| 42.00 ± 11.31 |" in text  # seeds 0 and 1 (34% and 50%), each once
    warning = next(line for line in capsys.readouterr().err.splitlines() if "seed 0" in line)
    assert warning.startswith("warning: hybrid: seed 0 is in 2 run directories")
    assert "with the same options" in warning and "test top-1 the same in all (34.00%)" in warning
    for name in ("hybrid-seed0", "hybrid-seed0 (copy)"):
        assert str(tmp_path / "runs" / name) in warning
    assert f"## Runs left out\n\n- {warning.removeprefix('warning: ')}" in text


def test_the_run_counted_is_the_most_complete_then_the_latest_then_the_first_by_path(
    tmp_path: Path,
) -> None:
    full = {"test/acc_top1": 0.5, "val/acc_top1": 0.6}
    partial = run_on_disk(tmp_path / "a", 0, {"test/acc_top1": 0.4, "val/acc_top1": None})
    complete = run_on_disk(tmp_path / "b", 0, full)
    with pytest.warns(RunWarning, match="the most complete: 2 values in results.json"):
        [group] = group_runs([complete, partial])
    assert group.runs == [complete] and group.duplicates[0].left_out == (partial,)

    older, newer = run_on_disk(tmp_path / "c", 1, full), run_on_disk(tmp_path / "d", 1, full)
    os.utime(older.run_dir / "results.json", ns=(10**18, 10**18))
    os.utime(newer.run_dir / "results.json", ns=(2 * 10**18, 2 * 10**18))
    for order in ([older, newer], [newer, older]):
        with pytest.warns(RunWarning, match="its results.json was written last"):
            assert group_runs(order)[0].runs == [newer]

    twins = [run_on_disk(tmp_path / name, 2, full) for name in ("f", "e")]
    for twin in twins:
        os.utime(twin.run_dir / "results.json", ns=(10**18, 10**18))
    for order in (twins, twins[::-1]):
        with pytest.warns(RunWarning, match="and first by path"):
            assert group_runs(order)[0].runs == [twins[1]]  # e before f


def test_the_same_seed_with_another_option_is_two_experiments(tmp_path: Path) -> None:
    runs = [
        run_on_disk(tmp_path / "a", 0, {"test/acc_top1": 0.5}),
        run_on_disk(tmp_path / "b", 0, {"test/acc_top1": 0.5}, lr=0.5),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RunWarning)
        groups = group_runs(runs)
    assert [(group.label, len(group.runs), group.duplicates) for group in groups] == [
        ("hybrid", 1, []),
        ("hybrid lr=0.5", 1, []),
    ]


def test_duplicates_that_differ_say_in_what(tmp_path: Path) -> None:
    runs = [
        run_on_disk(tmp_path / "a", 0, {"test/acc_top1": 0.5}, output_dir="runs"),
        run_on_disk(tmp_path / "b", 0, {"test/acc_top1": 0.25}, output_dir="other"),
        run_on_disk(tmp_path / "c", 1, {"test/acc_top1": 0.75}),
    ]
    os.utime(runs[0].run_dir / "results.json", ns=(2 * 10**18, 2 * 10**18))
    os.utime(runs[1].run_dir / "results.json", ns=(10**18, 10**18))
    with pytest.warns(RunWarning) as caught:
        groups = group_runs(runs)
    [message] = [str(warning.message) for warning in caught]
    assert "options differing only in output_dir, which the grouping ignores" in message
    assert "test top-1 differs (50.00%, 25.00%, the counted first)" in message
    assert summary_table(groups).splitlines()[2].startswith("| hybrid | 2 (+1 duplicate) |")


def test_a_run_directory_named_twice_is_read_once(tmp_path: Path) -> None:
    write_monitored_run(tmp_path / "runs" / "hybrid-seed0", "hybrid", 0, ["classifier"])
    paths = [tmp_path / "runs", tmp_path / "runs" / "hybrid-seed0", tmp_path / "runs" / "."]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RunWarning)
        [group] = group_runs(find_runs(paths))  # a folder and the run in it: one run
    assert len(group.runs) == 1
