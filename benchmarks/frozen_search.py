"""One model's search and seeds of the frozen study, run by an earlier commit's code and by
this checkout's, on the same machine in one go.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/frozen_search.py [--before REF] [--rounds 3] \
        [--trials 6] [--seeds 5] [--epochs 40] [--model hybrid] [--threads 1]

The earlier code is ``--before``: a commit (its tree is extracted with ``git archive`` into a
temporary folder; default `BASELINE`, the commit issue 27 started from) or a checkout's path.
Each runs ``experiments/tune.py`` as ``experiments/study196.sh`` runs one model of its frozen
part (`FROZEN`: cached features of a frozen ImageNet EfficientNet-Lite0, batches of 512, the same
search space, ``--trials`` trials then ``--seeds`` final runs, ``--threads`` threads as two
tunings side by side get), on the built-in digits rather than Stanford Cars so that it needs
no data and no feature pass of minutes: the features of its 1,797 images are computed once,
by an untimed one-epoch run of each checkout, into a shared ``--cache-dir``.

Every round (``--rounds``, 3) runs the earlier code, then this checkout's, each into a fresh
output folder, and times each whole command (imports included: one process per model, as in
the study), in wall-clock seconds and in CPU seconds (user and system, which other processes
on a shared machine disturb less). Prints per round, and their median and fastest, each
checkout's seconds, the seconds per run (trials and final runs together) and this checkout's
over the earlier one's; then checks that both chose the same values with the same validation
top-1 and that every final run's ``metrics.csv`` is the same, its ``time/epoch_seconds``
column aside.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

BASELINE = "ca3edbab413e8aa869ec5eb3c456a762404dca27"
"""The commit issue 27 started from."""

FROZEN = [
    "--data", "digits", "--arch", "efficientnet_lite0", "--backbone-weights", "imagenet",
    "--image-size", "32", "--freeze-backbone", "true", "--precompute-features", "true",
    "--batch-size", "512", "--logger", "csv", "--progress-bar", "false",
]  # fmt: skip
"""The runner options of ``experiments/study196.sh``'s frozen part, on digits: the ImageNet
weights, so that checkpoints leave the frozen backbone out as the study's do, on images of 32
px rather than the backbone's 224, so that setting the digits up stays as cheap as the
study's cached images (at 224 px it would resize 1,797 images in every run)."""

SPACE = ["--space", "lr=1e-3:1e-1:log", "weight_decay=1e-5:1e-1:log", "--search-seed", "0"]
"""The study's search space and search seed."""


def earlier_tree(before: str, folder: Path) -> Path:
    """``before`` as a directory: a checkout's path as it is, else the tree of the commit
    ``before`` extracted under ``folder``."""
    if Path(before).is_dir():
        return Path(before).resolve()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", before], capture_output=True, check=False
    )
    if archive.returncode:
        sys.exit(f"error: --before {before}: {archive.stderr.decode().strip()}")
    tree = folder / "before"
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as files:
        files.extractall(tree, filter="data")
    return tree


def run(tree: Path, arguments: list[str], threads: int) -> tuple[float, float]:
    """Runs ``arguments`` with ``tree``'s code (its folder as working directory and on
    ``PYTHONPATH``); its wall-clock and CPU seconds. Its output is shown only when it
    fails."""
    environment = {
        **os.environ,
        "PYTHONPATH": str(tree),
        "OMP_NUM_THREADS": str(threads),
        "OMP_WAIT_POLICY": "PASSIVE",
    }
    start, cpu = time.perf_counter(), _children_cpu_seconds()
    done = subprocess.run(
        [sys.executable, *arguments], cwd=tree, env=environment, capture_output=True, text=True
    )
    seconds = time.perf_counter() - start, _children_cpu_seconds() - cpu
    if done.returncode:
        sys.exit(f"error: {' '.join(arguments[:1])} in {tree} failed:\n{done.stdout}{done.stderr}")
    return seconds


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def outcome(output: Path) -> tuple[list[tuple[str, float]], dict[int, list[dict[str, str]]]]:
    """What a search in ``output`` found: its trials' values and values, and each final
    run's ``metrics.csv`` rows (time columns aside), by seed."""
    (record_path,) = output.glob("tuning/*/tuning.json")
    record = json.loads(record_path.read_text())
    trials = [(json.dumps(trial["params"]), trial["value"]) for trial in record["trials"]]
    finals = {}
    for results_path in output.glob("*/results.json"):
        seed = json.loads(results_path.read_text())["seed"]
        with (results_path.parent / "csv" / "metrics.csv").open(newline="") as file:
            rows = [
                {key: value for key, value in row.items() if not key.startswith("time/")}
                for row in csv.DictReader(file)
            ]
        finals[seed] = rows
    return trials, finals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", default=BASELINE, help="commit or checkout of earlier code")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--trials", type=int, default=6)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--model", default="hybrid")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="frozen_search-") as folder:
        trees = {"before": earlier_tree(args.before, Path(folder)), "after": ROOT}
        cache = ["--cache-dir", str(Path(folder) / "cache")]
        common = ["--model", args.model, *FROZEN, *cache]
        for name, tree in trees.items():  # the features, once for each checkout's cache key
            warm = ["--max-epochs", "1", "--output-dir", str(Path(folder) / f"warm-{name}")]
            run(tree, ["experiments/run.py", *common, *warm], args.threads)
        seconds: dict[str, list[tuple[float, float]]] = {name: [] for name in trees}
        outcomes = {}
        for round_ in range(args.rounds):
            for name, tree in trees.items():
                output = Path(folder) / f"{name}-{round_}"
                options = ["--max-epochs", str(args.epochs), "--output-dir", str(output)]
                options += ["--seeds", json.dumps(list(range(args.seeds)))]
                tune = ["experiments/tune.py", "--trials", str(args.trials), *SPACE, "--"]
                seconds[name].append(run(tree, [*tune, *common, *options], args.threads))
                outcomes[name] = outcome(output)
        report(args, seconds, outcomes)


def report(
    args: argparse.Namespace,
    seconds: dict[str, list[tuple[float, float]]],
    outcomes: dict[str, tuple[list[tuple[str, float]], dict[int, list[dict[str, str]]]]],
) -> None:
    """Prints the table of seconds and ratios, and whether the results are the same."""
    runs = args.trials + args.seeds
    load_average = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"{args.model}, {args.trials} trials + {args.seeds} seeds x {args.epochs} epochs, "
        f"{args.threads} thread(s), before = {args.before}; load average {load_average}"
    )
    print(
        "| round | before, s (CPU s) | after, s (CPU s) | s/run, before -> after "
        "| after / before, wall (CPU) |\n|---|---|---|---|---|"
    )
    rows = list(enumerate(zip(seconds["before"], seconds["after"], strict=True)))
    if args.rounds > 1:
        for name, pick in (("median", statistics.median), ("fastest", min)):
            old = tuple(pick(pair[i] for pair in seconds["before"]) for i in (0, 1))
            new = tuple(pick(pair[i] for pair in seconds["after"]) for i in (0, 1))
            rows.append((name, (old, new)))
    for label, (old, new) in rows:
        print(
            f"| {label} | {old[0]:.1f} ({old[1]:.1f}) | {new[0]:.1f} ({new[1]:.1f}) "
            f"| {old[0] / runs:.2f} -> {new[0] / runs:.2f} "
            f"| {new[0] / old[0]:.2f} ({new[1] / old[1]:.2f}) |"
        )
    same_trials = outcomes["before"][0] == outcomes["after"][0]
    same_finals = outcomes["before"][1] == outcomes["after"][1]
    print(
        f"Trials' values and validation top-1: {'the same' if same_trials else 'DIFFERENT'}; "
        f"final runs' metrics.csv: {'the same' if same_finals else 'DIFFERENT'}"
    )
    if not (same_trials and same_finals):
        sys.exit(1)


if __name__ == "__main__":
    main()
