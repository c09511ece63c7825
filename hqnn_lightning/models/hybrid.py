"""HybridVQC: backbone features squeezed into a variational quantum circuit, and its control.

Both models share `BottleneckClassifier`: backbone features -> a narrow projection ->
``tanh * pi / 2`` -> a *bottleneck layer* -> a linear classifier. In `HybridVQC` the
bottleneck layer is the quantum circuit; in `HybridControl` it is a classical layer of
the same width, so that comparing the two measures what the circuit adds or takes away, and
comparing the control with the classical model measures what the narrow projection costs.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from hqnn_lightning.models.backbone_classifier import BackboneClassifier
from hqnn_lightning.models.registry import MODELS
from hqnn_lightning.quantum import VariationalClassifierCircuit, defaults, make_device, make_layer


class BottleneckClassifier(BackboneClassifier):
    """Backbone -> ``Linear(F, n_heads * n_qubits)`` -> ``tanh * pi / 2`` -> bottleneck layer
    -> ``Linear(n_heads * n_qubits, num_classes)``, plus, with ``residual``, a linear shortcut
    from the backbone features to the logits.

    Takes its options from the subclass's arguments: those of `BackboneClassifier`, and
    ``n_qubits`` (width of one head of the bottleneck), ``n_heads`` (heads side by side, each
    on its own slice of the projection) and ``residual``. Subclasses build the bottleneck layer
    that `bottleneck` applies, a map ``(B, n_heads * n_qubits) -> (B, n_heads * n_qubits)``
    of angles in ``(-pi/2, pi/2)`` to values in ``[-1, 1]``.

    Args:
        num_classes: Number of classes.

    Raises:
        ValueError: ``n_heads`` or ``n_qubits`` below 1, or ``precompute_features`` without
            ``freeze_backbone``.
    """

    def __init__(self, num_classes: int) -> None:
        super().__init__(num_classes=num_classes)
        n_heads, width = self.hparams.n_heads, self.hparams.n_qubits
        if n_heads < 1:
            raise ValueError(f"n_heads must be at least 1, got {n_heads}")
        if width < 1:
            raise ValueError(f"n_qubits must be at least 1, got {width}")
        num_features = self.feature_shape[0]
        self.projection = nn.Linear(num_features, n_heads * width)
        self.classifier = nn.Linear(n_heads * width, num_classes)
        self.shortcut = nn.Linear(num_features, num_classes) if self.hparams.residual else None

    def bottleneck(self, angles: torch.Tensor) -> torch.Tensor:
        """``(B, n_heads * n_qubits)`` angles ``-> (B, n_heads * n_qubits)`` values in
        ``[-1, 1]``."""
        raise NotImplementedError(f"{type(self).__name__} does not define its bottleneck layer")

    def monitored_parts(self) -> dict[str, nn.Module]:
        """``backbone`` (unless its features are precomputed), ``projection``, ``bottleneck``
        (the circuit ``quantum`` of a hybrid, the classical layer ``classical`` of a control:
        one name, so that the two compare in one column), ``classifier``, and ``shortcut``
        with ``residual``."""
        bottleneck = self.quantum if hasattr(self, "quantum") else self.classical
        parts = {} if self.hparams.precompute_features else {"backbone": self.backbone}
        parts |= {
            "projection": self.projection,
            "bottleneck": bottleneck,
            "classifier": self.classifier,
        }
        if self.shortcut is not None:
            parts["shortcut"] = self.shortcut
        return parts

    def classify_features(self, features: torch.Tensor) -> torch.Tensor:
        """Backbone features ``(B, F) -> (B, num_classes)`` logits."""
        angles = torch.tanh(self.projection(features)) * (math.pi / 2)
        logits = self.classifier(self.bottleneck(angles))
        return logits if self.shortcut is None else logits + self.shortcut(features)


class SideBySide(nn.ModuleList):
    """Layers applied to consecutive slices of the last dimension, outputs concatenated:
    ``(..., sum of widths) -> (..., sum of widths)``."""

    def __init__(self, layers: list[nn.Module], width: int) -> None:
        super().__init__(layers)
        self.width = width

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        slices = inputs.split(self.width, dim=-1)
        return torch.cat([layer(part) for layer, part in zip(self, slices, strict=True)], dim=-1)


def matched_hidden_width(width: int, parameters: int) -> int:
    """The hidden width ``h >= 1`` of ``Linear(width, h) -> tanh -> Linear(h, width)`` whose
    ``2 * width * h + h + width`` parameters come nearest to ``parameters``."""
    return max(1, round((parameters - width) / (2 * width + 1)))


def circuit_parameters(n_qubits: int, q_depth: int) -> int:
    """Trainable angles of a hybrid's circuit with the default ``q_init="identity"``: the
    ``q_depth`` layers and their mirror."""
    circuit = VariationalClassifierCircuit(n_qubits, q_depth, identity_blocks=True)
    return sum(math.prod(shape) for shape in circuit.weight_shapes.values())


HYBRID_CIRCUIT_PARAMETERS = circuit_parameters(6, 3)
"""Trainable angles of the default hybrid's circuit: 6 qubits, 3 layers and their mirror, 108."""


@MODELS.register("hybrid", control=("hybrid_control", "hybrid_separable", "hybrid_control_matched"))
@MODELS.register("hybrid_separable", entangler="separable")
@MODELS.register("hybrid_tiny", arch="small_cnn", n_qubits=2, q_depth=2)
@MODELS.register(
    "hybrid_separable_tiny", arch="small_cnn", n_qubits=2, q_depth=2, entangler="separable"
)
class HybridVQC(BottleneckClassifier):
    """The study's hybrid: features -> ``n_qubits`` angles -> circuit -> classes.

    ``(B, C, H, W)`` images go through the backbone to ``(B, F)`` features (``F = 2048`` for
    ResNet-50), a linear projection to ``(B, n_qubits)``, ``tanh(.) * pi / 2`` to angles in
    ``(-pi/2, pi/2)``, the `VariationalClassifierCircuit` to ``(B, n_qubits)``
    expectation values in ``[-1, 1]``, and a linear layer to ``(B, num_classes)`` logits. The
    ``F -> n_qubits`` projection is the bottleneck the study blamed for the hybrid's collapse;
    ``n_heads`` circuits side by side, data re-uploading (``reupload``) and a ``residual``
    classical path are ways around it. ``encoding`` and ``q_init`` decide whether it trains at
    all (``docs/trainability.md``). Registered as ``hybrid``, and as ``hybrid_separable``
    (``entangler="separable"``: the same rotations without any two-qubit gate), one of its two
    controls with `HybridControl`.

    Args:
        num_classes: Number of classes.
        n_qubits: Qubits of each circuit, and width of each head (6 in the study).
        q_depth: Trainable layers of the circuit.
        entangler: ``"strong"`` (StronglyEntanglingLayers), ``"basic"``
            (BasicEntanglerLayers) or ``"separable"`` (the rotations of ``"strong"``, no
            entangling gate).
        encoding: How each angle enters its qubit: ``"hadamard_ry"`` (a Hadamard then RY,
            which keeps the angle's sign in ``<Z>``; the default, chosen by
            ``docs/trainability.md``), ``"ry"`` (the study's RY on ``|0>``, which loses it) or
            ``"rx"``.
        identity_blocks: Follow the circuit's layers by their mirror image (twice the layers;
            needs ``q_depth >= 2`` and no ``reupload``; the default, chosen by
            ``docs/trainability.md``); ``false`` for the study's circuit.
        readout: What the circuit measures: ``"z"``, ``<Z>`` of every wire.
        q_init: How the circuit's weights start: ``"identity"`` (the mirror undoes the
            layers, so the circuit starts as the identity; needs ``identity_blocks``; the
            default, chosen by ``docs/trainability.md``), ``"normal"`` with standard deviation
            ``q_init_scale``, or ``"uniform"`` in ``[0, 2 pi)`` (PennyLane's default, the
            study's).
        q_init_scale: Standard deviation of ``q_init="normal"``, radians.
        q_lr: AdamW learning rate of the circuit's weights; ``None`` uses ``lr``.
        reupload: Encode the angles again before every trainable layer (data re-uploading),
            another way to get more out of a narrow bottleneck.
        q_device: ``"torch"`` (the exact torch simulator, fastest; see
            ``docs/quantum_backends.md``) or a PennyLane device name (``"default.qubit"``,
            ``"lightning.qubit"``), needed for shots.
        shots: ``None`` for exact expectation values, else samples per circuit.
        q_diff_method: Overrides the device's default diff method.
        q_device_options: Options of the PennyLane device (``{"noise": "depolarizing",
            "noise_strength": 0.01}`` on ``default.mixed``, ``{"fake_backend": "FakeManilaV2"}``
            on ``qiskit.aer``, ``{"device_arn": ...}`` on ``braket.aws.qubit``; see
            ``docs/devices.md``).
        n_heads: Independent circuits side by side, each on its own ``n_qubits`` angles.
        residual: A linear path from the backbone features to the logits, around the circuit.
        arch: Backbone name: one of ``backbones.BACKBONES``, or a timm model
            (``efficientnet_lite0``).
        backbone_weights: ``"none"``, ``"imagenet"`` or a local checkpoint's path (see
            ``create_backbone``).
        freeze_backbone: Train only the projection, the circuit and the classifier.
        precompute_features: Steps take cached backbone features ``(B, F)`` rather than images
            (see ``FeatureCacheDataModule``); needs ``freeze_backbone``. ``forward`` still
            takes images.
        in_channels: Image channels.
        image_size: Image side in pixels (below 64 a ResNet gets a small-image stem).
        lr: AdamW learning rate.
        weight_decay: AdamW weight decay.

    Raises:
        ValueError: ``n_heads`` below 1, or ``precompute_features`` without
            ``freeze_backbone``.
    """

    def __init__(
        self,
        num_classes: int,
        n_qubits: int = 6,
        q_depth: int = 3,
        entangler: str = defaults.ENTANGLER,
        encoding: str = defaults.ENCODING,
        identity_blocks: bool = defaults.IDENTITY_BLOCKS,
        readout: str = defaults.READOUT,
        q_init: str = defaults.INIT,
        q_init_scale: float = defaults.INIT_SCALE,
        q_lr: float | None = None,
        reupload: bool = False,
        q_device: str = "torch",
        shots: int | None = None,
        q_diff_method: str | None = None,
        q_device_options: dict[str, Any] | None = None,
        n_heads: int = 1,
        residual: bool = False,
        arch: str = "resnet50",
        backbone_weights: str = "none",
        freeze_backbone: bool = False,
        precompute_features: bool = False,
        in_channels: int = 3,
        image_size: int = 224,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
    ) -> None:
        super().__init__(num_classes=num_classes)
        circuit = VariationalClassifierCircuit(
            n_qubits, q_depth, entangler, encoding, reupload, identity_blocks, readout
        )
        device = make_device(q_device, n_qubits, shots, q_diff_method, **(q_device_options or {}))
        layers = [make_layer(circuit, device, q_init, q_init_scale) for _ in range(n_heads)]
        self.quantum = layers[0] if n_heads == 1 else SideBySide(layers, n_qubits)

    def bottleneck(self, angles: torch.Tensor) -> torch.Tensor:
        return self.quantum(angles)

    def check_checkpoint_fits(self, checkpoint: dict[str, Any]) -> None:
        """Refuses a checkpoint whose circuit has no identity blocks for a model built with them
        (or the reverse), naming the option to load it with: checkpoints made before
        ``q_init`` existed hold the study's circuit.

        Raises:
            ValueError: the checkpoint's and the model's circuits differ in their blocks.
        """
        saved, expected = set(checkpoint.get("state_dict", {})), set(self.state_dict())
        mirrors = {key for key in saved | expected if key.endswith("mirror_weights")}
        if saved - mirrors == expected - mirrors and saved & mirrors != expected & mirrors:
            # The same model but for the mirror layers: another structure, not another model.
            has = bool(saved & mirrors)
            raise ValueError(
                f"the checkpoint's circuit {'has' if has else 'has no'} identity blocks but this "
                f"model was built with identity_blocks={self.hparams.identity_blocks}: load it "
                f"with identity_blocks={has} (--identity-blocks {str(has).lower()}; to --resume "
                "a run, in its config.yaml); checkpoints made before q_init existed are the "
                "study's circuit, identity_blocks false, q_init 'uniform' with encoding 'ry'"
            )


@MODELS.register("hybrid_control")
@MODELS.register("hybrid_control_matched", bottleneck_parameters=HYBRID_CIRCUIT_PARAMETERS)
@MODELS.register("hybrid_control_tiny", arch="small_cnn", n_qubits=2)
@MODELS.register(
    "hybrid_control_matched_tiny",
    arch="small_cnn",
    n_qubits=2,
    bottleneck_parameters=circuit_parameters(2, 2),  # hybrid_tiny's circuit
)
class HybridControl(BottleneckClassifier):
    """`HybridVQC` with each circuit replaced by ``tanh(Linear(n_qubits, n_qubits))``, or, with
    ``bottleneck_parameters``, by a classical layer with as many trainable parameters as a
    circuit.

    The same backbone, projection, angles, width, heads, shortcut and classifier; the
    bottleneck layer is classical, with values in ``[-1, 1]`` like the circuit's expectation
    values. ``n_qubits`` is the width of each head, named as the hybrid's so that the same
    options build both. Registered as ``hybrid_control`` (same width: 42 parameters per 6-wide
    head against the default circuit's 108) and ``hybrid_control_matched`` (same width and
    about the same parameters: ``tanh(Linear(8, 6)(tanh(Linear(6, 8))))``, 110).

    Args:
        num_classes: Number of classes.
        n_qubits: Width of each head.
        bottleneck_parameters: ``None`` for ``tanh(Linear(n_qubits, n_qubits))``; else the
            parameter count of one head's circuit, matched (to within ``2 * n_qubits + 1``) by
            ``tanh(Linear(h, n_qubits)(tanh(Linear(n_qubits, h))))``, ``h`` from
            `matched_hidden_width`.
        n_heads: Heads side by side.
        residual: A linear path from the backbone features to the logits.
        arch: Backbone name: one of ``backbones.BACKBONES``, or a timm model
            (``efficientnet_lite0``).
        backbone_weights: ``"none"``, ``"imagenet"`` or a local checkpoint's path (see
            ``create_backbone``).
        freeze_backbone: Train only what follows the backbone.
        precompute_features: Steps take cached backbone features ``(B, F)`` rather than images
            (see ``FeatureCacheDataModule``); needs ``freeze_backbone``. ``forward`` still
            takes images.
        in_channels: Image channels.
        image_size: Image side in pixels (below 64 a ResNet gets a small-image stem).
        lr: AdamW learning rate.
        weight_decay: AdamW weight decay.

    Raises:
        ValueError: ``n_heads``, ``n_qubits`` or ``bottleneck_parameters`` below 1, or
            ``precompute_features`` without ``freeze_backbone``.
    """

    def __init__(
        self,
        num_classes: int,
        n_qubits: int = 6,
        bottleneck_parameters: int | None = None,
        n_heads: int = 1,
        residual: bool = False,
        arch: str = "resnet50",
        backbone_weights: str = "none",
        freeze_backbone: bool = False,
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
        super().__init__(num_classes=num_classes)
        layers = [_classical_head(n_qubits, bottleneck_parameters) for _ in range(n_heads)]
        self.classical = layers[0] if n_heads == 1 else SideBySide(layers, n_qubits)

    def bottleneck(self, angles: torch.Tensor) -> torch.Tensor:
        return self.classical(angles)


def _classical_head(width: int, parameters: int | None) -> nn.Sequential:
    """One head of `HybridControl`: ``(B, width) -> (B, width)`` values in ``[-1, 1]``."""
    if parameters is None:
        return nn.Sequential(nn.Linear(width, width), nn.Tanh())
    hidden = matched_hidden_width(width, parameters)
    return nn.Sequential(nn.Linear(width, hidden), nn.Tanh(), nn.Linear(hidden, width), nn.Tanh())
