"""The ``dataset`` registry: ``--data digits`` names a DataModule registered here."""

from __future__ import annotations

from typing import Any

from hqnn_lightning.data.base import ImageClassificationDataModule
from hqnn_lightning.utils.registry import Registry

DATAMODULES: Registry[ImageClassificationDataModule] = Registry("dataset")


def create_datamodule(name: str, **kwargs: Any) -> ImageClassificationDataModule:
    """Builds the DataModule registered under ``name``; ``None`` arguments keep their defaults.

    Raises:
        KeyError: ``name`` is not registered; the message lists the registered names.
        TypeError: an argument is not one the DataModule takes; the message names it.
    """
    return DATAMODULES.create(name, **kwargs)
