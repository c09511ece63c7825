"""Searches in the report: trial runs are not results, and each search's table."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

from hqnn_lightning.report import TUNING_FILE, find_runs, find_tunings, trials_table, tuning_table
from hqnn_lightning.run.cli import main as run_main
from hqnn_lightning.run.search_space import option_arguments, parse_space
from hqnn_lightning.run.tuning import tune

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "experiments"))
from report import main as report_main  # noqa: E402


def fake_run(run_dir: Path, model: str = "classical") -> Path:
    run_dir.mkdir(parents=True)
    (run_dir / "results.json").write_text(json.dumps({"model": model, "epochs": 1}))
    (run_dir / "config.yaml").write_text(yaml.safe_dump({"model": model, "seed": 0}))
    return run_dir


def fake_tuning(tuning_dir: Path, model: str, n_qubits: int | None, values: list[float]) -> Path:
    trials = [
        {"number": n, "params": {"lr": 10.0**-n}, "value": v, "diverged": n == 2, "run_dir": "x"}
        for n, v in enumerate(values)
    ]
    for trial in trials[3:]:
        trial["pruned"] = True  # pruned trials are never chosen
    best = max(trials[:3], key=lambda trial: trial["value"])
    record = {
        "metric": "val/acc_top1",
        "space": [{"name": "lr", "spelling": "lr=0.0001:0.1:log"}],
        "sampler": {"name": "QMCSampler", "seed": 0},
        "n_trials": 4,
        "trials": trials,
        "best": {key: best[key] for key in ("number", "params", "value")},
        "config": {"model": model, "n_qubits": n_qubits, "seed": 0, "output_dir": "x"},
    }
    tuning_dir.mkdir(parents=True)
    (tuning_dir / TUNING_FILE).write_text(json.dumps(record))
    return tuning_dir


def test_runs_below_a_search_are_trials_not_results(tmp_path: Path) -> None:
    final = fake_run(tmp_path / "classical-seed0")
    tuning_dir = fake_tuning(tmp_path / "tuning" / "classical-1234", "classical", None, [0.5])
    trial = fake_run(tuning_dir / "trials" / "trial0" / "classical-seed0")
    assert [run.run_dir for run in find_runs([tmp_path])] == [final]
    with pytest.raises(FileNotFoundError, match=r"trial runs, below a tuning.json"):
        find_runs([tuning_dir])
    # asked for by name, the trials are read
    assert [run.run_dir for run in find_runs([tuning_dir / "trials"])] == [trial]
    assert [run.run_dir for run in find_runs([trial])] == [trial]


def test_the_table_gives_space_trials_and_choice_per_search(tmp_path: Path) -> None:
    fake_tuning(tmp_path / "a", "hybrid", 4, [0.5, 0.7, 0.1])
    fake_tuning(tmp_path / "b", "hybrid", 6, [0.6, 0.2, 0.3, 0.9])
    tunings = find_tunings([tmp_path])
    rows = tuning_table(tunings).splitlines()[2:]
    assert rows == [
        "| hybrid n_qubits=4 | lr=0.0001:0.1:log | QMCSampler (0) | 3/4 | lr=0.1 | 70.00 |",
        "| hybrid n_qubits=6 | lr=0.0001:0.1:log | QMCSampler (0) | 4/4 (1 pruned) | lr=1 "
        "| 60.00 |",
    ]
    trials = trials_table(tunings).splitlines()[2:]
    assert trials[1] == "| hybrid n_qubits=4 | trial1 (chosen) | lr=0.1 | 70.00 |"
    assert trials[2] == "| hybrid n_qubits=4 | trial2 | lr=0.01 | 10.00 (diverged) |"
    assert trials[6] == "| hybrid n_qubits=6 | trial3 | lr=0.001 | 90.00 (pruned) |"
    assert len(trials) == 7


def test_report_counts_the_final_runs_and_prints_the_search(tmp_path: Path, capsys) -> None:
    runs = tmp_path / "runs"
    base = ["--model", "classical_tiny", "--arch", "small_cnn", "--max-epochs", "1"]
    base += ["--logger", "csv", "--progress-bar", "false", "--output-dir", str(runs)]
    space = parse_space(["lr=1e-3:3e-2:log"])
    record = tune(base, space, 2, runs / "tuning" / "classical_tiny-test", seed=0)
    (final,) = run_main([*base, "--seed", "1", *option_arguments(record["best"]["params"])])

    assert [run.run_dir for run in find_runs([runs])] == [Path(final["run_dir"])]
    report = report_main([str(runs), "--output", str(tmp_path / "report")]).read_text()
    assert "| classical_tiny | 1 |" in report  # one run, the final one
    chosen = f"lr={record['best']['params']['lr']:.4g}"
    row = f"| classical_tiny | lr=0.001:0.03:log | QMCSampler (0) | 2/2 | {chosen} | "
    assert "## Tuning" in report and row in report
    assert row in capsys.readouterr().out


def test_runs_trained_with_their_own_searchs_values_pair_with_their_control():
    from hqnn_lightning.report import RunRecord, TuningRecord, group_runs, mark_tuned, summary_table

    def run(model: str, seed: int, top1: float, **options) -> RunRecord:
        config = {"model": model, "data": "digits", "seed": seed, **options}
        return RunRecord(Path(f"{model}{seed}"), config, {"test/acc_top1": top1})

    def search(model: str, lr: float) -> TuningRecord:
        best = {"number": 0, "params": {"lr": lr}, "value": 0.5}
        return TuningRecord(
            Path(model), {"config": {"model": model, "data": "digits"}, "best": best}
        )

    runs = [
        run("hybrid", 0, 0.30, lr=0.01),
        run("hybrid", 1, 0.40, lr=0.01),
        run("hybrid_control", 0, 0.20, lr=0.003),
        run("hybrid_control", 1, 0.25, lr=0.003),
        run("hybrid_control", 0, 0.90, lr=0.1),  # not the value its search chose
    ]
    mark_tuned(runs, [search("hybrid", 0.01), search("hybrid_control", 0.003)])
    assert [run.tuned for run in runs] == [frozenset({"lr"})] * 4 + [frozenset()]
    groups = group_runs(runs)
    assert [group.label for group in groups] == [
        "hybrid",
        "hybrid_control",
        "hybrid_control lr=0.1",
    ]
    hybrid_row = summary_table(groups).splitlines()[2].split(" | ")
    assert hybrid_row[-1].startswith("+12.50 [")  # paired with the tuned control, not lr=0.1
