"""What evaluating the 196-class test set would cost on each QPU, at each shots count of the
shots curve, beside the classical model's CPU cost: the cost table and figure.

    python experiments/cost_figure.py docs/results/shots --output docs/results/cost

Reads the shots curve's ``shots.csv`` and ``controls.csv`` (`experiments/shots_curve.py`).
For each shots count ``S`` there and each QPU with a published price
(`hqnn_lightning.hardware.prices.PRICES`), the cost of the test set is what ``--evaluate``'s
cost preview states: an `EvaluationPlan` of ``--images`` test images x
``--circuits-per-image`` circuits (one per head; the shots curve's hybrids have one), each
circuit one task of ``S`` shots. Its test top-1 is the mean over seeds and repeats at ``S``
(every width in ``shots.csv``).

The classical model's cost is its head's CPU time on the frozen features, the part it runs
in place of the circuit (the backbone is the same for both and left out of both): the
linear probe, ``Linear(--features, --classes)``, on a batch of 1,000 feature vectors on one
thread of this machine's CPU (the best of ``--timing-repeats`` runs), times the on-demand
price of one vCPU (`CPU_PRICE`). Its test top-1 is the probe's mean in ``controls.csv``.

Writes ``command.txt``, ``cost.csv`` (one row per QPU and ``S``, and one for the probe),
``report.md`` (the table and the sources) and ``cost.png`` (test top-1 against US dollars per
1,000 images on a log axis: one line per QPU and width, the probe a point).
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import torch

from hqnn_lightning.hardware.plan import EvaluationPlan
from hqnn_lightning.hardware.prices import PRICES, QpuPrice

PROBE = "classical"
CPU_PRICE = {
    "dollars_per_hour": 0.0816,
    "vcpus": 2,
    "what": "AWS EC2 m7g.large (2 vCPUs), Linux, on demand, us-east-1, June 2026",
    "source": (
        "factualminds.com/blog/amazon-ec2-on-demand-pricing-instance-families-2026 "
        "(a third-party summary of AWS's price list, read 2026-12-07)"
    ),
}
"""The CPU's price: one vCPU-hour is ``dollars_per_hour / vcpus``."""
FIELDS = [
    "device",
    "provider",
    "qpu",
    "shots",
    "tasks",
    "total_shots",
    "dollars",
    "dollars_per_1000_images",
    "qpu_seconds_at_least",
    "test_top1",
]


@dataclass(frozen=True)
class Accuracy:
    """Test top-1 (fraction) of the hybrids by width and shots, and of the probe."""

    by_shots: dict[int, dict[int, float]]
    """``{n_qubits: {S: mean test top-1}}``."""
    probe: float


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


def read_accuracy(shots_csv: Path, controls_csv: Path) -> Accuracy:
    """The mean test top-1 over seeds and repeats at each width and ``S`` (exact rows left
    out), and the probe's mean over seeds."""
    values: dict[int, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    with shots_csv.open() as f:
        for row in csv.DictReader(f):
            if row["shots"] != "exact":
                values[int(row["n_qubits"])][int(row["shots"])].append(float(row["test_top1"]))
    with controls_csv.open() as f:
        probe = [float(row["test_top1"]) for row in csv.DictReader(f) if row["model"] == PROBE]
    if not values or not probe:
        raise ValueError(
            f"{shots_csv} needs sampled rows and {controls_csv} rows of the {PROBE!r} probe"
        )
    by_shots = {n: {s: mean(v) for s, v in sorted(per.items())} for n, per in values.items()}
    return Accuracy(dict(sorted(by_shots.items())), mean(probe))


def qpu_rows(accuracy: Accuracy, images: int, circuits_per_image: int) -> list[dict]:
    """One row per priced QPU and ``S``, costed as `EvaluationPlan.describe` costs it."""
    shots_counts = sorted({s for per in accuracy.by_shots.values() for s in per})
    rows = []
    for price in PRICES:
        for shots in shots_counts:
            plan = EvaluationPlan(images, 1, 0, images, circuits_per_image, shots)
            rows.append(_row(price, plan, accuracy))
    return rows


def _row(price: QpuPrice, plan: EvaluationPlan, accuracy: Accuracy) -> dict:
    dollars = price.dollars(plan.circuits, plan.shots)
    return {
        "device": price.device,
        "provider": price.provider,
        "qpu": price.name,
        "shots": plan.shots,
        "tasks": plan.circuits,
        "total_shots": plan.total_shots,
        "dollars": dollars,
        "dollars_per_1000_images": None if dollars is None else dollars * 1000 / plan.samples,
        "qpu_seconds_at_least": price.qpu_seconds(plan.circuits, plan.shots),
        "test_top1": {n: per.get(plan.shots) for n, per in accuracy.by_shots.items()},
    }


def probe_seconds_per_1000(features: int, classes: int, repeats: int) -> float:
    """The best of ``repeats`` timings (s) of ``Linear(features, classes)`` on 1,000 feature
    vectors ``(1000, features)``, on one CPU thread, without gradients."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        head = torch.nn.Linear(features, classes)
        x = torch.randn(1000, features)
        timings = []
        with torch.no_grad():
            for _ in range(repeats):
                start = time.perf_counter()
                head(x)
                timings.append(time.perf_counter() - start)
    finally:
        torch.set_num_threads(threads)
    return min(timings)


def probe_row(seconds: float, accuracy: Accuracy, widths: list[int]) -> dict:
    """The probe's row: its CPU seconds per 1,000 images at one vCPU's price."""
    dollars = seconds * CPU_PRICE["dollars_per_hour"] / CPU_PRICE["vcpus"] / 3600
    return {
        "device": "cpu",
        "provider": CPU_PRICE["what"],
        "qpu": f"{seconds * 1e3:.2f} ms of one vCPU",
        "shots": None,
        "tasks": None,
        "total_shots": None,
        "dollars": None,
        "dollars_per_1000_images": dollars,
        "qpu_seconds_at_least": None,
        "test_top1": dict.fromkeys(widths, accuracy.probe),
    }


def _cell(value) -> str:
    return "" if value is None else f"{value:.6g}" if isinstance(value, float) else str(value)


def write_csv(rows: list[dict], widths: list[int], path: Path) -> None:
    columns = FIELDS[:-1] + [f"test_top1_{n}q" for n in widths]
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        for row in rows:
            top1 = [_cell(row["test_top1"].get(n)) for n in widths]
            writer.writerow([_cell(row[field]) for field in FIELDS[:-1]] + top1)


def _money(value: float | None) -> str:
    if value is None:
        return "not published"
    if value >= 100:
        return f"${value:,.0f}"
    return f"${value:,.2f}" if value >= 0.01 else f"${value:.2g}"


def _duration(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 60 else f"{seconds / 60:,.1f} min"


def table(rows: list[dict], widths: list[int], images: int) -> str:
    """The markdown table, one line per ``S``: the test top-1 at each width, and for each
    QPU the dollars of the test set with the dollars per 1,000 images in brackets (and the
    QPU time where a rate is known); the probe's line last."""
    qpus = list(dict.fromkeys(row["qpu"] for row in rows if row["device"] != "cpu"))
    by_shots: dict[int, dict[str, dict]] = defaultdict(dict)
    for row in rows:
        if row["device"] != "cpu":
            by_shots[row["shots"]][row["qpu"]] = row
    head = [f"top-1 % {n} qubits" for n in widths] + qpus
    lines = ["| S | " + " | ".join(head) + " |", "|---" * (len(head) + 1) + "|"]
    for shots, per_qpu in by_shots.items():
        first = next(iter(per_qpu.values()))
        cells = [f"{shots:,}"] + [f"{100 * first['test_top1'][n]:.2f}" for n in widths]
        for qpu in qpus:
            row = per_qpu[qpu]
            cost = _money(row["dollars"])
            if row["dollars"] is not None:
                cost += f" ({_money(row['dollars_per_1000_images'])})"
            if row["qpu_seconds_at_least"] is not None:
                cost += f", ≥ {_duration(row['qpu_seconds_at_least'])}"
            cells.append(cost)
        lines.append("| " + " | ".join(cells) + " |")
    (probe,) = [row for row in rows if row["device"] == "cpu"]
    cells = ["CPU: linear probe"] + [f"{100 * probe['test_top1'][n]:.2f}" for n in widths]
    cells.append(f"{_money(probe['dollars_per_1000_images'])} per 1,000 images: {probe['qpu']}")
    lines.append("| " + " | ".join(cells + [""] * (len(qpus) - 1)) + " |")
    return "\n".join(lines) + "\n"


def sources() -> str:
    """Each price's source, date and note, and the CPU's."""
    lines = ["Sources (read on the date given; `hqnn_lightning/hardware/prices.py`):", ""]
    for price in PRICES:
        time_source = f"; time: {price.time_source}" if price.time_source else ""
        lines.append(
            f"- {price.provider}, {price.name}: {price.source}, read {price.read_on} "
            f"({price.note}{time_source})"
        )
    lines.append(
        f"- CPU: {CPU_PRICE['what']}, ${CPU_PRICE['dollars_per_hour']}/h: {CPU_PRICE['source']}"
    )
    return "\n".join(lines) + "\n"


def plot(rows: list[dict], widths: list[int], path: Path) -> None:
    """Test top-1 % against $ per 1,000 images (log x): a line per priced QPU and width
    (solid: the first width, dashed: the next), the probe a black point."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 5))
    axes = figure.subplots()
    styles = ["-", "--", ":", "-."]
    colors = {}
    for row in rows:
        if row["device"] != "cpu" and row["dollars_per_1000_images"] is not None:
            colors.setdefault(row["qpu"], f"C{len(colors)}")
    for qpu, color in colors.items():
        line = [r for r in rows if r["qpu"] == qpu]
        for n, style in zip(widths, styles, strict=False):
            axes.plot(
                [r["dollars_per_1000_images"] for r in line],
                [100 * r["test_top1"][n] for r in line],
                style,
                marker="o",
                markersize=3,
                color=color,
                label=f"{qpu}, {n} qubits",
            )
    (probe,) = [r for r in rows if r["device"] == "cpu"]
    axes.plot(
        probe["dollars_per_1000_images"],
        100 * probe["test_top1"][widths[0]],
        "ks",
        label="linear probe on one vCPU (head only)",
    )
    axes.set_xscale("log")
    axes.set_xlabel("US dollars per 1,000 test images (log scale; S = 16 ... 8,192 along a line)")
    axes.set_ylabel("test top-1 %")
    axes.set_title("196-class test set: accuracy against the cost of one evaluation")
    axes.legend(fontsize=7, loc="center right")
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("shots_dir", type=Path, help="holds shots.csv and controls.csv")
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--images", type=int, default=2049, help="test images (2,049)")
    parser.add_argument("--circuits-per-image", type=int, default=1)
    parser.add_argument("--features", type=int, default=1280, help="the probe's input width")
    parser.add_argument("--classes", type=int, default=196)
    parser.add_argument("--timing-repeats", type=int, default=200)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> list[dict]:
    args = parse(argv)
    for name in ("shots.csv", "controls.csv"):
        if not (args.shots_dir / name).is_file():
            sys.exit(f"error: {args.shots_dir / name} not found; give the shots curve's output")
    accuracy = read_accuracy(args.shots_dir / "shots.csv", args.shots_dir / "controls.csv")
    widths = list(accuracy.by_shots)
    rows = qpu_rows(accuracy, args.images, args.circuits_per_image)
    seconds = probe_seconds_per_1000(args.features, args.classes, args.timing_repeats)
    rows.append(probe_row(seconds, accuracy, widths))
    args.output.mkdir(parents=True, exist_ok=True)
    command = "python experiments/cost_figure.py " + " ".join(
        sys.argv[1:] if argv is None else argv
    )
    (args.output / "command.txt").write_text(command + "\n")
    write_csv(rows, widths, args.output / "cost.csv")
    (args.output / "report.md").write_text(table(rows, widths, args.images) + "\n" + sources())
    plot(rows, widths, args.output / "cost.png")
    print(table(rows, widths, args.images))
    return rows


if __name__ == "__main__":
    main()
