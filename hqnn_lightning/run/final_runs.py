"""The final runs of ``experiments/tune.py``: the chosen values trained once per seed, where a
seed that an earlier command of the same search already finished (a command stopped during
the final runs, or run again) is reused rather than trained twice, so that the report never
meets the same run twice.

Every worker of a search trains the final runs once the search is done; each seed is claimed
by the lock of its file in the search's directory (``.final-seedS.lock``), held while the seed
trains. A worker claims one seed at a time, the first free one, so workers that end the search
together share its seeds; then it waits for the seeds the others still train and reuses their
runs, so each seed trains once however many workers there are."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from hqnn_lightning.experiment.options import renamed
from hqnn_lightning.report import group_runs, load_run, summary_table
from hqnn_lightning.report.runs import experiment_key
from hqnn_lightning.run.cli import main as run_main
from hqnn_lightning.run.lock import try_lock, waiting_lock
from hqnn_lightning.run.options import build_parser
from hqnn_lightning.run.resumption import CONFIG_FILE
from hqnn_lightning.run.tuning import config_dict

RESULTS_FILE = "results.json"


def train_final_runs(argv: Sequence[str], claims: Path | None = None) -> list[dict[str, Any]]:
    """Trains ``argv`` (the runner's options with the chosen values) for each of its seeds
    that no run in its ``--output-dir`` finished with the same options (`earlier_runs`),
    saying in one line which earlier runs it reused and which unfinished ones it left.

    Args:
        argv: The runner's options.
        claims: The directory of the seeds' lock files (the search's); ``None``: this process
            alone trains the final runs.

    Returns:
        The results of each seed's run, in seed order: read from ``results.json`` for a
        reused run, else as the runner returns them.
    """
    config = build_parser().parse_args(list(argv))
    seeds = list(config.seeds or [config.seed])
    if claims is None:
        results = _train_seeds(argv, config, seeds)
        return [results[seed] for seed in seeds]
    results = _train_seeds(argv, config, seeds, train=False)
    for seed in seeds:
        if seed not in results:
            claim = try_lock(_claim_path(claims, seed))
            if claim is not None:
                with claim:
                    results.update(_train_seeds(argv, config, [seed], quiet=True))
    waited = [seed for seed in seeds if seed not in results]
    if waited:
        print(f"Waiting for another worker of this search to train seed(s) {waited}")
    for seed in waited:
        with waiting_lock(_claim_path(claims, seed)):
            results.update(_train_seeds(argv, config, [seed], quiet=True))
    if len(seeds) > 1 and len(results) == len(seeds):
        print(summary_table(group_runs([load_run(results[seed]["run_dir"]) for seed in seeds])))
    return [results[seed] for seed in seeds]


def _claim_path(claims: Path, seed: int) -> Path:
    return claims / f".final-seed{seed}.lock"


def _train_seeds(
    argv: Sequence[str], config: Any, seeds: Sequence[int], train: bool = True, quiet: bool = False
) -> dict[int, dict[str, Any]]:
    """The results of ``seeds``: reused from the runs that finished, else (with ``train``)
    trained. Says which it reuses, which unfinished runs it leaves, and what it trains, unless
    ``quiet``."""
    if not seeds:
        return {}
    done, unfinished = earlier_runs(config.output_dir, config_dict(config), seeds)
    results = {seed: json.loads((run / RESULTS_FILE).read_text()) for seed, run in done.items()}
    left = [seed for seed in seeds if seed not in done]
    if (done or unfinished) and not quiet:
        print(_earlier_runs_line(seeds, done, unfinished, left))
    if left and train:
        again = ["--seeds", json.dumps(left)] if config.seeds else []
        for result in run_main([*argv, *again]):
            results[result["seed"]] = result
    return results


def earlier_runs(
    output_dir: str | Path, config: dict[str, Any], seeds: Sequence[int]
) -> tuple[dict[int, Path], list[Path]]:
    """The run directories in ``output_dir`` whose ``config.yaml`` has ``config``'s experiment
    (`experiment_key`) and one of ``seeds``: for each seed, the first (by name) that holds
    ``results.json``; and those that do not (a run stopped before its end)."""
    key, finished, unfinished = experiment_key(config), {}, []
    for run_dir in sorted(Path(output_dir).glob(f"{config['model']}-*")):
        saved = _saved_options(run_dir)
        seed = saved.get("seed")
        if seed not in seeds or experiment_key(saved) != key:
            continue
        if not (run_dir / RESULTS_FILE).is_file():
            unfinished.append(run_dir)
        elif seed not in finished:
            finished[seed] = run_dir
    return finished, unfinished


def _earlier_runs_line(
    seeds: Sequence[int], done: dict[int, Path], unfinished: Sequence[Path], left: Sequence[int]
) -> str:
    parts = []
    if done:
        reused = ", ".join(f"seed {seed}: {done[seed]}" for seed in seeds if seed in done)
        parts.append(f"Reusing the finished final run(s) of this search ({reused})")
    if unfinished:
        parts.append(
            "leaving the unfinished final run(s) as they are, which the report does not count "
            f"({', '.join(map(str, unfinished))})"
        )
    parts.append(f"training seed(s) {list(left)}" if left else "nothing left to train")
    line = "; ".join(parts)
    return line[0].upper() + line[1:]


def _saved_options(run_dir: Path) -> dict[str, Any]:
    """``run_dir``'s ``config.yaml`` (old option names renamed), ``{}`` when it cannot be
    read."""
    try:
        saved = yaml.safe_load((run_dir / CONFIG_FILE).read_text())
    except (OSError, yaml.YAMLError):
        return {}
    return renamed(saved) if isinstance(saved, dict) else {}
