"""Summarise run directories: a Markdown table (mean +- std over seeds) and the study's curves.

    python experiments/report.py runs/ [more run dirs or folders] --output reports/NAME

Writes ``report.md`` (the table, a sentence per quantum model and control saying whether their
difference in test top-1 is detectable, the plots and the command that made them) and
``val_accuracy.png``, ``val_loss.png``, ``train_loss.png``, and, for runs the trainability
monitor followed, ``grad_norm.png`` and ``output_spread.png`` into ``--output``, from the saved
files alone (``config.yaml``, ``results.json``, ``csv/metrics.csv``); prints the table.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from jsonargparse import ArgumentParser

from hqnn_lightning.models import MODELS
from hqnn_lightning.report import (
    control_sentences,
    find_runs,
    group_runs,
    plot_curves,
    plot_trainability,
    summary_table,
)


def main(argv: list[str] | None = None) -> Path:
    """Parses ``argv``, writes the report, and returns the path of ``report.md``."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = ArgumentParser(prog="experiments/report.py", description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=str, nargs="+", help="run directories or folders")
    parser.add_argument("--output", type=str, default="report", help="where to write the report")
    parser.add_argument(
        "--baseline",
        type=str | None,
        default=None,
        help="group (label or model) to compare test top-1 with (default: classical)",
    )
    parser.add_argument(
        "--control",
        type=dict[str, tuple[str, ...]],
        default=MODELS.controls(),
        help="quantum model -> its control models (default: as registered)",
    )
    args = parser.parse_args(argv)
    try:
        groups = group_runs(find_runs(args.runs))
        table = summary_table(groups, args.baseline, args.control)
        sentences = "\n".join(f"- {line}" for line in control_sentences(groups, args.control))
    except (FileNotFoundError, ValueError) as error:
        parser.error(str(error))
    output = Path(args.output)
    plots = plot_curves(groups, output) + plot_trainability(groups, output)
    command = shlex.join(["python", "experiments/report.py", *argv])
    figures = "\n".join(f"![{path.stem}]({path.name})" for path in plots)
    report = output / "report.md"
    report.write_text(f"Made by `{command}`.\n\n{table}\n\n{sentences}\n\n{figures}\n")
    print(table)
    print(sentences)
    print(f"Report: {report}")
    return report


if __name__ == "__main__":
    main()
