"""`experiments/shots_curve.py` on a tiny trained run: the exact test top-1 is the run's own,
each shots count gets its repeats, and the same command writes the same numbers."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from hqnn_lightning.run.cli import main as run
from tests.experiments.scripts import load_script


def test_a_trained_run_is_tested_exactly_and_with_shots(tmp_path):
    tiny_run = ["--model", "hybrid_tiny", "--max-epochs", "1", "--logger", "csv", "--output-dir"]
    (results,) = run([*tiny_run, str(tmp_path / "runs")])
    shots_curve = load_script("shots_curve")
    argv = [
        str(tmp_path / "runs"),
        "--model",
        "hybrid_tiny",
        "--n-qubits",
        "2",
        "--shots",
        "4",
        "4096",
        "--repeats",
        "2",
        "--controls",
    ]
    tables = []
    for name in ("first", "second"):
        shots_curve.main([*argv, "--output", str(tmp_path / name)])
        with (tmp_path / name / "shots.csv").open() as file:
            tables.append(
                [(row["shots"], row["repeat"], row["test_top1"]) for row in csv.DictReader(file)]
            )
    rows = tables[0]
    assert tables[1] == rows, "the same seeds give the same estimates"
    assert [(shots, repeat) for shots, repeat, _ in rows] == [
        ("exact", ""),
        ("4", "0"),
        ("4", "1"),
        ("4096", "0"),
        ("4096", "1"),
    ]
    saved = json.loads((Path(results["run_dir"]) / "results.json").read_text())
    assert float(rows[0][2]) == saved["test/acc_top1"]
    assert (tmp_path / "first" / "shots.png").stat().st_size > 0
    assert "| hybrid_tiny | 2 | 4096 | 1 |" in (tmp_path / "first" / "report.md").read_text()
    assert (tmp_path / "first" / "command.txt").read_text().startswith("python experiments/")
