"""Parameter counts split into classical and quantum parts."""

from __future__ import annotations

from torch import nn

from hqnn_lightning.quantum.module import quantum_parameters


def parameter_counts(model: nn.Module) -> dict[str, int]:
    """Numbers of parameters of ``model``, whether trainable or frozen.

    Returns:
        ``{"classical": ..., "quantum": ..., "trainable": ...}``; ``quantum`` counts the weights
        of its quantum modules (`quantum_modules`: circuit angles).
    """
    total = sum(p.numel() for p in model.parameters())
    quantum = sum(p.numel() for p in quantum_parameters(model))
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {"classical": total - quantum, "quantum": quantum, "trainable": trainable}


__all__ = ["parameter_counts", "quantum_parameters"]
