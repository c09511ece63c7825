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
import warnings
from argparse import Namespace
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from jsonargparse import ArgumentParser

from hqnn_lightning.experiment.command_line import OneLineParser
from hqnn_lightning.report.runs import RunGroup, RunWarning, find_runs, group_runs
from hqnn_lightning.report.tuning import (
    TuningRecord,
    find_tunings,
    mark_tuned,
    trials_table,
    tuning_table,
)
from hqnn_lightning.run.disk_full import DISK_FULL, disk_full_message
from hqnn_lightning.run.option_table import option_table
from hqnn_lightning.utils.files import write_text_atomically

if TYPE_CHECKING:
    from hqnn_lightning.report.tables import Comparison


def main(argv: list[str] | None = None) -> Path:
    """Parses ``argv``, writes the report, and returns the path of ``report.md``.

    A run directory whose files cannot be read is skipped, and of several with one group's
    seed one is counted; each with a ``warning:`` line on stderr, listed in ``report.md``.
    Bad input ends with ``error:`` and status 2; a full disk with ``error: no space left on
    device writing PATH; ...`` and status 1, no file half-written.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    args = parser.parse_args(argv)
    output = Path(args.output)
    if output.exists() and not output.is_dir():
        parser.error(f"--output {output}: is a file, not a directory")
    groups, tunings, left_out = _read_runs(args, parser)
    from hqnn_lightning.report.tables import (  # scipy, for the work only
        control_comparisons,
        control_sentences,
        differences_table,
        reference_group,
        summary_table,
    )

    try:
        table = summary_table(groups, args.baseline, args.control)
        reference = reference_group(groups, args.baseline)
    except ValueError as error:
        parser.error(str(error))
    comparisons = control_comparisons(groups, args.control)
    sentences = "\n".join(f"- {line}" for line in control_sentences(comparisons))
    differences = f"## Differences\n\n{differences_table(comparisons)}" if comparisons else ""
    tuning = (
        f"## Tuning\n\nChosen on the validation split; trial runs are not counted above.\n\n"
        f"{tuning_table(tunings)}\n\n{trials_table(tunings)}"
        if tunings
        else ""
    )
    left_out_section = "\n".join(
        ["## Runs left out", "", *(f"- {message}" for message in left_out)] if left_out else []
    )
    try:
        plots = _plot(groups, comparisons, reference, output)
        figures = "\n".join(f"![{path.stem}]({path.name})" for path in plots)
        command = shlex.join(["python", "experiments/report.py", *argv])
        sections = [f"Made by `{command}`.", table, left_out_section, sentences, differences]
        text = "\n\n".join(section for section in [*sections, tuning, figures] if section)
        report = write_text_atomically(output / "report.md", text + "\n")
    except OSError as error:
        _write_failed(parser, output, error)
    print(table)
    print(sentences)
    print(differences)
    print(tuning)
    print(f"Report: {report}")
    return report


def _parser() -> OneLineParser:
    parser = OneLineParser(prog="experiments/report.py", description=__doc__.splitlines()[0])
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
        default=dict(option_table().models.controls),
        help="quantum model -> its control models (default: as registered)",
    )
    return parser


def _read_runs(
    args: Namespace, parser: ArgumentParser
) -> tuple[list[RunGroup], list[TuningRecord], list[str]]:
    """The runs of ``args.runs`` grouped over seeds, the searches, and the `RunWarning`s
    (runs skipped, duplicate seeds), each printed to stderr as ``warning: MESSAGE``."""
    failure = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RunWarning)
        try:
            runs, tunings = find_runs(args.runs), find_tunings(args.runs)
            mark_tuned(runs, tunings)
            groups = group_runs(runs)
        except (FileNotFoundError, ValueError) as error:
            failure = str(error)
    left_out = []
    for warning in caught:
        if issubclass(warning.category, RunWarning):
            left_out.append(str(warning.message))
            print(f"warning: {warning.message}", file=sys.stderr)
        else:
            warnings.showwarning(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    if failure is not None:
        parser.error(failure)
    return groups, tunings, left_out


def _plot(
    groups: list[RunGroup],
    comparisons: list[Comparison],
    reference: RunGroup | None,
    output: Path,
) -> list[Path]:
    """Saves the figures into ``output``; returns their paths."""
    from hqnn_lightning.report.figures import (  # matplotlib, for the work only
        plot_curves,
        plot_forest,
        plot_small_multiples,
        plot_trainability,
    )

    forest, _ = plot_forest(comparisons, output)
    plots = plot_curves(groups, output) + plot_trainability(groups, output)
    plots += [forest] if forest else []
    return plots + plot_small_multiples(comparisons, output, reference)


def _write_failed(parser: ArgumentParser, output: Path, error: OSError) -> NoReturn:
    """Ends the command for ``error`` raised writing into ``output``: status 1 with
    `disk_full_message` for a full disk or quota, else status 2 naming ``--output``."""
    if error.errno in DISK_FULL:
        print(f"error: {disk_full_message(error)}", file=sys.stderr)
        raise SystemExit(1) from None
    parser.error(f"--output {output}: cannot write {error.filename or output}: {error.strerror}")


if __name__ == "__main__":
    main()
