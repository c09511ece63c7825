"""How long ``experiments/run.py --help`` and a refused command take to answer (and
``tune.py``'s and ``report.py``'s), against ``python -c "import torch"`` measured in the same
rounds (issue: at most 1.5x).

    python benchmarks/cli_startup.py [--rounds 5]

Each round runs every command once, in turn, as a fresh process; the figures are medians of
wall-clock seconds. A refusal must end with exit status 2 and one ``error:`` line, else the
benchmark stops.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUN = [sys.executable, "experiments/run.py"]
TUNE = [sys.executable, "experiments/tune.py"]
REPORT = [sys.executable, "experiments/report.py"]
NO_DATASET = ["--data", "stanford_cars", "--data-dir", "benchmarks/no_such_dataset"]
COMMANDS = {
    'python -c "import torch"': ([sys.executable, "-c", "import torch"], 0),
    "run.py --help": ([*RUN, "--help"], 0),
    "run.py --help-all": ([*RUN, "--help-all"], 0),
    "run.py --model classical --n-qubits 4": ([*RUN, "--model", "classical", "--n-qubits", "4"], 2),
    "run.py --n-qubits four": ([*RUN, "--n-qubits", "four"], 2),
    "run.py --modle hybrid": ([*RUN, "--modle", "hybrid"], 2),
    "run.py --shots 100": ([*RUN, "--shots", "100"], 2),
    "run.py --data stanford_cars --data-dir DIR": (
        [*RUN, *NO_DATASET],
        2,
    ),
    "run.py --q-device braket.aws.qubit": ([*RUN, "--q-device", "braket.aws.qubit"], 2),
    "run.py --q-device braket.aws.qubit --shots 100": (
        [*RUN, "--q-device", "braket.aws.qubit", "--shots", "100"],
        2,
    ),
    "run.py --resume RUN": ([*RUN, "--resume", "benchmarks/no_such_run"], 2),
    "run.py --config CONFIG --max-epochs 0": (
        [*RUN, "--config", "experiments/configs/digits_hybrid.yaml", "--max-epochs", "0"],
        2,
    ),
    "tune.py --help": ([*TUNE, "--help"], 0),
    "tune.py --space lr=1e-3:1e-1 -- --data-dir DIR": (
        [*TUNE, "--space", "lr=1e-3:1e-1", "--", *NO_DATASET],
        2,
    ),
    "report.py --help": ([*REPORT, "--help"], 0),
    "report.py RUNS": ([*REPORT, "benchmarks/no_such_runs"], 2),
}
REFERENCE = 'python -c "import torch"'


def timed(argv: list[str], status: int) -> float:
    """Seconds ``argv`` takes; checks its exit status (and its one error line)."""
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    if done.returncode != status or (status == 2 and done.stderr.strip() != "\n".join(errors)):
        raise SystemExit(f"{argv}: exit {done.returncode}, stderr:\n{done.stderr}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(rounds):
        for name, (argv, status) in COMMANDS.items():
            times[name].append(timed(argv, status))
    reference = statistics.median(times[REFERENCE])
    print(f"median of {rounds} rounds, seconds; ratio to {REFERENCE}")
    for name, seconds in times.items():
        median = statistics.median(seconds)
        print(f"{name:50s} {median:6.2f} s  {median / reference:5.2f}x")


if __name__ == "__main__":
    main()
