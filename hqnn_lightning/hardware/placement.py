"""A checkpoint's quantum part, found through `QuantumModule` whatever the model: loaded once,
its circuit executions counted, and each quantum module moved to another device
(`layer_on_device`: the library's layers rebuilt by `make_layer`, any other by its own
`QuantumModule.on_device`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch import nn

from hqnn_lightning.models import MODELS
from hqnn_lightning.models.checkpoint_file import check_fits, read_checkpoint
from hqnn_lightning.quantum import layer_on_device, make_device
from hqnn_lightning.quantum.module import QuantumModule, quantum_modules


def load_checkpoint(checkpoint: str | Path, model_name: str) -> L.LightningModule:
    """The registered model ``model_name`` with ``checkpoint``'s weights, on the CPU, in eval
    mode, its quantum modules on the devices it was trained with.

    The file is checked as ``--resume`` checks one (`read_checkpoint`, `check_fits`) before
    the model is built from it: it is read with ``weights_only=True``, so a crafted file is
    refused and no code in it runs.

    Raises:
        ValueError: the file is not a checkpoint the library wrote, it holds another model
            than ``model_name``, or the model holds no `QuantumModule`, so nothing could run on
            a device; the message says which.
    """
    saved = read_checkpoint(checkpoint)
    try:
        model = MODELS.get(model_name).load_from_checkpoint(
            checkpoint, map_location="cpu", weights_only=True, strict=False
        )
    except ValueError as error:  # the model's own checks (a frozen part's fingerprint) name it
        raise ValueError(f"{checkpoint}: {error}") from None
    check_fits(saved, model, checkpoint)  # names what differs, as strict loading would not
    if not quantum_modules(model):
        raise ValueError(
            f"model {model_name!r} has no quantum module (hqnn_lightning.quantum.QuantumModule) "
            "to run on a device"
        )
    return model.eval()


def move_to_device(
    model: nn.Module,
    device: str,
    shots: int | None = None,
    diff_method: str | None = None,
    device_options: dict[str, Any] | None = None,
) -> nn.Module:
    """Replaces each outermost `QuantumModule` of ``model`` by ``layer_on_device(module, ...)``: the
    same weights on ``make_device(device, module.device_wires(), shots, diff_method,
    **device_options)``. Returns ``model``, changed in place.

    Raises:
        ValueError: an invalid device or option (`make_device`).
        NotImplementedError: a quantum module that cannot move to another device.
    """
    for name, module in quantum_modules(model).items():
        quantum_device = make_device(
            device, module.device_wires(), shots, diff_method, **(device_options or {})
        )
        model.set_submodule(name, layer_on_device(module, quantum_device))
    return model


def load_on_device(
    checkpoint: str | Path,
    model_name: str,
    device: str | None = None,
    shots: int | None = None,
    diff_method: str | None = None,
    device_options: dict[str, Any] | None = None,
) -> L.LightningModule:
    """`load_checkpoint`, then, when ``device`` is given, `move_to_device`."""
    model = load_checkpoint(checkpoint, model_name)
    if device is not None:
        move_to_device(model, device, shots, diff_method, device_options)
    return model


def count_circuits(model: nn.Module, inputs: torch.Tensor) -> int:
    """Circuit executions ``model(inputs)`` runs: the sum of `QuantumModule.circuit_executions`
    over the inputs each outermost quantum module receives (forward pre-hooks, one forward
    without gradients). ``inputs`` is one batch, ``(B, C, H, W)``."""
    counts: list[int] = []

    def count(module: QuantumModule, args: tuple[torch.Tensor, ...]) -> None:
        counts.append(module.circuit_executions(args[0]))

    hooks = [module.register_forward_pre_hook(count) for module in quantum_modules(model).values()]
    try:
        with torch.no_grad():
            model(inputs)
    finally:
        for hook in hooks:
            hook.remove()
    return sum(counts)
