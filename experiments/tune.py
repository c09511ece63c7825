"""Tune, then train: the same hyperparameter search for every model of a comparison.

    python experiments/tune.py --trials 8 --space lr=1e-4:3e-2:log weight_decay=1e-6:1e-1:log \\
        --search-seed 0 -- --model hybrid --output-dir OUT --seeds [0,1,2,3,4]

Everything after ``--`` is options of ``experiments/run.py``. The search
(`hqnn_lightning.run.tuning.tune`) runs ``--trials`` runs of them, one seed (the search
seed), each with the next candidate values and without the test set (``--test false``), into
``OUT/tuning/MODEL-HASH/trials/``, chooses the values with the best validation top-1 and
records everything in ``OUT/tuning/MODEL-HASH/tuning.json``; then the final runs, the only
ones tested, train with the chosen values for the run options' ``--seeds`` (or ``--seed``)
into ``OUT``, as ``experiments/run.py`` would, and their ``config.yaml`` records the values.
The study is kept in Optuna storage, ``OUT/tuning/MODEL-HASH/optuna.journal`` unless
``--storage`` names an RDB URL or another journal file. A finished search, and the final runs
that finished, are reused when the same command is run again; a stopped search (``kill -9``,
SIGTERM, Ctrl-C, a full disk) is continued: its finished trials are not run again and the
trial it left running is marked failed and run again, resuming its run. Several commands of
the same search, on one machine or many (an array job), share it: together they run
``--trials`` trials, each point once, the points one command would run, and each final seed
is trained by one of them.

``--models classical hybrid "hybrid --n-qubits 8" -- OPTIONS`` runs one such search per
model, each with ``OPTIONS`` and then its own, in one process: the library is imported
once for all of them. Processes started with the same list share its searches out
(`hqnn_lightning.run.search_queue`): each starts with the first search no other process
works on.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from jsonargparse import ArgumentParser

from hqnn_lightning.experiment.command_line import OneLineParser
from hqnn_lightning.run.checks import unwritable_directory
from hqnn_lightning.run.cli import first_problem
from hqnn_lightning.run.options import build_parser
from hqnn_lightning.run.search_queue import model_argvs, next_search
from hqnn_lightning.run.search_space import (
    PRUNERS,
    SearchParameter,
    option_arguments,
    parse_space,
)


def main(argv: list[str] | None = None) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Parses ``argv``, then tunes and trains the final runs of each search (one, or one per
    ``--models`` entry, `search_queue`); returns, in the order given, each search's record
    (`tune`) and its final runs' results, in seed order."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    split = argv.index("--") if "--" in argv else len(argv)
    args = parser.parse_args(argv[:split])
    run_argv = argv[split + 1 :]
    if not run_argv and not args.models:
        parser.error("give the options of experiments/run.py after --, e.g. -- --model hybrid")
    if args.trials < 1:
        parser.error(f"--trials {args.trials}: give at least 1")
    try:
        space = parse_space(args.space)
        searches = model_argvs(args.models, run_argv) if args.models else [run_argv]
    except ValueError as error:
        parser.error(str(error))
    tuning_dirs = [_tuning_dir(parser, args, space, search) for search in searches]
    done: dict[int, tuple[dict[str, Any], list[dict[str, Any]]]] = {}
    left = list(range(len(searches)))
    while left:
        with next_search([tuning_dirs[i] for i in left]) as position:
            index = left.pop(position)
            done[index] = _search(parser, args, space, searches[index], tuning_dirs[index])
    return [done[index] for index in range(len(searches))]


def _tuning_dir(
    parser: ArgumentParser, args: Any, space: list[SearchParameter], run_argv: list[str]
) -> Path:
    """The directory of the search of ``run_argv``, checked to be writable; refuses (exit 2)
    ``--test false`` and, before any trial, what the runner would refuse of every trial
    (`cli.first_problem`: a missing dataset, a device request, ...)."""
    config = build_parser(run_argv).parse_args(run_argv)
    if not config.test:
        parser.error(
            "--test false: the final runs of a search are its tested results (its trials "
            "already skip the test set); leave --test out"
        )
    problem = first_problem(config)
    if problem:
        parser.error(problem)
    from hqnn_lightning.run.tuning import tuning_name  # the library, now that it is needed

    name = tuning_name(run_argv, space, args.trials, args.search_seed, args.pruner)
    tuning_dir = Path(config.output_dir) / "tuning" / name
    problem = unwritable_directory(tuning_dir)
    if problem:
        parser.error(f"--output-dir {config.output_dir}: {problem}")
    return tuning_dir


def _search(
    parser: ArgumentParser,
    args: Any,
    space: list[SearchParameter],
    run_argv: list[str],
    tuning_dir: Path,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Tunes ``run_argv`` into ``tuning_dir`` and trains its final runs with the chosen
    values; returns the search's record and the final runs' results."""
    from hqnn_lightning.run.final_runs import train_final_runs
    from hqnn_lightning.run.tuning import SearchRecordError, tune

    try:
        record = tune(
            run_argv, space, args.trials, tuning_dir, args.search_seed, args.storage, args.pruner
        )
    except (FileExistsError, SearchRecordError, ValueError) as error:
        parser.error(str(error))
    best = record["best"]
    if best is None:
        parser.error(
            f"every trial of the search in {tuning_dir} was pruned, so none is chosen; search "
            "with more --trials or another --pruner"
        )
    chosen = " ".join(option_arguments(best["params"]))
    print(
        f"Chosen ({tuning_dir}): {chosen}, validation top-1 {100 * best['value']:.2f}% "
        f"(trial{best['number']} of {record['n_trials']} trials)"
    )
    return record, train_final_runs([*run_argv, *option_arguments(best["params"])], tuning_dir)


def _parser() -> OneLineParser:
    """The options of ``experiments/tune.py`` itself (before ``--``)."""
    parser = OneLineParser(prog="experiments/tune.py", description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=8, help="runs in the search")
    parser.add_argument(
        "--models",
        type=str,
        nargs="+",
        default=[],
        help='several searches in this process, one per entry "MODEL [OPTIONS]" (e.g. '
        'classical "hybrid --n-qubits 8"), each with the options after -- and then its own; '
        "processes given the same list share it out",
    )
    parser.add_argument(
        "--space",
        type=str,
        nargs="+",
        required=True,
        help="options searched, NAME=LOW:HIGH[:log][:int], e.g. lr=1e-4:3e-2:log",
    )
    parser.add_argument(
        "--search-seed",
        type=int,
        default=0,
        help="seed of the sampler and of the trials' runs; the same for every model compared",
    )
    parser.add_argument(
        "--storage",
        type=str,
        default=None,
        help="where the Optuna study is kept: an RDB URL (sqlite:///search.db, "
        "postgresql://...) or a journal file on a filesystem every worker shares; default: "
        "optuna.journal in the search's directory",
    )
    parser.add_argument(
        "--pruner",
        type=str,
        choices=list(PRUNERS),
        default="none",
        help="stop the trials whose validation top-1 falls behind, after any epoch (the "
        "budgets are then no longer equal)",
    )
    return parser


if __name__ == "__main__":
    main()
