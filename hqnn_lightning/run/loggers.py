"""Experiment loggers by name: Weights & Biases (offline without credentials), CSV, TensorBoard."""

from __future__ import annotations

import netrc
import os
import sys
from pathlib import Path
from typing import Any

import wandb
from lightning.pytorch.loggers import CSVLogger, Logger, TensorBoardLogger, WandbLogger

LOGGERS = ("wandb", "csv", "tensorboard")
WANDB_HOST = "api.wandb.ai"


def wandb_mode() -> str:
    """``WANDB_MODE`` when set, else ``"online"`` with credentials and ``"offline"`` without.

    Credentials are ``WANDB_API_KEY`` or an ``api.wandb.ai`` entry in ``~/.netrc`` (what
    ``wandb login`` writes).
    """
    if os.environ.get("WANDB_MODE"):
        return os.environ["WANDB_MODE"]
    if os.environ.get("WANDB_API_KEY"):
        return "online"
    try:
        has_login = netrc.netrc().authenticators(WANDB_HOST) is not None
    except (FileNotFoundError, netrc.NetrcParseError):
        has_login = False
    return "online" if has_login else "offline"


def create_logger(
    name: str,
    save_dir: str | Path,
    run_name: str,
    project: str = "hqnn-lightning",
    entity: str | None = None,
    group: str | None = None,
    tags: list[str] | None = None,
    config: dict[str, Any] | None = None,
    log_model: bool = False,
    run_id: str | None = None,
) -> Logger:
    """Builds the logger ``name`` writing under ``save_dir``.

    Args:
        name: One of `LOGGERS`.
        save_dir: The run's directory.
        run_name: Name of the run (W&B run name, TensorBoard version).
        project: W&B project.
        entity: W&B entity (user or team); ``None`` for the default one.
        group: W&B group, e.g. one experiment's seeds.
        tags: W&B tags.
        config: The run's resolved options, recorded as the W&B config.
        log_model: Upload the checkpoints to W&B as a model artifact at the end of training.
        run_id: W&B run id; a run that exists already with it is resumed (``resume="allow"``).

    An online W&B run that cannot start (no network, a bad API key) does not stop the
    training: the run logs offline instead, and a one-line message on stderr says why.

    Raises:
        ValueError: unknown logger name.
    """
    if name == "csv":
        return CSVLogger(save_dir, name="", version="csv")
    if name == "tensorboard":
        return TensorBoardLogger(save_dir, name="", version="tensorboard")
    if name == "wandb":
        options = {
            "name": run_name,
            "save_dir": str(save_dir),
            "project": project,
            "entity": entity,
            "group": group,
            "tags": tags,
            "config": config,
            "log_model": log_model,
            "id": run_id,
            "resume": "allow" if run_id else None,
        }
        mode = wandb_mode()
        logger = WandbLogger(mode=mode, **options)
        if mode != "online":
            return logger
        try:
            logger.experiment  # noqa: B018 (starts the run now, to know whether it can)
        except wandb.errors.Error as error:
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error)
            print(
                f"W&B could not start online ({reason}); this run logs to W&B offline instead",
                file=sys.stderr,
            )
            return WandbLogger(mode="offline", **options)
        return logger
    raise ValueError(f"unknown logger {name!r}; known: {', '.join(LOGGERS)}")
