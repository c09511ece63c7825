"""One run per seed (``--seeds [0,1,2]``), each printed, then the mean +- std table; a
SIGTERM ends them with exit code 143, saying which seeds did not finish and how to continue."""

from __future__ import annotations

import signal
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import lightning as L
from jsonargparse import Namespace
from lightning.pytorch.utilities.exceptions import SIGTERMException

from hqnn_lightning.report import group_runs, load_run, summary_table
from hqnn_lightning.run.build import BUILD_ERRORS, build
from hqnn_lightning.run.callbacks import NonFiniteLossError
from hqnn_lightning.run.distributed import is_global_zero
from hqnn_lightning.run.loggers import logger_package_problem
from hqnn_lightning.run.resume import check_resumption
from hqnn_lightning.run.resumption import LAST, LAST_CHECKPOINT, Resumption, find_resumption
from hqnn_lightning.run.training import train

SIGTERM_EXIT_CODE = 128 + signal.SIGTERM
"""143: the status a shell gives a process that SIGTERM ended, which schedulers (SLURM,
Kubernetes) and job arrays read as "stopped, not done"."""


class StandardisedPixelsWarning(UserWarning):
    """A model whose fixed filter expects pixels in ``[0, 1]`` gets standardised images."""


def run_seeds(
    config: Namespace,
    resumption: Resumption | None,
    usage_error: Callable[[str], NoReturn],
) -> list[dict[str, Any]]:
    """Builds and trains ``config`` once per seed of ``config.seeds`` (or once, with
    ``config.seed``), printing each run's results and, for several seeds, the summary.

    Args:
        config: The parsed options.
        resumption: The run to continue, for ``--resume``.
        usage_error: Called with the message when an option does not fit, or the package of
            ``--logger`` is not installed (``parser.error``).

    Returns:
        The results of each run, in seed order.

    Raises:
        SystemExit: with status 1 when a run's training loss stops being finite; with
            `SIGTERM_EXIT_CODE` when the process receives SIGTERM (Lightning's signal handling
            ends the fit after the current batch, the checkpoints written so far are kept),
            after printing which seeds did not finish and how to continue them.
        OSError: a full disk or quota, which the command line turns into one line
            (`hqnn_lightning.run.disk_full`).
    """
    problem = logger_package_problem(config.logger)  # before any work: --logger tensorboard
    if problem:
        usage_error(problem)
    all_results = []
    seeds = config.seeds or [config.seed]
    for seed in seeds:
        seed_config = config.clone()
        seed_config.seed, seed_config.seeds = seed, None
        try:
            datamodule, model = build(seed_config)
            if resumption:
                check_resumption(resumption, datamodule, model)
        except BUILD_ERRORS as error:
            usage_error(str(error.args[0]) if isinstance(error, KeyError) else str(error))
        if seed == seeds[0] and resumption is None and is_global_zero():
            # Once a command, by one process; a resumed run keeps its options.
            warn_standardised_pixels(config, model, datamodule)
        several = bool(config.seeds)
        results = _train_or_exit(seed_config, datamodule, model, resumption, seeds, several)
        if is_global_zero():
            print(format_results(results))
            if "trainability" in results:
                print(f"Trainability: {results['trainability']['verdict']}")
            print(f"Run directory: {results['run_dir']}")
        all_results.append(results)
    if len(all_results) > 1:
        runs = [load_run(results["run_dir"]) for results in all_results]
        print(summary_table(group_runs(runs)))
    return all_results


def warn_standardised_pixels(
    config: Namespace, model: L.LightningModule, datamodule: L.LightningDataModule
) -> None:
    """Warns (`StandardisedPixelsWarning`) when ``model``'s filter expects pixels in
    ``[0, 1]`` (its ``unit_pixels_reason``: quanv, its controls) and ``datamodule``
    standardises its images (``--normalize true``, the default of every dataset), naming
    ``--normalize false``."""
    reason = getattr(model, "unit_pixels_reason", None)
    images = getattr(datamodule, "datamodule", datamodule)  # under a feature cache
    if reason and getattr(images, "normalize", False):
        warnings.warn(
            f"--model {config.model}: {reason}, but --normalize true standardises the images "
            f"of --data {config.data}; pass --normalize false, as the quanv configs in "
            "experiments/configs do (docs/models.md)",
            StandardisedPixelsWarning,
            stacklevel=2,
        )


def _train_or_exit(
    config: Namespace,
    datamodule: L.LightningDataModule,
    model: L.LightningModule,
    resumption: Resumption | None,
    seeds: Sequence[int],
    several: bool,
) -> dict[str, Any]:
    """Trains one seed's run (`train`) and returns its results, or ends the command as
    `run_seeds` documents: status 1 for a non-finite loss, `SIGTERM_EXIT_CODE` for SIGTERM,
    each with its message on stderr.

    Args:
        config: The options of this seed's run (``config.seed`` set).
        datamodule: Its DataModule, set up.
        model: Its model.
        resumption: The run to continue, for ``--resume``.
        seeds: All the seeds of the command, in the order they run.
        several: The seeds came from ``--seeds`` (else from ``--seed``).
    """
    started_ns = time.time_ns()
    try:
        return train(config, datamodule, model, resumption)
    except NonFiniteLossError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(1) from None
    except SIGTERMException:
        if is_global_zero():
            run_dir = _stopped_run(config, resumption, started_ns)
            message = stopped_by_sigterm(seeds, config.seed, run_dir, several=several)
            print(f"error: {message}", file=sys.stderr)
        raise SystemExit(SIGTERM_EXIT_CODE) from None


def stopped_by_sigterm(
    seeds: Sequence[int], stopped: int, run_dir: Path | None, several: bool
) -> str:
    """The sentence that says which of ``seeds`` a SIGTERM left unfinished and how to go on.

    Args:
        seeds: The seeds of the command, in the order they run.
        stopped: The seed whose run the signal stopped.
        run_dir: That run's directory, ``None`` when it had written no checkpoint.
        several: The seeds came from ``--seeds`` (else from ``--seed``).
    """
    position = list(seeds).index(stopped)
    done, later = list(seeds[:position]), list(seeds[position + 1 :])
    what = f"seed {stopped} of --seeds {list(seeds)}" if several else f"the run of seed {stopped}"
    status = [f"{_seed_words(done)} finished"] * bool(done)
    status += [f"{_seed_words(later)} did not start"] * bool(later)
    stop = f"SIGTERM stopped {what}" + (f" ({'; '.join(status)})" if status else "")
    if run_dir is None:
        again = f"with --seeds {[stopped, *later]}" if several else "again"
        return f"{stop} before its first checkpoint; to continue, run the same command {again}"
    in_place = " in place of --seeds" if several else ""
    rest = f", then with --seeds {later}" if later else ""
    return (
        f"{stop}; its last checkpoint is kept in {run_dir / LAST_CHECKPOINT}. To continue, run "
        f"the same command with --resume {run_dir}{in_place}{rest}"
    )


def _seed_words(seeds: Sequence[int]) -> str:
    """``seed 0`` or ``seeds 0, 2``."""
    return ("seed " if len(seeds) == 1 else "seeds ") + ", ".join(map(str, seeds))


def _stopped_run(config: Namespace, resumption: Resumption | None, since_ns: int) -> Path | None:
    """The directory of the run of ``config`` that a SIGTERM stopped, if it holds a
    ``last.ckpt`` to resume: the resumed run's, or the newest run of its model, data and
    seed when its ``last.ckpt`` was written since ``since_ns``."""
    if resumption is not None:
        return resumption.run_dir
    prefix = f"{config.model}-{config.data}-seed{config.seed}-"
    try:
        found = find_resumption(LAST, config.output_dir, prefix)
    except FileNotFoundError:
        return None
    return found.run_dir if found.checkpoint.stat().st_mtime_ns >= since_ns else None


def format_results(results: dict[str, Any]) -> str:
    """A Markdown table of one run's results (accuracies in percent)."""

    def percent(key: str) -> str:
        value = results.get(key)
        return "-" if value is None else f"{100 * value:.2f}"

    seconds = results["seconds_per_epoch"]
    header = (
        "| model | params classical | params quantum | epochs | val top-1 % | val top-5 % "
        "| test top-1 % | test top-5 % | s/epoch |"
    )
    row = (
        f"| {results['model']} | {results['params_classical']:,} | {results['params_quantum']:,} "
        f"| {results['epochs']} | {percent('val/acc_top1')} | {percent('val/acc_top5')} "
        f"| {percent('test/acc_top1')} | {percent('test/acc_top5')} "
        f"| {'-' if seconds is None else f'{seconds:.1f}'} |"
    )
    return "\n".join([header, "|" + "---|" * 9, row])
