"""Test top-1 of trained exact models evaluated with finite shots: the shots curve.

    python experiments/shots_curve.py /work/runs/study196_new/out --output docs/results/shots \
        --data-dir /work/shared/data/stanford_cars_196

Keeps the final runs under the paths (`hqnn_lightning.report.find_runs`) of the one-head
library hybrid (``--model``, default ``hybrid``; no residual path, re-uploading or hidden
projection; the ``z`` read-out) at each ``--n-qubits``, one run per seed. Each run is
rebuilt from its ``config.yaml`` as the runner builds it (`hqnn_lightning.run.build.build`:
the DataModule with the frozen backbone's cached features, ``--precompute-features``), and
its best checkpoint is tested as the runner tests it (``Trainer.test(ckpt_path=...)``):
once exactly, then with its circuit on ``q_device="torch"`` with ``S`` shots
(`hqnn_lightning.hardware.placement.move_to_device`) for each ``--shots``, ``--repeats``
times, repeat ``r`` sampling with seed ``r`` (the device option ``seed``). The classical
controls (``--controls``), which have no shots, are read from their ``results.json``.

Writes ``command.txt`` (the command that made the CSV files), ``shots.csv`` (run
directory, model, n_qubits, seed, shots: ``exact`` or ``S``, repeat, test top-1),
``controls.csv`` (model, n_qubits, seed, test top-1), ``shots.png`` (one panel per width:
test top-1 against ``S`` on a log axis, the mean over seeds and repeats with the 95%
t-interval over seeds (each seed's repeats averaged) as a band, the exact value dashed, each
control's mean as a dotted line, the probe's value written in the corner) and ``report.md``
(the table).
"""

from __future__ import annotations

import argparse
import csv
import logging
import sys
import time
import warnings
from collections import defaultdict
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np

from hqnn_lightning.hardware.placement import move_to_device
from hqnn_lightning.report import find_runs
from hqnn_lightning.report.retest import (
    CONTROLS,
    METRIC,
    checkpoint_metrics,
    control_means,
    draw_controls,
    mean_interval,
    quiet_trainer,
    read_rows,
    rebuild,
    select,
    width,
)
from hqnn_lightning.report.runs import RunRecord

SHOTS = (16, 64, 256, 1024, 4096, 8192)


def test_top1(trainer: L.Trainer, model: L.LightningModule, data, checkpoint: Path) -> float:
    """The checkpoint's test top-1 with ``model``'s quantum layers as they are now."""
    return checkpoint_metrics(trainer, model, data, checkpoint)[METRIC]


def evaluate_run(run: RunRecord, args: argparse.Namespace, write: Any, log: Any = print) -> None:
    """Writes the run's exact and sampled test top-1 rows with ``write(shots, repeat, top1)``."""
    data, model = rebuild(run, args.data_dir)
    checkpoint = run.run_dir / run.results["best_checkpoint"]
    trainer = quiet_trainer()
    start = time.perf_counter()
    exact = test_top1(trainer, model, data, checkpoint)
    write("exact", "", exact)
    log(f"{run.run_dir.name}: exact {exact:.4f} (results.json {run.results[METRIC]:.4f})")
    for shots in args.shots:
        for repeat in range(args.repeats):
            move_to_device(model, "torch", shots, None, {"seed": repeat})
            write(shots, repeat, test_top1(trainer, model, data, checkpoint))
        log(f"  S={shots}: {args.repeats} repeats, {time.perf_counter() - start:.0f} s so far")


Curves = dict[tuple[str, int], dict[str, dict[int, float]]]
"""By (model, width) and shots (``"exact"`` or ``S``): each seed's mean over repeats, %."""


def curves(rows: list[dict[str, str]]) -> Curves:
    """The `Curves` of ``shots.csv``'s rows."""
    by_seed: dict[tuple[str, int, str, int], list[float]] = defaultdict(list)
    for row in rows:
        key = (row["model"], int(row["n_qubits"]), row["shots"], int(row["seed"]))
        by_seed[key].append(100 * float(row["test_top1"]))
    lines: Curves = defaultdict(lambda: defaultdict(dict))
    for (model, n, shots, seed), values in by_seed.items():
        lines[model, n][shots][seed] = float(np.mean(values))
    return lines


def plot(lines: Curves, controls: dict, path: Path) -> None:
    """One panel per width: the sampled curve with its band, exact dashed, controls."""
    from matplotlib.figure import Figure

    widths = sorted({n for _, n in lines})
    figure = Figure(figsize=(5 * len(widths), 4.2), constrained_layout=True)
    for axes, n in zip(np.atleast_1d(figure.subplots(1, len(widths))), widths, strict=True):
        for (model, width_), by_shots in sorted(lines.items()):
            if width_ != n:
                continue
            shots = sorted(int(s) for s in by_shots if s != "exact")
            intervals = (mean_interval(list(by_shots[str(s)].values())) for s in shots)
            means, halves = zip(*intervals, strict=True)
            (line,) = axes.plot(shots, means, marker="o", label=f"{model}, {n} qubits, S shots")
            low, high = np.subtract(means, halves), np.add(means, halves)
            axes.fill_between(shots, low, high, color=line.get_color(), alpha=0.2)
            exact, _ = mean_interval(list(by_shots["exact"].values()))
            axes.axhline(exact, color=line.get_color(), linestyle="--", label=f"{model}, exact")
        draw_controls(axes, controls, n)
        axes.set_xscale("log", base=2)
        axes.set_xticks(shots, [str(s) for s in shots])
        axes.set_xlabel("shots per image (S)")
        axes.set_ylabel("test top-1 % (196 classes)")
        axes.set_title(f"{n} qubits")
        axes.legend(fontsize=7)
    figure.savefig(path, dpi=120)


def table(lines: Curves, controls: dict) -> str:
    """Markdown: mean test top-1 % ± the 95% t-interval's half-width over seeds, by model,
    width and shots, and the sampled minus the exact value, paired by seed."""
    rows = [
        "| model | qubits | shots | seeds | test top-1 % | minus exact, paired by seed |",
        "|---|---|---|---|---|---|",
    ]
    for (model, n), by_shots in sorted(lines.items()):
        exact = by_shots["exact"]
        for shots in ["exact", *sorted((s for s in by_shots if s != "exact"), key=int)]:
            values = by_shots[shots]
            mean, half = mean_interval(list(values.values()))
            change = "-"
            if shots != "exact":
                gap, gap_half = mean_interval([values[seed] - exact[seed] for seed in values])
                change = f"{gap:+.2f} ± {gap_half:.2f}"
            cells = f"{len(values)} | {mean:.2f} ± {half:.2f} | {change}"
            rows.append(f"| {model} | {n} | {shots} | {cells} |")
    for (model, n), values in sorted(
        controls.items(), key=lambda item: (item[0][1] or 0, item[0][0])
    ):
        mean, half = mean_interval(values)
        rows.append(
            f"| {model} | {n or '-'} | none | {len(values)} | {mean:.2f} ± {half:.2f} | - |"
        )
    return "\n".join(rows) + "\n"


def write_controls(runs: list[RunRecord], path: Path) -> None:
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["run_dir", "model", "n_qubits", "seed", "test_top1"])
        for run in runs:
            n = width(run.config)
            row = [run.run_dir, run.config["model"], "" if n is None else n, run.seed]
            writer.writerow([*row, run.results[METRIC]])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", help="directories holding the final runs")
    parser.add_argument("--output", type=Path, default=Path("docs/results/shots"))
    parser.add_argument("--model", default="hybrid")
    parser.add_argument("--n-qubits", type=int, nargs="+", default=[6, 8])
    parser.add_argument("--shots", type=int, nargs="+", default=list(SHOTS))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seeds", type=int, nargs="+", help="only these run seeds")
    parser.add_argument("--controls", nargs="*", default=list(CONTROLS))
    parser.add_argument("--data-dir", help="the data's directory, if it moved since training")
    parser.add_argument("--plot-only", action="store_true", help="redraw from the CSV files")
    args = parser.parse_args(argv)
    args.output.mkdir(parents=True, exist_ok=True)
    shots_csv, controls_csv = args.output / "shots.csv", args.output / "controls.csv"
    if not args.plot_only:
        command = " ".join(["python experiments/shots_curve.py", *(argv or sys.argv[1:])])
        (args.output / "command.txt").write_text(command + "\n")
        runs = find_runs(args.paths)
        widths = set(args.n_qubits)
        chosen = select(runs, {args.model}, widths)
        if args.seeds is not None:
            chosen = [run for run in chosen if run.seed in args.seeds]
        write_controls(select(runs, set(args.controls), widths), controls_csv)
        logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
        warnings.filterwarnings("ignore")
        with shots_csv.open("w", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(
                ["run_dir", "model", "n_qubits", "seed", "shots", "repeat", "test_top1"]
            )
            for run in chosen:
                head = [run.run_dir, run.config["model"], width(run.config), run.seed]

                def write(shots, repeat, top1, head=head):
                    writer.writerow([*head, shots, repeat, top1])
                    file.flush()

                evaluate_run(run, args, write)
    lines, controls = curves(read_rows(shots_csv)), control_means(read_rows(controls_csv))
    plot(lines, controls, args.output / "shots.png")
    (args.output / "report.md").write_text(table(lines, controls))
    print((args.output / "report.md").read_text())


if __name__ == "__main__":
    main()
