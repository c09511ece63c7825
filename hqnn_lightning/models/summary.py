"""Parameter counts split into classical and quantum parts."""

from __future__ import annotations

from torch import nn

from hqnn_lightning.quantum import ExpansionQuanvolution, QuantumLayer, TorchStatevectorLayer


def parameter_counts(model: nn.Module) -> dict[str, int]:
    """Numbers of parameters of ``model``, whether trainable or frozen.

    Returns:
        ``{"classical": ..., "quantum": ..., "trainable": ...}``; ``quantum`` counts the weights
        of its `QuantumLayer`, `TorchStatevectorLayer` and
        `ExpansionQuanvolution` modules (circuit angles).
    """
    total = sum(p.numel() for p in model.parameters())
    quantum = sum(p.numel() for p in quantum_parameters(model))
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    return {"classical": total - quantum, "quantum": quantum, "trainable": trainable}


def quantum_parameters(model: nn.Module) -> list[nn.Parameter]:
    """The circuits' weights (angles, radians): the parameters of ``model``'s
    `QuantumLayer`, `TorchStatevectorLayer` and `ExpansionQuanvolution` modules."""
    return [
        p
        for module in model.modules()
        if isinstance(module, QuantumLayer | TorchStatevectorLayer | ExpansionQuanvolution)
        for p in module.parameters()
    ]
