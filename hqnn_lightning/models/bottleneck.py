"""`BottleneckClassifier`: backbone features squeezed through a narrow layer, the shape that
`HybridVQC` and its control `HybridControl` share."""

from __future__ import annotations

import math

import torch
from torch import nn

from hqnn_lightning.models.backbone_classifier import BackboneClassifier
from hqnn_lightning.models.stages import TrainLastStages


class BottleneckClassifier(BackboneClassifier):
    """Backbone -> projection ``(B, F) -> (B, n_heads * n_qubits)`` -> ``tanh * angle_scale``
    -> bottleneck layer -> ``Linear(n_heads * n_outputs, num_classes)``, plus, with
    ``residual``, a linear shortcut from the backbone features to the logits.

    The projection is ``Linear(F, n_heads * n_qubits)``, or with ``projection_hidden=h``
    ``Linear(F, h) -> ReLU -> Linear(h, n_heads * n_qubits)`` (the study's code: ``h = 128``).
    Subclasses build the bottleneck layer and return it from `bottleneck_layer`: a map
    ``(B, n_heads * n_qubits)`` of angles in ``(-angle_scale, angle_scale)`` to
    ``(B, n_heads * n_outputs)`` values in ``[-1, 1]``.

    Args:
        num_classes: Number of classes.
        n_qubits: Inputs of one head of the bottleneck.
        n_outputs: Outputs of one head of the bottleneck; ``None`` for ``n_qubits``.
        n_heads: Heads side by side, each on its own slice of the projection.
        projection_hidden: Width of the projection's hidden layer (``Linear(F, h)``, ReLU,
            ``Linear(h, n)``, as the study's code has it with 128); ``None`` or 0 for one
            ``Linear(F, n)``.
        angle_scale: The angles are ``tanh(projection) * angle_scale``, radians: ``pi / 2``
            (the library's) or ``pi`` (the study's code).
        residual: A linear path from the backbone features to the logits.
        arch: Backbone name: resnet18, resnet34, resnet50, resnet101,
            resnet152, small_cnn, or a timm model's name.
        backbone_weights: ``"none"``, ``"imagenet"`` or a local checkpoint's path.
        freeze_backbone: Train only what follows the backbone.
        train_last_stages: Train only the backbone's last K stages, the earlier ones frozen
            (``docs/models.md``); 0 is ``freeze_backbone=True``, ``"all"`` full fine-tuning.
        precompute_features: Steps take the frozen part's cached output rather than images;
            needs ``freeze_backbone`` or ``train_last_stages``.
        in_channels: Image channels.
        image_size: Image side in pixels.
        lr: Learning rate, under any optimizer (AdamW unless ``--optimizer``).
        weight_decay: Weight decay of every parameter group, under any optimizer.
        q_lr: Learning rate of the quantum modules' weights; ``None`` uses ``lr``.

    Raises:
        ValueError: ``n_heads``, ``n_qubits`` or ``n_outputs`` below 1, a negative
            ``projection_hidden``, an ``angle_scale`` that is not positive and finite, or
            ``precompute_features`` without a frozen part, or a ``train_last_stages`` that
            does not fit (see `BackboneClassifier`).
    """

    def __init__(
        self,
        num_classes: int,
        n_qubits: int = 6,
        n_outputs: int | None = None,
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
        q_lr: float | None = None,
    ) -> None:
        n_outputs = n_qubits if n_outputs is None else n_outputs
        for name, value in {
            "n_heads": n_heads,
            "n_qubits": n_qubits,
            "n_outputs": n_outputs,
        }.items():
            if value < 1:
                raise ValueError(f"{name} must be at least 1, got {value}")
        check_head_options(projection_hidden, angle_scale)
        super().__init__(
            num_classes=num_classes,
            arch=arch,
            backbone_weights=backbone_weights,
            freeze_backbone=freeze_backbone,
            train_last_stages=train_last_stages,
            precompute_features=precompute_features,
            in_channels=in_channels,
            image_size=image_size,
            lr=lr,
            weight_decay=weight_decay,
            q_lr=q_lr,
        )
        num_features = self.num_features
        self.projection = make_projection(num_features, projection_hidden, n_heads * n_qubits)
        self.angle_scale = angle_scale
        self.classifier = nn.Linear(n_heads * n_outputs, num_classes)
        self.shortcut = nn.Linear(num_features, num_classes) if residual else None

    def bottleneck_layer(self) -> nn.Module:
        """The bottleneck layer, ``(B, n_heads * n_qubits)`` angles ``->
        (B, n_heads * n_outputs)`` values in ``[-1, 1]``."""
        raise NotImplementedError(f"{type(self).__name__} does not define its bottleneck layer")

    def monitored_parts(self) -> dict[str, nn.Module]:
        """``backbone`` (unless a step takes its cached features), ``projection``, ``bottleneck``
        (`bottleneck_layer`: the circuit of a hybrid, the classical layer of a control, one
        name so that the two compare in one column; the monitor tells them apart by
        ``QuantumModule``), ``classifier``, and ``shortcut`` with ``residual``."""
        parts = {"backbone": self.backbone} if self.steps_run_backbone() else {}
        parts |= {
            "projection": self.projection,
            "bottleneck": self.bottleneck_layer(),
            "classifier": self.classifier,
        }
        if self.shortcut is not None:
            parts["shortcut"] = self.shortcut
        return parts

    def classify_features(self, features: torch.Tensor) -> torch.Tensor:
        """Backbone features ``(B, F) -> (B, num_classes)`` logits."""
        angles = torch.tanh(self.projection(features)) * self.angle_scale
        logits = self.classifier(self.bottleneck_layer()(angles))
        return logits if self.shortcut is None else logits + self.shortcut(features)


def check_head_options(projection_hidden: int | None, angle_scale: float) -> None:
    """Refuses, in one line naming the option, a negative ``projection_hidden`` or an
    ``angle_scale`` that is not a positive, finite number of radians.

    Raises:
        ValueError: either is out of range.
    """
    if projection_hidden is not None and projection_hidden < 0:
        raise ValueError(
            f"projection_hidden must be a positive width, or 0 for one Linear layer, got "
            f"{projection_hidden}"
        )
    if not (math.isfinite(angle_scale) and angle_scale > 0):
        raise ValueError(
            f"angle_scale must be a positive, finite number of radians (pi / 2 the library's, "
            f"pi the study's), got {angle_scale}"
        )


def make_projection(num_features: int, hidden: int | None, width: int) -> nn.Module:
    """``(B, num_features) -> (B, width)``: ``Linear(num_features, width)`` when ``hidden`` is
    ``None`` or 0, else ``Linear(num_features, hidden) -> ReLU -> Linear(hidden, width)``."""
    if not hidden:
        return nn.Linear(num_features, width)
    return nn.Sequential(nn.Linear(num_features, hidden), nn.ReLU(), nn.Linear(hidden, width))


class SideBySide(nn.ModuleList):
    """Layers applied to consecutive slices of ``width`` inputs of the last dimension,
    outputs concatenated: ``(..., len(layers) * width) -> (..., sum of their outputs)``."""

    def __init__(self, layers: list[nn.Module], width: int) -> None:
        super().__init__(layers)
        self.width = width

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        slices = inputs.split(self.width, dim=-1)
        return torch.cat([layer(part) for layer, part in zip(self, slices, strict=True)], dim=-1)
