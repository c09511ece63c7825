"""The model registry: ``--model NAME`` builds ``MODELS.create(NAME, ...)``."""

from __future__ import annotations

from typing import Any

import lightning as L

from hqnn_lightning.utils.registry import Registry

MODELS: Registry[L.LightningModule] = Registry("model")


def create_model(name: str, **kwargs: Any) -> L.LightningModule:
    """Builds the registered model ``name``; ``None`` arguments keep the model's defaults.

    Raises:
        KeyError: unknown ``name`` (the message lists the known models).
        TypeError: an argument the model does not take.
    """
    return MODELS.create(name, **kwargs)
