"""Checkpoint files that the library reads back (``--resume``, ``--evaluate``): read so that
no code in them runs, and checked against the model they should hold, each fault in one
sentence that names the file."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from hqnn_lightning.models.base import ImageClassifier
from hqnn_lightning.utils.errors import first_line


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """The Lightning checkpoint in ``path``, read on the CPU.

    The file is read with ``torch.load(weights_only=True)``: tensors and plain values only,
    which is all the library's checkpoints hold, so a crafted file cannot run code. Passing
    ``weights_only`` explicitly matters: ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` turns off
    the restriction only for loads that leave it unset (torch 2.6+).

    Raises:
        ValueError: the file is not a checkpoint, or not one the library wrote (it holds other
            objects); the message names it.
    """
    problem = _not_a_torch_file(Path(path))
    if problem:
        raise ValueError(f"{path} is not a readable checkpoint: {problem}")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise ValueError(
            f"{path} holds objects other than tensors and plain values, so it was not written "
            f"by this library and is not loaded ({first_line(error)})"
        ) from None
    except Exception as error:  # torch raises several types for a file that is no checkpoint
        raise ValueError(f"{path} is not a readable checkpoint: {first_line(error)}") from None
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise ValueError(f"{path} is not a Lightning checkpoint (no state_dict)")
    return checkpoint


def _not_a_torch_file(path: Path) -> str | None:
    """Why ``path`` is no file of ``torch.save`` (a zip archive, or a pickle in the format
    before torch 1.6), or ``None``; so that a truncated or foreign file is not reported as one
    that holds objects other than tensors."""
    try:
        with open(path, "rb") as file:
            first = file.read(1)
    except OSError as error:
        return error.strerror or type(error).__name__
    if not first:
        return "it is empty"
    if first == b"\x80" or zipfile.is_zipfile(path):
        return None
    return "it is neither a torch.save archive nor a pickle (a file cut short, or another kind)"


def check_checkpoint(path: str | Path, model: nn.Module) -> dict[str, Any]:
    """Reads the Lightning checkpoint ``path`` (`read_checkpoint`) and checks it fits
    ``model`` (`check_fits`).

    Returns:
        The checkpoint.

    Raises:
        ValueError: the file is not a checkpoint, not one the library wrote, or its weights
            are not ``model``'s (missing or extra names, other shapes); the message says which.
    """
    checkpoint = read_checkpoint(path)
    check_fits(checkpoint, model, path)
    return checkpoint


def check_fits(checkpoint: dict[str, Any], model: nn.Module, path: str | Path) -> None:
    """Checks that the checkpoint ``checkpoint``, read from ``path``, holds ``model``'s
    weights: the same names and shapes, and whatever else the model asks
    (`ImageClassifier.check_checkpoint_fits`). A checkpoint that left out a frozen part
    (`hqnn_lightning.models.frozen_state`) fits when its fingerprint is the model's.

    Raises:
        ValueError: they do not fit; the message names ``path`` and says why.
    """
    if isinstance(model, ImageClassifier):
        # A copy: a checkpoint that left out the frozen part gets the model's own tensors.
        checkpoint = {**checkpoint, "state_dict": dict(checkpoint["state_dict"])}
        try:
            model.restore_frozen_state(checkpoint)
            model.check_checkpoint_fits(checkpoint)
        except ValueError as error:
            raise ValueError(f"{path}: {error}") from None
    expected = model.state_dict()
    saved = checkpoint["state_dict"]
    missing = sorted(set(expected) - set(saved))
    extra = sorted(set(saved) - set(expected))
    if missing or extra:
        raise ValueError(
            f"{path} holds another model than the {type(model).__name__} this run builds: "
            f"{_names('missing', missing)}{'; ' if missing and extra else ''}"
            f"{_names('unexpected', extra)}"
        )
    parameters = dict(model.named_parameters())
    reshaped = [
        f"{name} {tuple(saved[name].shape)} (model: {tuple(value.shape)})"
        # Weights first: a metric's state changes shape with them.
        for name, value in sorted(expected.items(), key=lambda item: item[0] not in parameters)
        if tuple(saved[name].shape) != tuple(value.shape)
    ]
    if reshaped:
        raise ValueError(
            f"{path} holds weights of other shapes than the {type(model).__name__} this run "
            f"builds: {', '.join(reshaped[:5])}"
        )


def _names(kind: str, names: list[str]) -> str:
    if not names:
        return ""
    shown = ", ".join(names[:5])
    return f"{kind} {shown}" + (f" and {len(names) - 5} more" if len(names) > 5 else "")
