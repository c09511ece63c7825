"""`experiments/width_figure.py` on run directories written as the runner writes them: each
(model, read-out, width) is one row over its seeds, other experiments are left out, and the
hybrid's paired differences are the report's."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import yaml

SCRIPT = Path(__file__).resolve().parents[2] / "experiments" / "width_figure.py"


def load_script():
    spec = importlib.util.spec_from_file_location("width_figure", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_run(root: Path, name: str, options: dict, top1: float) -> None:
    run_dir = root / name
    run_dir.mkdir(parents=True)
    (run_dir / "config.yaml").write_text(yaml.safe_dump({"data": "digits", **options}))
    (run_dir / "results.json").write_text(json.dumps({"test/acc_top1": top1, "epochs": 1}))


def test_rows_by_model_read_out_and_width_without_other_experiments(tmp_path: Path) -> None:
    for seed in range(3):
        write_run(tmp_path, f"h6-{seed}", {"model": "hybrid", "seed": seed}, 0.10 + seed / 100)
        write_run(tmp_path, f"c6-{seed}", {"model": "hybrid_control", "seed": seed}, 0.08)
        options = {"model": "hybrid", "seed": seed, "n_qubits": 8, "readout": "zz"}
        write_run(tmp_path, f"h8-{seed}", options, 0.20)
        write_run(tmp_path, f"p-{seed}", {"model": "classical", "seed": seed}, 0.45)
        write_run(tmp_path, f"r-{seed}", {"model": "hybrid", "seed": seed, "residual": True}, 0.4)
    width_figure = load_script()
    lines, probe = width_figure.collect([str(tmp_path)])
    assert set(lines) == {("hybrid", "z", 6), ("hybrid_control", "z", 6), ("hybrid", "zz", 8)}
    assert lines["hybrid", "z", 6] == pytest.approx({0: 10.0, 1: 11.0, 2: 12.0})
    assert probe == pytest.approx({0: 45.0, 1: 45.0, 2: 45.0})
    table = width_figure.table(lines, probe)
    assert "| hybrid | z | 6 | 3 | 11.00 ± 1.00 |" in table
    assert "- hybrid (6 qubits, z) is above hybrid_control (+3.00 points" in table

    width_figure.main([str(tmp_path), "--output", str(tmp_path / "figure")])
    assert (tmp_path / "figure" / "width.png").stat().st_size > 0
    assert (tmp_path / "figure" / "width.md").read_text().startswith("Made by `python ")


def test_folders_without_the_width_models_are_refused_in_one_line(tmp_path: Path, capsys) -> None:
    write_run(tmp_path, "p-0", {"model": "classical", "seed": 0}, 0.45)
    with pytest.raises(SystemExit) as stopped:
        load_script().main([str(tmp_path), "--output", str(tmp_path / "figure")])
    assert stopped.value.code == 2
    assert "error: no run of hybrid, hybrid_separable" in capsys.readouterr().err
