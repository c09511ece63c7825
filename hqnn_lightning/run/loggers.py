"""Experiment loggers by name: Weights & Biases (offline without credentials), CSV, TensorBoard.

W&B is imported where it is used, so that a missing one is said in one line
(`logger_package_problem`) rather than stopping every import of the runner.
"""

from __future__ import annotations

import importlib.util
import netrc
import os
import secrets
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lightning.pytorch.loggers import CSVLogger, Logger, TensorBoardLogger, WandbLogger

from hqnn_lightning.experiment.options import LOGGERS
from hqnn_lightning.utils.extras import install_hint

if TYPE_CHECKING:
    import pydantic
    import wandb

WANDB_HOST = "api.wandb.ai"
REACHABILITY_TIMEOUT_S = 5.0
"""How long the check that W&B's server answers waits, at most, before the run goes offline."""


LOGGER_PACKAGES: dict[str, tuple[str, ...]] = {
    "wandb": ("wandb",),
    "tensorboard": ("tensorboard", "tensorboardX"),
}
"""The packages a logger writes with (any one of them); both are dependencies of the
package, so only a broken install lacks them."""


def logger_package_problem(name: str) -> str | None:
    """``--logger NAME needs the PACKAGE package: pip install PACKAGE`` when none of the
    packages that the logger ``name`` writes with (`LOGGER_PACKAGES`) is installed; ``None``
    when one is, and for ``csv``."""
    packages = LOGGER_PACKAGES.get(name, ())
    if not packages or any(importlib.util.find_spec(package) for package in packages):
        return None
    return f"--logger {name} {install_hint(packages[0], None)}"


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


def wandb_environment_problem(environ: Mapping[str, str] | None = None) -> str | None:
    """The first ``WANDB_*`` variable of ``environ`` (default ``os.environ``) that W&B's own
    settings (``wandb.Settings``) refuse, as a sentence naming it and what W&B takes, e.g.
    ``WANDB_MODE=bogus in the environment: Input should be 'online', 'offline', ...``;
    ``None`` when W&B takes them all. The value of a secret (an API key) is not shown.

    W&B reads these when its run starts, after the run's directory exists; asked before,
    a bad one stops the run with this line instead of a pydantic ``ValidationError``.
    Without W&B installed, the sentence says so (`logger_package_problem`).
    """
    problem = logger_package_problem("wandb")
    if problem:
        return problem
    import pydantic
    import wandb

    environ = os.environ if environ is None else environ
    for name, value in sorted(environ.items()):
        if not name.startswith("WANDB_") or not value:
            continue
        try:
            wandb.Settings().update_from_env_vars({name: value})
        except (pydantic.ValidationError, wandb.errors.UsageError) as error:
            shown = name if _is_secret(name) else f"{name}={value}"
            return f"{shown} in the environment: {_refusal(error)}"
    return None


def wandb_project_problem(project: str) -> str | None:
    """Why W&B would refuse ``project`` as a project name (a ``/`` in it, over 128
    characters), in W&B's words; ``None`` when it takes it (or W&B is not installed:
    `wandb_environment_problem` says so)."""
    if logger_package_problem("wandb"):
        return None
    import pydantic
    import wandb

    try:
        wandb.Settings(project=project)
    except (pydantic.ValidationError, wandb.errors.UsageError) as error:
        return _refusal(error)
    return None


def _refusal(error: pydantic.ValidationError | wandb.errors.UsageError) -> str:
    """W&B's reason for refusing a setting, on one line."""
    import pydantic

    if isinstance(error, pydantic.ValidationError):
        return error.errors()[0]["msg"]
    return " ".join(str(error).split())


def _is_secret(name: str) -> bool:
    return any(word in name for word in ("KEY", "TOKEN", "PASSWORD", "SECRET"))


def new_wandb_run_id() -> str:
    """A new W&B run id: a short string of ``[a-z0-9]``, as W&B's own."""
    return secrets.token_hex(4)


def wandb_unreachable(timeout_s: float = REACHABILITY_TIMEOUT_S) -> str | None:
    """Why W&B's server (its ``base_url`` setting, ``WANDB_BASE_URL``) cannot be reached, or
    ``None`` when it answers within ``timeout_s`` (or ``init_timeout``, when shorter).

    Any HTTP answer counts: a refused key is ``wandb.init``'s to report. Without this check
    an unreachable server costs the whole ``init_timeout`` (90 s by default).
    """
    import requests
    import wandb

    settings = wandb.setup().settings
    try:
        requests.head(settings.base_url, timeout=min(timeout_s, settings.init_timeout))
    except requests.RequestException as error:
        cause: BaseException = error
        while cause.__context__ is not None:  # the socket's own error says most
            cause = cause.__context__
        return f"cannot reach {settings.base_url}: {cause}"
    return None


def _start_error(logger: WandbLogger) -> str | None:
    """Starts ``logger``'s run now; the first line of W&B's error if it cannot."""
    import wandb

    try:
        logger.experiment  # noqa: B018 (the property starts the run)
    except wandb.errors.Error as error:
        return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return None


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

    An online W&B run that cannot start (`wandb_unreachable`, a bad API key, no answer within
    W&B's ``init_timeout``) does not stop the training: the run logs offline instead, under a
    new run id (the logger's ``version``), and a one-line message on stderr says why.

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
        return _wandb_logger(options)
    raise ValueError(f"unknown logger {name!r}; known: {', '.join(LOGGERS)}")


def _wandb_logger(options: dict[str, Any]) -> WandbLogger:
    """A `WandbLogger` with ``options`` in `wandb_mode`'s mode; an online run that cannot
    start logs offline instead, under a new run id, with a one-line message on stderr."""
    mode = wandb_mode()
    logger = _without_anonymous(WandbLogger(mode=mode, **options))
    if mode != "online":
        return logger
    reason = wandb_unreachable() or _start_error(logger)
    if reason is None:
        return logger
    print(
        f"W&B could not start online ({reason}); this run logs to W&B offline instead",
        file=sys.stderr,
    )
    # A fresh id: W&B's service process still holds the one that failed ("run ID is in
    # use"), and a later `wandb sync` must not mix this run into an online one.
    options.update(id=new_wandb_run_id(), resume=None)
    return _without_anonymous(WandbLogger(mode="offline", **options))


def _without_anonymous(logger: WandbLogger) -> WandbLogger:
    """``logger``, whose run starts without W&B's ``anonymous`` setting.

    Lightning passes ``anonymous=None`` to ``wandb.init`` when it is not asked for, and W&B
    (0.31 here) answers any value it is given, ``None`` included, with "The anonymous setting
    has no effect and will be removed in a future version" on every run. Left out, W&B uses
    its default.
    """
    logger._wandb_init.pop("anonymous", None)
    return logger
