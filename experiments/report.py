"""Summarise run directories: a Markdown table (mean +- std over seeds) and the study's curves.

    python experiments/report.py runs/ [more run dirs or folders] --output reports/NAME

Writes ``report.md`` (the table, a sentence per quantum model and control saying whether their
difference in test top-1 is detectable, a table of those differences with the paired t and
Wilcoxon p-values and the bootstrap interval over test images, a "Tuning" section for every
hyperparameter search (``tuning.json``, ``experiments/tune.py``) under the paths, the plots and
the command that made them) and ``val_accuracy.png``, ``val_loss.png``, ``train_loss.png``,
``differences_forest.png``, ``test_accuracy_by_variant.png`` and, for runs the trainability
monitor followed, ``grad_norm.png`` and ``output_spread.png`` into ``--output``, from the saved
files alone (``config.yaml``, ``results.json``, ``csv/metrics.csv``, ``test_predictions.csv``);
prints the tables.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from jsonargparse import ArgumentParser

from hqnn_lightning.models import MODELS
from hqnn_lightning.report import (
    control_comparisons,
    control_sentences,
    differences_table,
    find_runs,
    find_tunings,
    group_runs,
    mark_tuned,
    plot_curves,
    plot_forest,
    plot_small_multiples,
    plot_trainability,
    reference_group,
    summary_table,
    trials_table,
    tuning_table,
)
from hqnn_lightning.utils.files import write_text_atomically


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
        runs, tunings = find_runs(args.runs), find_tunings(args.runs)
        mark_tuned(runs, tunings)
        groups = group_runs(runs)
        table = summary_table(groups, args.baseline, args.control)
        reference = reference_group(groups, args.baseline)
        comparisons = control_comparisons(groups, args.control)
    except (FileNotFoundError, ValueError) as error:
        parser.error(str(error))
    sentences = "\n".join(f"- {line}" for line in control_sentences(comparisons))
    differences = f"## Differences\n\n{differences_table(comparisons)}" if comparisons else ""
    tuning = (
        f"## Tuning\n\nChosen on the validation split; trial runs are not counted above.\n\n"
        f"{tuning_table(tunings)}\n\n{trials_table(tunings)}"
        if tunings
        else ""
    )
    output = Path(args.output)
    forest, _ = plot_forest(comparisons, output)
    plots = plot_curves(groups, output) + plot_trainability(groups, output)
    plots += [forest] if forest else []
    plots += plot_small_multiples(comparisons, output, reference)
    command = shlex.join(["python", "experiments/report.py", *argv])
    figures = "\n".join(f"![{path.stem}]({path.name})" for path in plots)
    sections = [f"Made by `{command}`.", table, sentences, differences, tuning, figures]
    report = write_text_atomically(
        output / "report.md", "\n\n".join(section for section in sections if section) + "\n"
    )
    print(table)
    print(sentences)
    print(differences)
    print(tuning)
    print(f"Report: {report}")
    return report


if __name__ == "__main__":
    main()
