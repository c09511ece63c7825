"""HybridVQC: backbone features squeezed into a variational quantum circuit."""

from __future__ import annotations

import math

import torch
from torch import nn

from hqnn_lightning.models.backbones import create_backbone
from hqnn_lightning.models.base import ImageClassifier
from hqnn_lightning.models.registry import MODELS
from hqnn_lightning.quantum import VariationalClassifierCircuit, quantum_layer


@MODELS.register("hybrid")
@MODELS.register("hybrid_tiny", arch="small_cnn", n_qubits=2, q_depth=1)
class HybridVQC(ImageClassifier):
    """The study's hybrid: features -> ``n_qubits`` angles -> circuit -> classes.

    ``(B, C, H, W)`` images go through the backbone to ``(B, F)`` features (``F = 2048`` for
    ResNet-50), a linear projection to ``(B, n_qubits)``, ``tanh(.) * pi / 2`` to angles in
    ``(-pi/2, pi/2)``, the :class:`VariationalClassifierCircuit` to ``(B, n_qubits)``
    expectation values in ``[-1, 1]``, and a linear layer to ``(B, num_classes)`` logits. The
    ``F -> n_qubits`` projection is the bottleneck the study blamed for the hybrid's collapse.

    Args:
        num_classes: Number of classes.
        n_qubits: Qubits of the circuit, and width of the bottleneck (6 in the study).
        q_depth: Entangling layers of the circuit.
        entangler: ``"strong"`` (StronglyEntanglingLayers) or ``"basic"``.
        q_device: ``"torch"`` (the exact torch simulator, fastest; see
            ``docs/quantum_backends.md``) or a PennyLane device name (``"default.qubit"``,
            ``"lightning.qubit"``), needed for shots.
        shots: ``None`` for exact expectation values, else samples per circuit.
        q_diff_method: Overrides the device's default diff method.
        arch: Backbone name.
        pretrained: Start the backbone from torchvision's ImageNet weights.
        weights_path: Local backbone weights file, for machines without internet.
        freeze_backbone: Train only the projection, the circuit and the classifier.
        in_channels: Image channels.
        image_size: Image side in pixels.
        lr: AdamW learning rate.
        weight_decay: AdamW weight decay.
    """

    def __init__(
        self,
        num_classes: int,
        n_qubits: int = 6,
        q_depth: int = 3,
        entangler: str = "strong",
        q_device: str = "torch",
        shots: int | None = None,
        q_diff_method: str | None = None,
        arch: str = "resnet50",
        pretrained: bool = False,
        weights_path: str | None = None,
        freeze_backbone: bool = False,
        in_channels: int = 3,
        image_size: int = 224,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
    ) -> None:
        super().__init__(num_classes)
        self.save_hyperparameters()
        self.backbone, num_features = create_backbone(
            arch, pretrained, weights_path, in_channels, image_size
        )
        self.projection = nn.Linear(num_features, n_qubits)
        self.quantum = quantum_layer(
            VariationalClassifierCircuit(n_qubits, q_depth, entangler),
            device=q_device,
            shots=shots,
            diff_method=q_diff_method,
        )
        self.classifier = nn.Linear(n_qubits, num_classes)
        if freeze_backbone:
            self.freeze_module(self.backbone)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W) -> (B, num_classes)`` logits."""
        angles = torch.tanh(self.projection(self.backbone(images))) * (math.pi / 2)
        return self.classifier(self.quantum(angles))
