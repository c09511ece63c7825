"""HybridControl: `HybridVQC` with a classical layer of the same width in the circuit's place."""

from __future__ import annotations

import math

from torch import nn

from hqnn_lightning.models.bottleneck import BottleneckClassifier, SideBySide
from hqnn_lightning.models.hybrid import (
    HYBRID_CIRCUIT_PARAMETERS,
    STUDY_HEAD,
    STUDY_TINY,
    circuit_parameters,
)
from hqnn_lightning.models.registry import MODELS
from hqnn_lightning.models.stages import TrainLastStages
from hqnn_lightning.quantum import READOUTS
from hqnn_lightning.quantum import defaults as quantum_defaults


def matched_hidden_width(width: int, parameters: int, outputs: int | None = None) -> int:
    """The hidden width ``h >= 1`` of ``Linear(width, h) -> tanh -> Linear(h, outputs)``
    (``outputs`` defaults to ``width``) whose ``(width + outputs + 1) * h + outputs``
    parameters come nearest to ``parameters``; 1 when even ``h = 1`` has more."""
    outputs = width if outputs is None else outputs
    return max(1, round((parameters - outputs) / (width + outputs + 1)))


@MODELS.register("hybrid_control")
@MODELS.register("hybrid_control_matched", bottleneck_parameters=HYBRID_CIRCUIT_PARAMETERS)
@MODELS.register("hybrid_control_tiny", arch="small_cnn", n_qubits=2)
@MODELS.register(
    "hybrid_control_matched_tiny",
    arch="small_cnn",
    n_qubits=2,
    bottleneck_parameters=circuit_parameters(2, 2),  # hybrid_tiny's circuit
)
@MODELS.register("hybrid_study_control", **STUDY_HEAD)
@MODELS.register("hybrid_study_control_tiny", **(STUDY_HEAD | STUDY_TINY))
class HybridControl(BottleneckClassifier):
    """`HybridVQC` with each circuit replaced by ``tanh(Linear(n_qubits, m))``, or, with
    ``bottleneck_parameters``, by a classical layer with as many trainable parameters as a
    circuit; ``m`` is the width of the hybrid's read-out (``readout``: ``n_qubits`` for
    ``"z"``).

    The same backbone, projection, angles, widths, heads, shortcut and classifier; the
    bottleneck layer is classical, with values in ``[-1, 1]`` like the circuit's expectation
    values. ``n_qubits`` is the input width of each head and ``readout`` names its output
    width, named as the hybrid's so that the same options build both. Registered as
    ``hybrid_control`` (same widths: 42 parameters per 6-wide head with ``"z"`` against the
    default circuit's 108) and ``hybrid_control_matched`` (same widths and about the same
    parameters: with ``"z"`` ``tanh(Linear(8, 6)(tanh(Linear(6, 8))))``, 110), and as
    ``hybrid_study_control``: ``tanh(Linear(6, 6))`` after the study's head (`STUDY_HEAD`),
    `hybrid_study`'s control.

    Args:
        num_classes: Number of classes.
        n_qubits: Input width of each head.
        bottleneck_parameters: ``None`` for ``tanh(Linear(n_qubits, m))``; else the
            parameter count of one head's circuit, matched (to within ``(n_qubits + m + 1) / 2``,
            or by the smallest such layer, ``h = 1``, when that has more) by
            ``tanh(Linear(h, m)(tanh(Linear(n_qubits, h))))``, ``h`` the width that matches best.
        readout: The hybrid's read-out, a name of the read-outs' registry, whose width
            ``m = READOUTS.get(readout).n_outputs(n_qubits)`` each head outputs (``"z"``: ``n``,
            ``"zz"``: ``n + n(n-1)/2``, ``"probs"``: ``2^n``).
        n_heads: Heads side by side.
        projection_hidden: Width of a hidden layer in the projection (``Linear(F, h)``, ReLU,
            ``Linear(h, n_heads * n_qubits)``; the study's code: 128); ``None`` or 0 for one
            ``Linear``.
        angle_scale: The control's inputs are ``tanh(projection) * angle_scale``, radians, as
            the hybrid's angles: ``pi / 2`` (the library's) or ``pi`` (the study's code).
        residual: A linear path from the backbone features to the logits.
        arch: Backbone name: resnet18, resnet34, resnet50, resnet101,
            resnet152, small_cnn, or a timm model's name
            (``efficientnet_lite0``).
        backbone_weights: ``"none"``, ``"imagenet"`` or a local checkpoint's path.
        freeze_backbone: Train only what follows the backbone.
        train_last_stages: Train only the backbone's last K stages, the earlier ones frozen
            (``docs/models.md``); 0 is ``freeze_backbone=True``, ``"all"`` full fine-tuning.
        precompute_features: Steps take the frozen part's cached output rather than images
            (see ``FeatureCacheDataModule``); needs ``freeze_backbone`` or
            ``train_last_stages``. ``forward`` still takes images.
        in_channels: Image channels.
        image_size: Image side in pixels (below 64 a ResNet gets a small-image stem).
        lr: Learning rate, under any optimizer (AdamW unless ``--optimizer``).
        weight_decay: Weight decay of every parameter group, under any optimizer.

    Raises:
        ValueError: ``n_heads``, ``n_qubits`` or ``bottleneck_parameters`` below 1, or
            ``precompute_features`` without a frozen part, or a ``train_last_stages`` that
            does not fit (see `BackboneClassifier`).
    """

    def __init__(
        self,
        num_classes: int,
        n_qubits: int = 6,
        bottleneck_parameters: int | None = None,
        readout: str = quantum_defaults.READOUT,
        n_heads: int = 1,
        projection_hidden: int | None = None,
        angle_scale: float = math.pi / 2,
        residual: bool = False,
        arch: str = "resnet50",
        backbone_weights: str = "none",
        freeze_backbone: bool = False,
        train_last_stages: TrainLastStages = None,
        precompute_features: bool = False,
        in_channels: int = 3,
        image_size: int = 224,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
    ) -> None:
        if bottleneck_parameters is not None and bottleneck_parameters < 1:
            raise ValueError(
                f"bottleneck_parameters must be at least 1, got {bottleneck_parameters}"
            )
        width = READOUTS.get(readout).n_outputs(n_qubits)
        super().__init__(
            num_classes=num_classes,
            n_qubits=n_qubits,
            n_outputs=width,
            n_heads=n_heads,
            projection_hidden=projection_hidden,
            angle_scale=angle_scale,
            residual=residual,
            arch=arch,
            backbone_weights=backbone_weights,
            freeze_backbone=freeze_backbone,
            train_last_stages=train_last_stages,
            precompute_features=precompute_features,
            in_channels=in_channels,
            image_size=image_size,
            lr=lr,
            weight_decay=weight_decay,
        )
        layers = [_classical_head(n_qubits, width, bottleneck_parameters) for _ in range(n_heads)]
        self.classical = layers[0] if n_heads == 1 else SideBySide(layers, n_qubits)

    def bottleneck_layer(self) -> nn.Module:
        """The classical layer (``classical``), or ``n_heads`` of them side by side."""
        return self.classical


def _classical_head(width: int, outputs: int, parameters: int | None) -> nn.Sequential:
    """One head of `HybridControl`: ``(B, width) -> (B, outputs)`` values in ``[-1, 1]``."""
    if parameters is None:
        return nn.Sequential(nn.Linear(width, outputs), nn.Tanh())
    hidden = matched_hidden_width(width, parameters, outputs)
    return nn.Sequential(nn.Linear(width, hidden), nn.Tanh(), nn.Linear(hidden, outputs), nn.Tanh())
