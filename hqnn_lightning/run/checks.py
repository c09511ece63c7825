"""The runner's checks before anything is built: values no run can use, output and cache
directories it cannot write, environment variables it could not use, and hardware this
machine does not have. Each returns the first problem as one sentence that names the option
or variable, or ``None``. Each imports what its answer needs when asked (Lightning for the
hardware, W&B's settings for the environment), so that the command line refuses the other
mistakes before importing them."""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING

from jsonargparse import Namespace

from hqnn_lightning.experiment.options import RUNNER, option_flag
from hqnn_lightning.utils.backend_names import TORCH_DEVICE

if TYPE_CHECKING:
    from hqnn_lightning.run.resumption import Resumption

MAX_SEED = 2**32 - 1
"""The largest seed NumPy (and so ``seed_everything`` and the splits) takes."""

CACHE_DIR_VARIABLE = "HQNN_CACHE_DIR"
"""The environment variable that moves the caches' default directory
(`hqnn_lightning.data.index_cache.DEFAULT_CACHE_DIR`)."""

HARDWARE_OPTIONS = ("accelerator", "devices", "num_nodes", "strategy", "precision")
"""Runner options that are also `lightning.Trainer` arguments of the same name, which
Lightning checks against the machine."""


def out_of_range(config: Namespace) -> str | None:
    """The first option whose value no run can use, as a sentence naming it; ``None`` when
    there is none. Checked before anything is built, so that no training runs only to end in
    a traceback."""
    for name, value in config.items():
        values = value if isinstance(value, list) else [value]
        if any(isinstance(item, float) and not math.isfinite(item) for item in values):
            return f"{option_flag(name)} {value}: give a finite number"
    seeds = config.get("seeds")
    if seeds is not None and not seeds:
        return "--seeds []: give at least one seed, e.g. [0,1,2]"
    for seed in [config.get("seed", 0), *(seeds or ())]:
        if not 0 <= seed <= MAX_SEED:
            flag = "--seeds" if seeds else "--seed"
            return f"{flag}: seed {seed} is out of range; give seeds from 0 to {MAX_SEED}"
    split_seed = config.get("split_seed")
    if split_seed is not None and not 0 <= split_seed <= MAX_SEED:
        return f"--split-seed {split_seed}: out of range; give a seed from 0 to {MAX_SEED}"
    at_least = {
        "max_epochs": (1, ""),
        "num_nodes": (1, ""),
        "checkpoint_every_n_steps": (1, ""),
        "checkpoint_interval": (0, " (0: after every epoch)"),
        "max_retries": (0, " (0: no retry)"),
        "accumulate_grad_batches": (1, ""),
        "batch_size": (1, ""),
        "shots": (1, ", or leave it out for an exact simulation"),
    }
    for name, (low, otherwise) in at_least.items():
        value = config.get(name)
        if value is not None and value < low:
            return f"{option_flag(name)} {value}: give at least {low}{otherwise}"
    for name in ("lr", "q_lr"):
        value = config.get(name)
        if value is not None and not value > 0:
            return f"{option_flag(name)} {value}: a learning rate must be above 0"
    if (config.get("weight_decay") or 0) < 0:
        return f"--weight-decay {config.weight_decay}: give 0 or more"
    clip = config.get("gradient_clip_val")
    if clip is not None and not clip > 0:
        return f"--gradient-clip-val {clip}: give a norm above 0, or leave it out to not clip"
    if config.get("val_fraction") == 0 and not config.evaluate:
        return (
            "--val-fraction 0: the runner picks the checkpoint it tests on the validation "
            "split, so it needs one (0.1 holds out a tenth of the training images)"
        )
    return None


def untrainable_shots(config: Namespace) -> str | None:
    """``--shots`` on the torch backend (``--q-device torch``, or left out) when training, as a
    sentence naming the option and what to do instead; ``None`` otherwise. The torch backend
    samples without a gradient, so it evaluates with shots (``--evaluate``) but cannot train."""
    device = config.get("q_device") or TORCH_DEVICE
    if config.get("shots") is None or device != TORCH_DEVICE:
        return None
    return (
        f"--shots {config.shots} with --q-device torch: its samples have no gradient, so it "
        "cannot train with shots; train exactly (leave --shots out) and evaluate with "
        f"--evaluate CHECKPOINT --q-device torch --shots {config.shots}, or train with "
        f"--q-device default.qubit --shots {config.shots} (parameter-shift)"
    )


def unusable_evaluation(config: Namespace) -> str | None:
    """The first problem of ``--evaluate``'s options (`out_of_range`, ``--test false``, an
    ``--eval-dir`` it cannot write in, a checkpoint outside a run directory, no
    ``--q-device``) as a sentence
    naming the option; ``None`` when there is none. Checked before the checkpoint is loaded
    and anything is written."""
    problem = out_of_range(config)
    if problem is None and not config.test:
        problem = "--test false: --evaluate evaluates the test set; leave --test out"
    if problem is None and config.eval_dir is not None:
        reason = unwritable_directory(Path(config.eval_dir))
        problem = reason and f"--eval-dir {config.eval_dir}: {reason}"
    checkpoint = Path(config.evaluate)
    run_config = checkpoint.parent.parent / "config.yaml"
    if problem is None and not (checkpoint.is_file() and run_config.is_file()):
        problem = (
            f"--evaluate {checkpoint}: needs a checkpoint inside a run directory "
            f"(RUN/checkpoints/NAME.ckpt next to RUN/config.yaml); {run_config} not found"
        )
    if problem is None and config.q_device is None:
        problem = "--evaluate needs --q-device (and --shots for sampling devices)"
    return problem


def unwritable_directories(config: Namespace, resumption: Resumption | None) -> str | None:
    """The first of the output directory (the resumed run's directory, with ``--resume``) and
    ``--cache-dir`` that this process could not create or write in, as a sentence naming the
    option; ``None`` when both can be written."""
    output = ("--resume", resumption.run_dir) if resumption else ("--output-dir", config.output_dir)
    for flag, path in (output, ("--cache-dir", config.get("cache_dir"))):
        problem = None if path is None else unwritable_directory(Path(path))
        if problem:
            return f"{flag} {path}: {problem}"
    return None


def unwritable_directory(path: Path) -> str | None:
    """Why ``path`` cannot be used as a directory to write in (a file is in the way, or its
    nearest existing folder is read-only to this process); ``None`` when it can."""
    path = path.expanduser().absolute()
    existing = path
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        return "is a file, not a directory" if existing == path else f"{existing} is a file"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"{existing} is read-only to this user (no permission to write in it)"
    return None


def unusable_environment(config: Namespace) -> str | None:
    """The first environment variable this run would read and could not use, as a sentence
    naming it: a ``WANDB_*`` setting W&B refuses (`wandb_environment_problem`) or a
    ``--wandb-project`` it refuses, with ``--logger wandb``; `CACHE_DIR_VARIABLE` naming a
    directory that cannot be written, where no ``--cache-dir`` is given. ``None`` when
    there is none."""
    if config.logger == "wandb":
        from hqnn_lightning.run.loggers import wandb_environment_problem, wandb_project_problem

        problem = wandb_environment_problem()
        if problem:
            return problem
        problem = wandb_project_problem(config.wandb_project)
        if problem:
            return f"--wandb-project {config.wandb_project}: {problem}"
    cache_dir = os.environ.get(CACHE_DIR_VARIABLE)
    if cache_dir and config.get("cache_dir") is None:
        problem = unwritable_directory(Path(cache_dir))
        if problem:
            return (
                f"{CACHE_DIR_VARIABLE}={cache_dir} in the environment: {problem}; point it at "
                "a directory, or give --cache-dir"
            )
    return None


def unusable_hardware(config: Namespace) -> str | None:
    """Lightning's objection to ``--accelerator``, ``--devices``, ``--num-nodes``,
    ``--strategy`` and ``--precision`` on this machine (an accelerator it lacks,
    ``--devices 0``, an unknown strategy), asked of a `lightning.Trainer` built with only
    those, as a sentence that names the options given; ``None`` when Lightning takes them."""
    import lightning as L
    from lightning.fabric.utilities.exceptions import MisconfigurationException

    hardware = {name: config.get(name) for name in HARDWARE_OPTIONS}
    rank_zero = logging.getLogger("lightning.pytorch.utilities.rank_zero")
    level = rank_zero.level
    rank_zero.setLevel(logging.WARNING)  # not the "GPU available" lines twice
    try:
        L.Trainer(**hardware, logger=False, enable_checkpointing=False)
    except (MisconfigurationException, ValueError, TypeError, RuntimeError, ImportError) as error:
        given = [
            f"{option_flag(name)} {value}"
            for name, value in hardware.items()
            if value != RUNNER[name].default
        ]
        return f"{', '.join(given) or 'the default hardware options'}: {error}"
    finally:
        rank_zero.setLevel(level)
    return None
