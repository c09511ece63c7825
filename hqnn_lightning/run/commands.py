"""The work of ``experiments/run.py`` once its options are parsed and checked
(`hqnn_lightning.run.cli`): train once per seed (or continue ``--resume``'s run), or evaluate
a checkpoint on a quantum device (``--evaluate``). Importing this module imports the library:
the command line imports it only after refusing what it can without."""

from __future__ import annotations

import json
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from jsonargparse import ArgumentParser, Namespace

from hqnn_lightning.data import create_datamodule
from hqnn_lightning.data.index_cache import DEFAULT_CACHE_DIR
from hqnn_lightning.hardware import (
    JobFailedError,
    RetryPolicy,
    confirm_on_terminal,
    evaluate_checkpoint,
)
from hqnn_lightning.run.build import BUILD_ERRORS
from hqnn_lightning.run.checks import (
    unusable_environment,
    unusable_hardware,
    unwritable_directories,
)
from hqnn_lightning.run.disk_full import exit_on_full_disk
from hqnn_lightning.run.lock import RunDirectoryInUse, run_directory_lock
from hqnn_lightning.run.options import build_parser, constructor_arguments
from hqnn_lightning.run.recipe import unusable_recipe
from hqnn_lightning.run.resume import resumed_config
from hqnn_lightning.run.saved_options import parse_saved_options
from hqnn_lightning.run.seeds import run_seeds


def run_command(parser: ArgumentParser, argv: list[str], config: Namespace) -> list[dict[str, Any]]:
    """Trains once per seed, or evaluates ``--evaluate``'s checkpoint; the results, in seed
    order."""
    if config.resume or config.evaluate:
        parser = build_parser()  # its run's config.yaml may set --callbacks (Lightning's type)
    with exit_on_full_disk(cache_dirs(config)):
        if config.evaluate:
            return [_evaluate(parser, config)]
        return _train(parser, argv, config)


def _train(parser: ArgumentParser, argv: list[str], config: Namespace) -> list[dict[str, Any]]:
    """Checks what needs Lightning to check (hardware, the recipe's classes, W&B's settings),
    then trains once per seed (or continues ``--resume``'s run)."""
    problem = unusable_hardware(config) or unusable_recipe(config)
    if problem:
        parser.error(problem)
    resumption = None
    with ExitStack() as held:
        if config.resume:
            try:
                config, resumption = resumed_config(parser, argv, config)
                # Taken before anything is built: a second --resume of the run stops at once.
                held.enter_context(run_directory_lock(resumption.run_dir))
            except (OSError, ValueError, RunDirectoryInUse) as error:
                parser.error(str(error))
        # A new run's directories were checked before the import (cli.first_problem).
        problem = resumption and unwritable_directories(config, resumption)
        problem = problem or unusable_environment(config)
        if problem:
            parser.error(problem)
        return run_seeds(config, resumption, parser.error)


def cache_dirs(config: Namespace) -> list[Path]:
    """Where the caches of ``config``'s command go: ``--cache-dir``, and the default."""
    given = config.get("cache_dir")
    return [Path(given).expanduser(), DEFAULT_CACHE_DIR] if given else [DEFAULT_CACHE_DIR]


def _evaluate(parser: ArgumentParser, config: Namespace) -> dict[str, Any]:
    """``--evaluate CHECKPOINT``: the checkpoint's run's test set on ``--q-device``; its
    options were checked before the import (`checks.unusable_evaluation`)."""
    checkpoint = Path(config.evaluate)
    run_config_path = checkpoint.parent.parent / "config.yaml"
    run_config = parse_saved_options(parser, run_config_path)
    if config.batch_size is not None:
        run_config.batch_size = config.batch_size
    try:
        _, data_arguments = constructor_arguments(run_config, used_elsewhere={"cache_dir"})
        with exit_on_full_disk(cache_dirs(run_config), evaluation=True):
            summary = evaluate_checkpoint(
                checkpoint,
                run_config.model,
                create_datamodule(run_config.data, **data_arguments),
                config.q_device,
                config.shots,
                config.q_diff_method,
                config.q_device_options,
                config.eval_dir,
                confirm=lambda message: confirm_on_terminal(message, config.yes),
                retry=RetryPolicy(max_retries=config.max_retries),
            )
    except JobFailedError as error:
        print(f"error: {error}; rerun the same command to resume", file=sys.stderr)
        raise SystemExit(1) from None
    except PermissionError as error:  # no confirmation, or no credentials
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    except (*BUILD_ERRORS, FileExistsError) as error:
        parser.error(str(error))
    print(json.dumps(summary, indent=2))
    return summary
