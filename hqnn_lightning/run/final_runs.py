"""The final runs of ``experiments/tune.py``: the chosen values trained once per seed, where a
seed that an earlier command of the same search already finished (a command stopped during
the final runs, or run again) is reused rather than trained twice, so that the report never
meets the same run twice."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from hqnn_lightning.experiment.options import renamed
from hqnn_lightning.report.runs import experiment_key
from hqnn_lightning.run.cli import main as run_main
from hqnn_lightning.run.options import build_parser
from hqnn_lightning.run.resume import CONFIG_FILE
from hqnn_lightning.run.tuning import config_dict

RESULTS_FILE = "results.json"


def train_final_runs(argv: Sequence[str]) -> list[dict[str, Any]]:
    """Trains ``argv`` (the runner's options with the chosen values) for each of its seeds
    that no run in its ``--output-dir`` finished with the same options (`finished_runs`),
    saying in one line which runs were reused.

    Returns:
        The results of each seed's run, in seed order: read from ``results.json`` for a
        reused run, else as the runner returns them.
    """
    config = build_parser().parse_args(list(argv))
    seeds = list(config.seeds or [config.seed])
    done = finished_runs(config.output_dir, config_dict(config), seeds)
    results = {seed: json.loads((run / RESULTS_FILE).read_text()) for seed, run in done.items()}
    left = [seed for seed in seeds if seed not in done]
    if done:
        reused = ", ".join(f"seed {seed}: {done[seed]}" for seed in seeds if seed in done)
        training = f"training seed(s) {left}" if left else "nothing left to train"
        print(f"Reusing the finished final run(s) of this search ({reused}); {training}")
    if left:
        again = ["--seeds", json.dumps(left)] if config.seeds else []
        for result in run_main([*argv, *again]):
            results[result["seed"]] = result
    return [results[seed] for seed in seeds]


def finished_runs(
    output_dir: str | Path, config: dict[str, Any], seeds: Sequence[int]
) -> dict[int, Path]:
    """The first run directory in ``output_dir`` (by name) that holds ``results.json`` and
    whose ``config.yaml`` has ``config``'s experiment (`experiment_key`) and the seed, for
    each of ``seeds`` that has one."""
    key, found = experiment_key(config), {}
    for results in sorted(Path(output_dir).glob(f"{config['model']}-*/{RESULTS_FILE}")):
        saved = _saved_options(results.parent)
        seed = saved.get("seed")
        if seed in seeds and seed not in found and experiment_key(saved) == key:
            found[seed] = results.parent
    return found


def _saved_options(run_dir: Path) -> dict[str, Any]:
    """``run_dir``'s ``config.yaml`` (old option names renamed), ``{}`` when it cannot be
    read."""
    try:
        saved = yaml.safe_load((run_dir / CONFIG_FILE).read_text())
    except (OSError, yaml.YAMLError):
        return {}
    return renamed(saved) if isinstance(saved, dict) else {}
