"""The third-party messages a run leaves out, each because it says nothing to a user of this
library, filtered at its source (category, module and message) for the run's duration only.

The library's own warnings, and every other third-party warning, still show. Messages the
runner can avoid are avoided where they arise instead: the best checkpoint is validated and
tested by its path (`training`), so Lightning does not say which of several `ModelCheckpoint`
callbacks it picks; W&B's logger is built without the ``anonymous`` setting (`loggers`).
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import lightning as L
from lightning.pytorch.utilities.warnings import PossibleUserWarning
from torch import nn

from hqnn_lightning.data.car_base import CarDataModule


@dataclass(frozen=True)
class IgnoredWarning:
    """One third-party warning a run does not show.

    Args:
        message: Regular expression matched at the start of the warning's text, in any case.
        category: Its class (subclasses match too).
        module: Regular expression matched at the start of the name of the module it is
            attributed to (the caller of ``warnings.warn`` at its ``stacklevel``).
        reason: Why it says nothing to a user of this library.
    """

    message: str
    category: type[Warning]
    module: str
    reason: str


IGNORED_WARNINGS = (
    IgnoredWarning(
        r"`isinstance\(treespec, LeafSpec\)` is deprecated",
        FutureWarning,
        r"lightning\.pytorch\.utilities\._pytree",
        "Lightning's own use of a torch API that torch deprecates; nothing a user can change",
    ),
    IgnoredWarning(
        r"The number of training batches \(\d+\) is smaller than the logging interval",
        PossibleUserWarning,
        r"lightning\.pytorch\.loops\.fit_loop",
        "the models log their train metrics once per epoch (on_train_epoch_end), so no log "
        "is missed; the runner sets log_every_n_steps, which is no option",
    ),
    IgnoredWarning(
        r"It is recommended to use `self\.log\('(train|time)/",
        PossibleUserWarning,
        r"lightning\.pytorch\.trainer\.connectors\.logger_connector\.result",
        "with several processes: the train metrics are torchmetrics' compute(), equal on every "
        "process already, and time/epoch_seconds is each process's own clock, of which rank "
        "0's is recorded; syncing them would change nothing",
    ),
)
"""What every run leaves out."""

IN_MEMORY_DATA_WARNINGS = (
    IgnoredWarning(
        r"The '\w+' does not have many workers which may be a bottleneck",
        PossibleUserWarning,
        r"lightning\.pytorch\.trainer\.connectors\.data_connector",
        "the images are tensors in memory (digits, synthetic, the image or feature caches): "
        "worker processes only add their start-up; it names DataLoader's argument, not "
        "--num-workers",
    ),
)
"""What a run whose images are in memory leaves out as well (`reads_image_files` false)."""

FROZEN_MODULES_WARNINGS = (
    IgnoredWarning(
        r"Found \d+ module\(s\) in eval mode at the start of training",
        PossibleUserWarning,
        r"lightning\.pytorch\.loops\.fit_loop",
        "the models keep their frozen parts in eval mode on purpose (freeze_module: a frozen "
        "backbone's batch-norm statistics stay those it was built or loaded with)",
    ),
)
"""What a run whose modules in eval mode all train nothing leaves out as well
(`only_frozen_modules_in_eval`)."""

RANK_ZERO_LOGGER = "lightning.pytorch.utilities.rank_zero"
"""The logger of Lightning's ``rank_zero_info`` messages."""

LITLOGGER_TIP = re.compile(r"\W*Tip: .*litlogger", re.DOTALL)
"""Lightning's advertisement for its cloud logger, logged by every Trainer without a
LitLogger; the runner's loggers are chosen with ``--logger``."""


class _DropTips(logging.Filter):
    """Drops the records of `LITLOGGER_TIP`; lets every other record through."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not LITLOGGER_TIP.match(record.getMessage())


def reads_image_files(datamodule: L.LightningDataModule) -> bool:
    """Whether each batch of ``datamodule`` decodes image files, where DataLoader workers pay:
    a car DataModule without ``cache_images``, not under a feature cache."""
    return isinstance(datamodule, CarDataModule) and not datamodule.cache_images


def only_frozen_modules_in_eval(model: nn.Module) -> bool:
    """Whether every module of ``model`` in eval mode trains nothing (no parameter of it
    requires a gradient): frozen parts, kept in eval mode on purpose."""
    return all(
        not any(parameter.requires_grad for parameter in module.parameters())
        for module in model.modules()
        if not module.training
    )


@contextmanager
def quiet_run(
    datamodule: L.LightningDataModule | None = None, model: nn.Module | None = None
) -> Iterator[None]:
    """Leaves out `IGNORED_WARNINGS` and Lightning's litlogger tip while the block runs;
    `IN_MEMORY_DATA_WARNINGS` too when ``datamodule`` does not read image files, and
    `FROZEN_MODULES_WARNINGS` when ``model``'s modules in eval mode are frozen ones (both
    judged when the block starts). The warning filters and the logger are restored
    afterwards."""
    ignored = IGNORED_WARNINGS
    if datamodule is not None and not reads_image_files(datamodule):
        ignored += IN_MEMORY_DATA_WARNINGS
    if model is not None and only_frozen_modules_in_eval(model):
        ignored += FROZEN_MODULES_WARNINGS
    tips = _DropTips()
    rank_zero = logging.getLogger(RANK_ZERO_LOGGER)
    rank_zero.addFilter(tips)
    try:
        with warnings.catch_warnings():
            for warning in ignored:
                warnings.filterwarnings("ignore", warning.message, warning.category, warning.module)
            yield
    finally:
        rank_zero.removeFilter(tips)
