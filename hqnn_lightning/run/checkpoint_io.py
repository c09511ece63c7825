"""Checkpoints written whole wherever the run directory lives: `AtomicCheckpointIO`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from fsspec.implementations.local import LocalFileSystem
from lightning.fabric.utilities.cloud_io import get_filesystem
from lightning.pytorch.plugins.io import TorchCheckpointIO

from hqnn_lightning.utils.files import atomic_write


class AtomicCheckpointIO(TorchCheckpointIO):
    """Lightning's `TorchCheckpointIO`, except that a local checkpoint is written to a
    temporary file beside it, fsynced, and renamed over it
    (`hqnn_lightning.utils.files.atomic_write`), so ``last.ckpt`` is always a whole
    checkpoint, the old one or the new one.

    Lightning 2.6 writes through an fsspec transaction whose local file is a temporary file in
    ``$TMPDIR``, moved onto the checkpoint with ``shutil.move``. When ``$TMPDIR`` is on another
    filesystem than the run (a tmpfs, a node's local disk), that move truncates the checkpoint
    and copies into it, so a process killed meanwhile leaves an empty or partial checkpoint.

    A full disk ends the write with an `OSError` naming ``path`` (`atomic_write`), never with
    the ``RuntimeError`` that ``torch.save`` puts in its place.

    Pass it to the Trainer as ``plugins=[AtomicCheckpointIO()]``; every strategy (``ddp``,
    ``ddp_spawn``) then saves through it, as do ``ModelCheckpoint`` and
    ``trainer.save_checkpoint``. Remote paths (``s3://``, ...) and ``storage_options`` go to
    Lightning's own writer.
    """

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: str | Path, storage_options: Any | None = None
    ) -> None:
        """Writes ``checkpoint`` with ``torch.save`` to ``path``, whole or not at all."""
        if storage_options is not None or not isinstance(get_filesystem(path), LocalFileSystem):
            super().save_checkpoint(checkpoint, path, storage_options)
            return
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(path, binary=True) as file:
            try:
                torch.save(checkpoint, file)
            except RuntimeError as error:
                cause = _write_error(error)
                if cause is None:
                    raise
                raise cause from None


def _write_error(error: BaseException) -> OSError | None:
    """The `OSError` that ``error`` was raised while handling, if any. ``torch.save``'s zip
    writer, closed while an `OSError` of the file's ``write`` (a full disk) unwinds, raises a
    ``RuntimeError`` of its own in its place (``[enforce fail at inline_container.cc] unexpected
    pos``)."""
    while error is not None and not isinstance(error, OSError):
        error = error.__context__
    return error
