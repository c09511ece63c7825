"""Reading run directories back: grouping by seed, the mean +- std table, the curves."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from hqnn_lightning.report import (
    PREDICTIONS_FILE,
    RunRecord,
    control_comparisons,
    differences_table,
    find_runs,
    group_runs,
    load_run,
    plot_forest,
    read_predictions,
    summary_table,
    write_predictions,
)
from hqnn_lightning.run.cli import main as run_main

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "experiments"))
from report import main as report_main  # noqa: E402


def record(model: str, seed: int, test_top1: float, **options) -> RunRecord:
    config = {"model": model, "data": "digits", "seed": seed, "output_dir": "runs", **options}
    results = {"model": model, "test/acc_top1": test_top1, "params_classical": 10}
    return RunRecord(Path(f"{model}-{seed}"), config, results)


def test_runs_differing_only_by_seed_form_one_group_labelled_by_what_differs() -> None:
    runs = [
        record("hybrid", 0, 0.2, freeze_backbone=True),
        record("hybrid", 1, 0.4, freeze_backbone=True),
        record("hybrid", 0, 0.5, freeze_backbone=False),
        record("classical", 0, 0.9, freeze_backbone=False),
    ]
    groups = group_runs(runs)
    assert [group.label for group in groups] == [
        "hybrid freeze_backbone=True",
        "hybrid freeze_backbone=False",
        "classical freeze_backbone=False",
    ]
    assert [len(group.runs) for group in groups] == [2, 1, 1]
    assert groups[0].values("test/acc_top1").tolist() == [0.2, 0.4]


def test_table_gives_mean_std_and_gaps_to_baseline_and_control() -> None:
    runs = [
        record("hybrid", 0, 0.2, n_qubits=6, q_device="torch"),
        record("hybrid", 1, 0.4, n_qubits=6, q_device="torch"),
        record("hybrid_control", 0, 0.5, n_qubits=6, q_device=None),
        record("classical", 0, 0.9, n_qubits=None, q_device=None),
    ]
    table = summary_table(group_runs(runs)).splitlines()
    hybrid = table[2].split(" | ")
    assert "30.00 ± 14.14" in hybrid  # mean and sample std over the two seeds, in percent
    # vs classical, vs the same-width control; no column for the controls that were not run
    assert table[0].split(" | ")[-2:] == [
        "Δ test top-1 vs classical",
        "Δ test top-1 vs hybrid_control |",
    ]
    assert hybrid[-2:] == ["-60.00", "-20.00 |"]
    assert table[3].split(" | ")[-1:] == ["- |"]  # a control has no control


def test_circuit_only_options_pair_a_variant_with_the_plain_control() -> None:
    runs = [
        record("hybrid", 0, 0.3, n_qubits=6, reupload=True, q_depth=3),
        record("hybrid", 0, 0.1, n_qubits=6, n_heads=4),
        record("hybrid_control", 0, 0.5, n_qubits=6),
        record("hybrid_control", 0, 0.6, n_qubits=6, n_heads=4, deterministic=False),
        record("classical", 0, 0.9, deterministic=True),
    ]
    rows = [row.split(" | ") for row in summary_table(group_runs(runs)).splitlines()[2:]]
    gaps = {row[0].lstrip("| "): row[-1].rstrip(" |") for row in rows}
    assert gaps["hybrid n_qubits=6 q_depth=3 reupload=True"] == "-20.00"
    assert gaps["hybrid n_heads=4 n_qubits=6"] == "-50.00"


def test_each_hybrid_is_paired_with_both_controls() -> None:
    runs = [
        record("hybrid", 0, 0.6, encoding="hadamard_ry", q_init="normal"),
        record("hybrid", 0, 0.3, encoding="ry", q_init="uniform"),
        record("hybrid_control", 0, 0.5),
        record("hybrid_separable", 0, 0.4, encoding="hadamard_ry", q_init="normal"),
        record("hybrid_separable", 0, 0.1, encoding="ry", q_init="uniform"),
    ]
    rows = [row.split(" | ") for row in summary_table(group_runs(runs)).splitlines()[2:]]
    gaps = {row[0].lstrip("| "): row[-2:] for row in rows}
    # The classical control takes no circuit options: one control for every encoding and
    # init. The separable circuit is the one with the same encoding and init.
    assert gaps["hybrid encoding=hadamard_ry q_init=normal"] == ["+10.00", "+20.00 |"]
    assert gaps["hybrid encoding=ry q_init=uniform"] == ["-20.00", "+20.00 |"]


def test_options_a_later_runner_records_do_not_split_a_group() -> None:
    later = {"devices": 1, "num_nodes": 1, "strategy": "auto", "yes": False, "max_retries": 3}
    runs = [
        record("hybrid", 0, 0.2),
        record("hybrid", 1, 0.4, progress_bar=True, deterministic=False, **later),
        record("hybrid", 2, 0.4, devices=2, strategy="ddp"),
    ]
    groups = group_runs(runs)
    assert [len(group.runs) for group in groups] == [2, 1]
    assert groups[1].label == "hybrid devices=2 strategy=ddp"


def test_baseline_must_name_a_group() -> None:
    with pytest.raises(ValueError, match="no group named 'resnet'; groups: hybrid"):
        summary_table(group_runs([record("hybrid", 0, 0.2)]), baseline="resnet")


def test_missing_runs_are_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no run directory"):
        find_runs([tmp_path])
    with pytest.raises(FileNotFoundError, match="results.json not found"):
        load_run(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        report_main([str(tmp_path / "absent"), "--output", str(tmp_path / "report")])
    assert exit_info.value.code == 2


@pytest.mark.slow
def test_seeds_run_then_report_from_the_saved_files(tmp_path: Path, capsys) -> None:
    common = ["--max-epochs", "2", "--logger", "csv", "--output-dir", str(tmp_path / "runs")]
    hybrid = run_main(["--model", "hybrid_tiny", "--seeds", "[0, 1]", *common])
    classical = run_main(["--model", "classical_tiny", "--arch", "small_cnn", *common])
    assert [results["seed"] for results in hybrid] == [0, 1]
    assert len({results["run_dir"] for results in hybrid + classical}) == 3
    saved = yaml.safe_load((Path(hybrid[1]["run_dir"]) / "config.yaml").read_text())
    assert saved["seed"] == 1 and saved.get("seeds") is None  # a saved config reruns one seed
    assert "± " in capsys.readouterr().out  # the table over seeds, printed after the runs

    report = report_main([str(tmp_path / "runs"), "--output", str(tmp_path / "report")])
    text = report.read_text()
    top1 = [100 * results["test/acc_top1"] for results in hybrid]
    mean = sum(top1) / 2
    assert "| hybrid_tiny | 2 |" in text and f"{mean:.2f} ± " in text
    gap = mean - 100 * classical[0]["test/acc_top1"]
    assert f"| {gap:+.2f} |" in text
    for stem in ("val_accuracy", "val_loss", "train_loss", "grad_norm", "output_spread"):
        assert (tmp_path / "report" / f"{stem}.png").stat().st_size > 5000
        assert f"({stem}.png)" in text

    group = group_runs(find_runs([tmp_path / "runs"]))[0]
    epochs, curve, _ = group.curve("val/acc_top1")
    assert epochs.tolist() == [0, 1]  # the post-training validation is not an epoch
    history = [json.loads(Path(r["run_dir"], "results.json").read_text()) for r in hybrid]
    assert all(h["epochs"] == 2 for h in history)
    assert curve.min() >= 0 and curve.max() <= 1


def test_curve_band_is_the_sample_std_of_the_table() -> None:
    runs = [record("hybrid", seed, 0.5) for seed in (0, 1)]
    runs[0].history = {"val/acc_top1": {0: 0.2, 1: 0.4}}
    runs[1].history = {"val/acc_top1": {0: 0.4, 1: 0.4}}
    epochs, mean, std = group_runs(runs)[0].curve("val/acc_top1")
    assert epochs.tolist() == [0, 1]
    assert mean.tolist() == pytest.approx([0.3, 0.4])
    assert std.tolist() == pytest.approx([0.1 * 2**0.5, 0.0])  # ddof=1, as in the table
    assert group_runs(runs[:1])[0].curve("val/acc_top1")[2].tolist() == [0.0, 0.0]


def test_saving_figures_leaves_pyplots_backend_alone(tmp_path: Path) -> None:
    import matplotlib

    from hqnn_lightning.report import plot_confusion_matrix, plot_curves

    before = matplotlib.get_backend()
    matplotlib.use("svg")  # any backend other than Agg, as a notebook's inline one would be
    try:
        run = record("hybrid", 0, 0.5)
        run.history = {"val/acc_top1": {0: 0.2}}
        assert len(plot_curves(group_runs([run]), tmp_path)) == 3
        plot_confusion_matrix(np.eye(3), ["a", "b", "c"], tmp_path / "cm.png")
        assert matplotlib.get_backend() == "svg"
        assert (tmp_path / "cm.png").read_bytes()[:4] == b"\x89PNG"
    finally:
        matplotlib.use(before)


def write_monitored_run(
    run_dir: Path,
    model: str,
    seed: int,
    parts: list[str],
    correct: np.ndarray | None = None,
    **options,
) -> None:
    """A finished run directory whose metrics.csv holds the trainability monitor's figures;
    with ``correct`` ``(N,)``, also its test predictions, right where ``correct`` is."""
    (run_dir / "csv").mkdir(parents=True)
    config = {"model": model, "data": "digits", "seed": seed, **options}
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config))
    top1 = 0.5 if correct is None else float(correct.mean())
    results = {"model": model, "epochs": 3, "test/acc_top1": top1, "trainability": {"parts": parts}}
    (run_dir / "results.json").write_text(json.dumps(results))
    if correct is not None:
        labels = np.arange(len(correct)) % 10
        rows = np.column_stack([labels, np.where(correct, labels, (labels + 1) % 10), correct])
        write_predictions(run_dir / PREDICTIONS_FILE, rows)
    columns = [f"trainability/grad_norm/{part}" for part in parts]
    columns.append("trainability/output_std/mean")
    with (run_dir / "csv" / "metrics.csv").open("w") as file:
        file.write(",".join(["epoch", "step", "val/acc_top1", *columns]) + "\n")
        for epoch in range(3):
            values = [10.0 ** -(epoch + i) + 0.01 * seed for i in range(len(columns))]
            file.write(",".join(map(str, [epoch, 10 * epoch, 0.3, *values])) + "\n")


def test_the_monitors_figures_are_drawn_from_the_saved_metrics(tmp_path: Path) -> None:
    parts = ["backbone", "projection", "bottleneck", "classifier"]
    for model, seed in (("hybrid", 0), ("hybrid", 1), ("hybrid_control", 0)):
        write_monitored_run(tmp_path / "runs" / f"{model}-{seed}", model, seed, parts)
    report = report_main([str(tmp_path / "runs"), "--output", str(tmp_path / "report")])
    text = report.read_text()
    for stem in ("grad_norm", "output_spread"):
        assert (tmp_path / "report" / f"{stem}.png").stat().st_size > 5000
        assert f"({stem}.png)" in text
    epochs, mean, _ = group_runs(find_runs([tmp_path / "runs"]))[0].curve(
        "trainability/grad_norm/bottleneck"
    )
    assert epochs.tolist() == [0, 1, 2]
    assert mean.tolist() == pytest.approx([0.01 + 0.005, 0.001 + 0.005, 0.0001 + 0.005])


def test_runs_without_the_monitors_figures_get_none(tmp_path: Path) -> None:
    from hqnn_lightning.report import plot_trainability

    run = record("classical", 0, 0.9)
    run.history = {"val/acc_top1": {0: 0.2}}
    assert plot_trainability(group_runs([run]), tmp_path) == []
    assert not any(tmp_path.iterdir())


def test_the_differences_table_forest_plot_and_small_multiples(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    accuracy = {"hybrid": 0.7, "hybrid_control": 0.6, "hybrid_separable": 0.65, "classical": 0.8}
    for model, encodings in (
        ("hybrid", ["ry", "hadamard_ry"]),
        ("hybrid_separable", ["ry", "hadamard_ry"]),
        ("hybrid_control", [None]),
        ("classical", [None]),
    ):
        for encoding in encodings:
            options = {"encoding": encoding} if encoding else {}
            for seed in range(3):
                correct = rng.random(300) < accuracy[model]
                run_dir = tmp_path / "runs" / f"{model}-{encoding}-{seed}"
                write_monitored_run(run_dir, model, seed, ["classifier"], correct, **options)

    report = report_main([str(tmp_path / "runs"), "--output", str(tmp_path / "report")])
    text = report.read_text()
    table = text.split("## Differences\n\n")[1].split("\n\n")[0].splitlines()
    assert len(table) == 2 + 4  # each hybrid against hybrid_control and its separable twin
    row = next(line for line in table if line.startswith("| hybrid encoding=ry | hybrid_control |"))
    cells = row.split(" | ")
    assert cells[-1] == "3 |"  # seeds
    assert float(cells[4]) >= 0.25  # Wilcoxon's floor with 3 pairs, 2 / 2**3
    assert cells[5].count("[") == 1  # the bootstrap interval over the images
    assert "over the 300 test images, 95% bootstrap CI" in text
    for stem in ("differences_forest", "test_accuracy_by_variant"):
        assert (tmp_path / "report" / f"{stem}.png").stat().st_size > 5000
        assert f"({stem}.png)" in text

    comparisons = control_comparisons(group_runs(find_runs([tmp_path / "runs"])))
    path, rows = plot_forest(comparisons, tmp_path / "forest")
    assert path == tmp_path / "forest" / "differences_forest.png" and path.is_file()
    assert rows == [  # the groups' order: their directories' (hadamard_ry before ry)
        "hybrid − hybrid_control encoding=hadamard_ry",
        "hybrid − hybrid_separable encoding=hadamard_ry",
        "hybrid − hybrid_control encoding=ry",
        "hybrid − hybrid_separable encoding=ry",
    ]
    first = comparisons[0]
    hybrid, control = (g.by_seed("test/acc_top1") for g in (first.group, first.control))
    expected = np.mean([100 * (hybrid[seed] - control[seed]) for seed in range(3)])
    assert first.difference.mean == pytest.approx(expected)
    assert first.images.mean == pytest.approx(expected)  # the same runs, so the same mean


def test_differences_without_predictions_or_seeds_show_dashes(tmp_path: Path) -> None:
    runs = [record("hybrid", 0, 0.6), record("hybrid_control", 0, 0.5)]
    comparisons = control_comparisons(group_runs(runs))
    assert len(comparisons) == 1 and comparisons[0].difference is None
    assert differences_table(comparisons).splitlines()[2] == (
        "| hybrid | hybrid_control | - | - | - | - | - |"
    )
    assert plot_forest(comparisons, tmp_path) == (None, [])  # no interval: no row
    assert not any(tmp_path.iterdir())


def test_predictions_are_read_back_as_written(tmp_path: Path) -> None:
    rows = np.array([[3, 3, 1], [1, 2, 1], [0, 4, 0]])
    path = write_predictions(tmp_path / PREDICTIONS_FILE, rows)
    assert path.read_text().splitlines()[:2] == ["index,label,prediction,correct_top5", "0,3,3,1"]
    predictions = read_predictions(path)
    assert predictions.correct.tolist() == [True, False, False]
    assert predictions.correct_top5.tolist() == [True, True, False]
    assert [p.name for p in tmp_path.iterdir()] == [PREDICTIONS_FILE]  # no temporary file left
    assert read_predictions(tmp_path / "absent.csv") is None
    path.write_text("index,label,prediction,correct_top5\n1,3,3,1\n0,1,1,1\n")
    with pytest.raises(ValueError, match="not in test-set order"):
        read_predictions(path)
