"""Checkpoints without a model's frozen part: a frozen pretrained backbone is built again from
its source when the checkpoint is loaded, so the checkpoint holds a fingerprint in its place.

A checkpoint then holds what trains (its weights and optimizer state) and, under
`FINGERPRINT_KEY`, the frozen part's fingerprint: where its weights come from (the model's
`frozen_source`, e.g. ``{"arch": "efficientnet_lite0", "backbone_weights": "imagenet", ...}``),
a digest of its modules' ``repr`` (the architecture) and one of its tensors
(`backbones.weights_digest`, the feature cache's). Loading compares the fingerprint with the
one of the frozen part the model has just built and puts that part's tensors back into the
checkpoint's ``state_dict``; a fingerprint that differs is refused, naming both sources.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from hqnn_lightning.models.backbones import weights_digest

FINGERPRINT_KEY = "frozen_fingerprint"
"""The checkpoint's key of the frozen part's fingerprint, present when the frozen tensors were
left out."""


def frozen_state(model: nn.Module, frozen: Sequence[nn.Module]) -> dict[str, torch.Tensor]:
    """The entries of ``model.state_dict()`` that belong to the ``frozen`` sub-modules of
    ``model``: their parameters and buffers (batch-norm statistics, which a frozen module in
    eval mode never updates), by their names in ``model``."""
    names = {id(module): name for name, module in model.named_modules()}
    return {
        f"{names[id(module)]}.{key}": tensor
        for module in frozen
        for key, tensor in module.state_dict().items()
    }


def fingerprint(
    source: dict[str, Any], frozen: Sequence[nn.Module], state: dict[str, torch.Tensor]
) -> dict[str, str | dict[str, Any]]:
    """The fingerprint of a frozen part: ``{"source": source, "architecture": sha256 of the
    modules' repr, "weights": sha256 of state}`` (`weights_digest`), plain values that a
    ``weights_only`` load reads."""
    architecture = hashlib.sha256("\n".join(map(repr, frozen)).encode()).hexdigest()
    return {"source": source, "architecture": architecture, "weights": weights_digest(state)}


def version_witness(state: dict[str, torch.Tensor]) -> tuple[tuple[int, int], ...]:
    """What changes whenever a tensor of ``state`` does: its storage address and its version
    counter, which every in-place write (``copy_`` in ``load_state_dict``) increments. It lets
    a model hash its frozen tensors once rather than at every checkpoint (9 ms a save for
    EfficientNet-Lite0 against a 30 ms write)."""
    return tuple((tensor.data_ptr(), tensor._version) for tensor in state.values())


def leave_out(checkpoint: dict[str, Any], state: dict[str, torch.Tensor], found: dict) -> None:
    """Removes the frozen tensors ``state`` from ``checkpoint["state_dict"]`` and records their
    fingerprint ``found`` in their place."""
    saved = checkpoint["state_dict"]
    for name in state:
        saved.pop(name, None)
    checkpoint[FINGERPRINT_KEY] = found


def put_back(checkpoint: dict[str, Any], state: dict[str, torch.Tensor], own: dict | None) -> None:
    """Puts the model's frozen tensors ``state``, whose fingerprint is ``own``, into a
    checkpoint that left them out, once its fingerprint is found to be the same; a checkpoint
    that holds them is left as it is.

    Raises:
        ValueError: the checkpoint's frozen part is not the model's (another weights source,
            file or architecture), or the model has no frozen part it builds from a source;
            the message names both sources.
    """
    saved = checkpoint.get(FINGERPRINT_KEY)
    if saved is None:
        return
    if own is None:
        raise ValueError(
            f"the checkpoint leaves out its frozen part, built from {describe(saved['source'])}, "
            "but this model has no frozen part built from a source; build it with those options "
            "(freeze_backbone=True)"
        )
    if (saved["architecture"], saved["weights"]) != (own["architecture"], own["weights"]):
        what = "architecture" if saved["architecture"] != own["architecture"] else "weights"
        raise ValueError(
            f"the checkpoint's frozen part ({describe(saved['source'])}, weights "
            f"{saved['weights'][:12]}) is not this model's ({describe(own['source'])}, weights "
            f"{own['weights'][:12]}): their {what} differ; load it with the options and weights "
            "file it was trained with"
        )
    checkpoint["state_dict"].update(state)


def describe(source: dict[str, Any]) -> str:
    """A frozen part's source in a message: ``arch='efficientnet_lite0', backbone_weights=
    'imagenet', ...``."""
    return ", ".join(f"{name}={value!r}" for name, value in source.items())
