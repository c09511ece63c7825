"""Test top-1 against the number of qubits: the figure and table of the width study.

    python experiments/width_figure.py runs/study196 --output docs/results/width

Reads every final run under the paths (`hqnn_lightning.report.find_runs`; a search's trials
are not counted) and keeps the one-head bottleneck models of the width study
(`WIDTH_MODELS`), without a residual path, re-uploading or a hidden projection, each with
the library's circuit (`experiments/study196.sh`, ``PART=width``). Each model and read-out
is one line: its mean test top-1 over seeds against ``n_qubits``, the 95% t-interval over
seeds as a band, and the linear probe (``classical``) as a horizontal line with its band.
Writes ``width.png`` and ``width.md``: the table, then for each width and read-out the
hybrid minus each other model, paired by seed (`seed_difference`), with the sentence the
report would give.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from hqnn_lightning.models import MODELS
from hqnn_lightning.report import find_runs
from hqnn_lightning.report.retest import PROBE, mean_interval, plain_head
from hqnn_lightning.report.statistics import seed_difference
from hqnn_lightning.run.signatures import argument_default

WIDTH_MODELS = (
    "hybrid",
    "hybrid_separable",
    "hybrid_control",
    "hybrid_control_matched",
    "hybrid_fourier",
)
Key = tuple[str, str, int]
"""(model, read-out, n_qubits)."""


def collect(paths: list[str]) -> tuple[dict[Key, dict[int, float]], dict[int, float]]:
    """Test top-1 in percent by seed: of each (model, read-out, n_qubits) of the width study,
    and of the linear probe."""
    lines: dict[Key, dict[int, float]] = defaultdict(dict)
    probe: dict[int, float] = {}
    for run in find_runs(paths):
        config, value = run.config, run.results.get("test/acc_top1")
        if value is None:
            continue
        if config["model"] == PROBE and not config.get("train_last_stages"):
            probe[run.seed] = 100 * float(value)
        elif config["model"] in WIDTH_MODELS and plain_head(config):
            key = (config["model"], _option(config, "readout"), int(_option(config, "n_qubits")))
            lines[key][run.seed] = 100 * float(value)
    return dict(lines), probe


def _option(config: dict, name: str) -> Any:
    """The run's ``name``: its own, else its registered model's default (``config.yaml``
    holds the options given)."""
    value = config.get(name)
    return argument_default(MODELS, config["model"], name) if value is None else value


def plot(lines: dict[Key, dict[int, float]], probe: dict[int, float], path: Path) -> Path:
    """Draws ``path``: one panel per read-out, one line per model with its band (a colour a
    model in every panel), and the probe's line."""
    from matplotlib.figure import Figure

    readouts = sorted({readout for _, readout, _ in lines}, key=["z", "zz", "probs"].index)
    figure = Figure(figsize=(4 * len(readouts) + 1, 4.5), constrained_layout=True)
    panels = figure.subplots(1, len(readouts), sharey=True, squeeze=False)[0]
    colours = {model: f"C{index}" for index, model in enumerate(WIDTH_MODELS)}
    for axes, readout in zip(panels, readouts, strict=True):
        for model in WIDTH_MODELS:
            widths = sorted(n for m, r, n in lines if (m, r) == (model, readout))
            if not widths:
                continue
            intervals = [mean_interval(list(lines[model, readout, n].values())) for n in widths]
            means = np.array([mean for mean, _ in intervals])
            halves = np.array([half for _, half in intervals])
            axes.plot(widths, means, marker="o", color=colours[model], label=model)
            axes.fill_between(
                widths, means - halves, means + halves, color=colours[model], alpha=0.15
            )
        if probe:
            mean, half = mean_interval(list(probe.values()))
            axes.axhline(mean, color="black", linewidth=1, label=f"{PROBE} (linear probe)")
            axes.axhspan(mean - half, mean + half, color="black", alpha=0.1)
        axes.set_title(f"read-out {readout}")
        axes.set_xlabel("qubits")
        axes.set_xticks(sorted({n for _, r, n in lines if r == readout}))
        axes.set_yscale("log")
    panels[0].set_ylabel("test top-1 % (mean over seeds, 95% band)")
    panels[-1].legend(fontsize=7, loc="lower right")
    figure.savefig(path, dpi=120)
    return path


def table(lines: dict[Key, dict[int, float]], probe: dict[int, float]) -> str:
    """The markdown table (mean ± std, seeds) and the hybrid's paired differences."""
    rows = ["| model | read-out | qubits | seeds | test top-1 % |", "|---|---|---|---|---|"]
    for model, readout, n in sorted(lines, key=lambda key: (key[2], key[1], key[0])):
        rows.append(f"| {model} | {readout} | {n} | {_cells(lines[model, readout, n])} |")
    if probe:
        rows.append(f"| {PROBE} | - | - | {_cells(probe)} |")
    sentences = []
    for model, readout, n in sorted(lines, key=lambda key: (key[2], key[1], key[0])):
        if model == "hybrid" or ("hybrid", readout, n) not in lines:
            continue
        difference = seed_difference(lines["hybrid", readout, n], lines[model, readout, n])
        if difference is not None:
            ours = f"hybrid ({n} qubits, {readout})"
            sentences.append(f"- {difference.sentence(ours, model)}")
    return "\n".join([*rows, "", *sentences, ""])


def _cells(values: dict[int, float]) -> str:
    """``seeds | mean ± std`` of test top-1 values by seed."""
    array = np.array(list(values.values()), dtype=float)
    spread = f" ± {array.std(ddof=1):.2f}" if len(array) > 1 else ""
    return f"{len(array)} | {array.mean():.2f}{spread}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", help="run directories, or folders holding them")
    parser.add_argument("--output", required=True, help="folder for width.png and width.md")
    args = parser.parse_args(argv)
    try:
        lines, probe = collect(args.paths)
    except FileNotFoundError as error:
        parser.error(str(error))
    if not lines:
        parser.error(f"no run of {', '.join(WIDTH_MODELS)} under {', '.join(args.paths)}")
    output = Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    command = f"python experiments/width_figure.py {' '.join(args.paths)} --output {args.output}"
    (output / "width.md").write_text(f"Made by `{command}`.\n\n{table(lines, probe)}")
    print(f"Figure: {plot(lines, probe, output / 'width.png')}")
    print(f"Table: {output / 'width.md'}")


if __name__ == "__main__":
    main()
