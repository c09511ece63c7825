"""Test top-1 of trained exact models evaluated under noise: the noise curve.

    python experiments/noise_curve.py /work/runs/study196_new/out --output docs/results/noise \
        --data-dir /work/shared/data/stanford_cars_196 --images 512

Keeps the final runs of the one-head library hybrid (``--model``, default ``hybrid``; ``z``
read-out, no hidden projection) at ``--n-qubits`` (default 6), one run per seed, as
``experiments/shots_curve.py`` does (`hqnn_lightning.report.retest`), rebuilds each from its
``config.yaml`` and tests its best checkpoint (``Trainer.test(ckpt_path=...)``) on a fixed
subset of the test set: ``--images`` images drawn without replacement with seed
``--subset-seed`` (`hqnn_lightning.report.retest.subset_indices`; all of them if left out).
Each run is tested on that subset

- exactly, on the device it was trained with (the reference);
- on ``default.mixed`` with a depolarizing channel of probability ``p`` after every gate on
  each of its wires (`hqnn_lightning.quantum.noise`), exact expectation values of the noisy
  state, for each ``--depolarizing`` ``p``;
- on ``qiskit.aer`` simulating ``--fake-backend``'s calibrated noise (transpiled onto its
  qubits with ``seed_transpiler=0``, SWAPs routed) with ``--shots`` shots, ``--repeats`` times,
  repeat ``r`` simulated with ``seed_simulator=r + 1`` (the runtime's local mode ignores a
  seed of 0, so repeats would not repeat).

The classical controls (``--controls``) are tested exactly on the same subset.

Writes ``command.txt``, ``subset.txt`` (the test-set indices), ``noise.csv`` (run directory,
model, n_qubits, seed, noise: ``exact``, ``depolarizing`` or the fake backend, level: ``p``,
shots, repeat, test top-1, test loss), ``controls.csv`` (the controls' test top-1 on the
subset), ``noise.png`` (test top-1 at each noise setting: the mean over seeds with its 95%
t-interval, each seed's value as a point, the noiseless value dashed, the controls dotted)
and ``report.md`` (the table, with each setting minus noiseless paired by seed).
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

import numpy as np

from hqnn_lightning.hardware.placement import move_to_device
from hqnn_lightning.report import find_runs, retest
from hqnn_lightning.report.runs import RunRecord

DEPOLARIZING = (0.001, 0.01, 0.05)
FAKE_BACKEND = "FakeNairobiV2"
"""7 qubits (IBM Falcon r5.11H); FakeManilaV2, the docs' example, has 5, too few for 6."""
COLUMNS = ["run_dir", "model", "n_qubits", "seed", "noise", "level", "shots", "repeat"]


def settings(args: argparse.Namespace) -> list[tuple[str, str, str, int | None, dict, str]]:
    """Each noisy evaluation: (noise, level, device, shots, device options, repeat)."""
    found = [
        ("depolarizing", str(p), "default.mixed", None, _depolarizing(p), "")
        for p in args.depolarizing
    ]
    for repeat in range(args.repeats if args.fake_backend else 0):
        options = {
            "fake_backend": args.fake_backend,
            "seed_transpiler": 0,
            "simulator": {"seed_simulator": repeat + 1},
        }
        found.append((args.fake_backend, "", "qiskit.aer", args.shots, options, str(repeat)))
    return found


def _depolarizing(p: float) -> dict[str, Any]:
    return {"noise": "depolarizing", "noise_strength": p}


def evaluate_run(run: RunRecord, args: argparse.Namespace, write: Any, log: Any = print) -> None:
    """Writes the run's rows on the subset with ``write(noise, level, shots, repeat, metrics)``:
    noiseless first, then each of `settings`."""
    data, model = retest.rebuild(run, args.data_dir)
    loader = retest.subset_loader(data, args.indices)
    checkpoint = run.run_dir / run.results["best_checkpoint"]
    trainer = retest.quiet_trainer()
    start = time.perf_counter()
    exact = retest.checkpoint_metrics(trainer, model, loader, checkpoint)
    write("exact", "", "", "", exact)
    log(f"{run.run_dir.name}: exact {exact[retest.METRIC]:.4f} on {len(args.indices)} images")
    for noise, level, device, shots, options, repeat in settings(args):
        move_to_device(model, device, shots, None, options)
        metrics = retest.checkpoint_metrics(trainer, model, loader, checkpoint)
        write(noise, level, shots or "", repeat, metrics)
        seconds = time.perf_counter() - start
        log(f"  {noise} {level} {repeat}: {metrics[retest.METRIC]:.4f}, {seconds:.0f} s so far")


def evaluate_controls(runs: list[RunRecord], args: argparse.Namespace, path: Path) -> None:
    """Writes each control's test top-1 on the subset to ``path``."""
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["run_dir", "model", "n_qubits", "seed", "test_top1"])
        for run in runs:
            data, model = retest.rebuild(run, args.data_dir)
            checkpoint = run.run_dir / run.results["best_checkpoint"]
            metrics = retest.checkpoint_metrics(
                retest.quiet_trainer(), model, retest.subset_loader(data, args.indices), checkpoint
            )
            n = retest.width(run.config)
            row = [run.run_dir, run.config["model"], "" if n is None else n, run.seed]
            writer.writerow([*row, metrics[retest.METRIC]])


Points = dict[str, dict[int, float]]
"""By setting label (``exact``, ``depolarizing p``, the fake backend): each seed's test
top-1 %, its repeats averaged."""


def points(rows: list[dict[str, str]]) -> Points:
    """The `Points` of ``noise.csv``'s rows, in the order the settings first appear."""
    by_seed: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        label = " ".join(part for part in (row["noise"], row["level"]) if part)
        if row["shots"]:
            label += f", {row['shots']} shots"
        by_seed[label][int(row["seed"])].append(100 * float(row["test_top1"]))
    return {
        label: {seed: float(np.mean(values)) for seed, values in seeds.items()}
        for label, seeds in by_seed.items()
    }


def plot(found: Points, controls: dict, n_qubits: int, images: int, path: Path) -> None:
    """Test top-1 at each setting: mean and 95% interval over seeds, seeds as points, the
    controls of width ``n_qubits``."""
    from matplotlib.figure import Figure

    labels = list(found)
    figure = Figure(figsize=(8, 4.5), constrained_layout=True)
    axes = figure.subplots()
    intervals = [retest.mean_interval(list(found[label].values())) for label in labels]
    means, halves = (np.array(values) for values in zip(*intervals, strict=True))
    positions = np.arange(len(labels))
    axes.errorbar(positions, means, yerr=halves, fmt="o", capsize=4, label="mean, 95% interval")
    for position, label in zip(positions, labels, strict=True):
        values = list(found[label].values())
        axes.scatter([position] * len(values), values, color="gray", s=10, alpha=0.6)
    axes.axhline(means[0], linestyle="--", color="tab:blue", label="noiseless")
    retest.draw_controls(axes, controls, n_qubits)
    axes.set_xticks(positions, labels, rotation=15, fontsize=8)
    axes.set_ylabel(f"test top-1 % ({images} test images)")
    axes.legend(fontsize=7)
    figure.savefig(path, dpi=120)


def table(found: Points, controls: dict) -> str:
    """Markdown: mean test top-1 % ± the 95% t-interval's half-width over seeds at each
    setting, and the setting minus noiseless, paired by seed."""
    rows = [
        "| setting | seeds | test top-1 % | minus noiseless, paired by seed |",
        "|---|---|---|---|",
    ]
    exact = found["exact"]
    for label, values in found.items():
        mean, half = retest.mean_interval(list(values.values()))
        change = "-"
        if label != "exact":
            gap, gap_half = retest.mean_interval([values[seed] - exact[seed] for seed in values])
            change = f"{gap:+.2f} ± {gap_half:.2f}"
        rows.append(f"| {label} | {len(values)} | {mean:.2f} ± {half:.2f} | {change} |")
    for (model, _), values in sorted(controls.items(), key=lambda item: item[0][0]):
        mean, half = retest.mean_interval(values)
        rows.append(f"| {model} (no circuit) | {len(values)} | {mean:.2f} ± {half:.2f} | - |")
    return "\n".join(rows) + "\n"


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", help="directories holding the final runs")
    parser.add_argument("--output", type=Path, default=Path("docs/results/noise"))
    parser.add_argument("--model", default="hybrid")
    parser.add_argument("--n-qubits", type=int, default=6)
    parser.add_argument("--images", type=int, help="test images in the subset (default: all)")
    parser.add_argument("--subset-seed", type=int, default=0)
    parser.add_argument("--depolarizing", type=float, nargs="*", default=list(DEPOLARIZING))
    parser.add_argument("--fake-backend", default=FAKE_BACKEND, help="'' for none")
    parser.add_argument("--shots", type=int, default=1024, help="shots on the fake backend")
    parser.add_argument("--repeats", type=int, default=1, help="fake-backend repeats")
    parser.add_argument("--seeds", type=int, nargs="+", help="only these run seeds")
    parser.add_argument("--controls", nargs="*", default=list(retest.CONTROLS))
    parser.add_argument("--data-dir", help="the data's directory, if it moved since training")
    parser.add_argument("--plot-only", action="store_true", help="redraw from the CSV files")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    args.output.mkdir(parents=True, exist_ok=True)
    noise_csv, controls_csv = args.output / "noise.csv", args.output / "controls.csv"
    if not args.plot_only:
        command = " ".join(["python experiments/noise_curve.py", *(argv or sys.argv[1:])])
        (args.output / "command.txt").write_text(command + "\n")
        runs = find_runs(args.paths)
        chosen = retest.select(runs, {args.model}, {args.n_qubits})
        chosen = [run for run in chosen if args.seeds is None or run.seed in args.seeds]
        if not chosen:
            sys.exit(f"error: no final {args.model} runs at {args.n_qubits} qubits in the paths")
        logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
        warnings.filterwarnings("ignore")
        data, _ = retest.rebuild(chosen[0], args.data_dir)
        data.setup("test")
        args.indices = retest.subset_indices(
            len(data.test_dataloader().dataset), args.images, args.subset_seed
        )
        (args.output / "subset.txt").write_text("\n".join(map(str, args.indices)) + "\n")
        evaluate_controls(
            retest.select(runs, set(args.controls), {args.n_qubits}), args, controls_csv
        )
        with noise_csv.open("w", newline="") as file:
            writer = csv.writer(file)
            writer.writerow([*COLUMNS, "test_top1", "test_loss"])
            for run in chosen:
                head = [run.run_dir, run.config["model"], retest.width(run.config), run.seed]

                def write(noise, level, shots, repeat, metrics, head=head):
                    row = [*head, noise, level, shots, repeat, metrics[retest.METRIC]]
                    writer.writerow([*row, metrics["test/loss"]])
                    file.flush()

                evaluate_run(run, args, write)
    found, controls = (
        points(retest.read_rows(noise_csv)),
        retest.control_means(retest.read_rows(controls_csv)),
    )
    images = len((args.output / "subset.txt").read_text().split())
    plot(found, controls, args.n_qubits, images, args.output / "noise.png")
    (args.output / "report.md").write_text(table(found, controls))
    print((args.output / "report.md").read_text())


if __name__ == "__main__":
    main()
