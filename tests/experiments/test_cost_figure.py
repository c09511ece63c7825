"""`experiments/cost_figure.py` on a tiny synthetic shots curve: each QPU's cost is the
preview's, the accuracy the mean over seeds and repeats, and the probe is timed and priced."""

from __future__ import annotations

import csv
import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "experiments" / "cost_figure.py"
SHOTS_ROWS = [
    ("hybrid", 6, 0, "exact", "", 0.5),
    ("hybrid", 6, 0, 16, 0, 0.2),
    ("hybrid", 6, 0, 16, 1, 0.4),
    ("hybrid", 6, 1, 16, 0, 0.6),
    ("hybrid", 6, 0, 64, 0, 0.5),
]


def load_script():
    spec = importlib.util.spec_from_file_location("cost_figure", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up
    spec.loader.exec_module(module)
    return module


def write(path: Path, header: list[str], rows: list[tuple]) -> None:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(("run", *row) for row in rows)


def test_costs_accuracy_and_the_probe(tmp_path):
    shots = tmp_path / "shots"
    shots.mkdir()
    header = ["run_dir", "model", "n_qubits", "seed", "shots", "repeat", "test_top1"]
    write(shots / "shots.csv", header, SHOTS_ROWS)
    write(
        shots / "controls.csv",
        ["run_dir", "model", "n_qubits", "seed", "test_top1"],
        [("classical", "", 0, 0.7), ("classical", "", 1, 0.9), ("hybrid_control", 6, 0, 0.1)],
    )
    out = tmp_path / "cost"
    argv = [str(shots), "--output", str(out), "--images", "10", "--features", "8"]
    rows = load_script().main([*argv, "--classes", "3", "--timing-repeats", "2"])
    aria = {r["shots"]: r for r in rows if r["qpu"] == "IonQ Aria on Braket"}
    assert aria[16]["dollars"] == pytest.approx(10 * (0.30 + 16 * 0.03))
    assert aria[16]["dollars_per_1000_images"] == pytest.approx(1000 * (0.30 + 16 * 0.03))
    assert aria[16]["test_top1"] == {6: pytest.approx(0.4)}
    assert aria[64]["test_top1"] == {6: pytest.approx(0.5)}
    ibm = next(r for r in rows if r["device"] == "qiskit.remote" and r["shots"] == 64)
    assert ibm["qpu_seconds_at_least"] == pytest.approx(10 * 64 * 250e-6)
    (probe,) = [r for r in rows if r["device"] == "cpu"]
    assert probe["test_top1"] == {6: pytest.approx(0.8)} and probe["dollars_per_1000_images"] > 0
    with (out / "cost.csv").open() as f:
        assert len(list(csv.DictReader(f))) == len(rows) == 6 * 2 + 1
    assert "| 16 | 40.00 |" in (out / "report.md").read_text()
    assert (out / "cost.png").stat().st_size > 0


def test_a_missing_file_is_one_line(tmp_path):
    with pytest.raises(SystemExit, match="shots.csv not found"):
        load_script().main([str(tmp_path), "--output", str(tmp_path / "out")])
