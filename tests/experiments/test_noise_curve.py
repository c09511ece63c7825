"""`experiments/noise_curve.py` on a tiny trained run: depolarizing noise of probability 0 gives
the exact values, noise changes them, and the same command writes the same numbers."""

from __future__ import annotations

import csv

import pytest

from hqnn_lightning.run.cli import main as run
from tests.experiments.scripts import load_script


def test_a_trained_run_is_tested_exactly_and_under_noise(tmp_path):
    pytest.importorskip("qiskit_aer")
    tiny_run = ["--model", "hybrid_tiny", "--max-epochs", "1", "--logger", "csv", "--output-dir"]
    run([*tiny_run, str(tmp_path / "runs")])
    noise_curve = load_script("noise_curve")
    argv = [
        str(tmp_path / "runs"),
        "--model",
        "hybrid_tiny",
        "--n-qubits",
        "2",
        "--images",
        "12",
        "--depolarizing",
        "0",
        "0.2",
        "--fake-backend",
        "FakeManilaV2",
        "--shots",
        "64",
        "--repeats",
        "2",
        "--controls",
    ]
    tables = []
    for name in ("first", "second"):
        noise_curve.main([*argv, "--output", str(tmp_path / name)])
        with (tmp_path / name / "noise.csv").open() as file:
            tables.append(
                [
                    (row["noise"], row["level"], row["repeat"], row["test_top1"], row["test_loss"])
                    for row in csv.DictReader(file)
                ]
            )
    rows = tables[0]
    assert tables[1] == rows, "the same seeds give the same values"
    assert [row[:3] for row in rows] == [
        ("exact", "", ""),
        ("depolarizing", "0.0", ""),
        ("depolarizing", "0.2", ""),
        ("FakeManilaV2", "", "0"),
        ("FakeManilaV2", "", "1"),
    ]
    exact, noiseless, depolarized, aer_first, aer_second = rows
    assert noiseless[3] == exact[3]
    assert float(noiseless[4]) == pytest.approx(float(exact[4]), abs=1e-5)
    assert abs(float(depolarized[4]) - float(exact[4])) > 1e-4, "noise moves the loss"
    assert aer_first[4] != aer_second[4], "each repeat samples with its own seed"
    subset = [int(index) for index in (tmp_path / "first" / "subset.txt").read_text().split()]
    assert len(subset) == 12 and subset == sorted(set(subset))
    assert (tmp_path / "first" / "noise.png").stat().st_size > 0
    assert "| depolarizing 0.2 | 1 |" in (tmp_path / "first" / "report.md").read_text()
    assert (tmp_path / "first" / "command.txt").read_text().startswith("python experiments/")
