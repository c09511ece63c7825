"""HybridFourier: `HybridVQC` with the circuit replaced by a linear layer on the Fourier
features of its angles, the classical twin of the circuit's function class."""

from __future__ import annotations

import math
from typing import Any

from torch import nn

from hqnn_lightning.models.bottleneck import BottleneckClassifier, SideBySide
from hqnn_lightning.models.fourier_features import (
    MAX_FOURIER_FEATURES,
    FourierFeatures,
    default_order,
    feature_count,
)
from hqnn_lightning.models.hybrid import (
    STUDY_CIRCUIT,
    STUDY_HEAD,
    STUDY_TINY,
    circuit_weight_count,
)
from hqnn_lightning.models.registry import MODELS
from hqnn_lightning.models.stages import TrainLastStages
from hqnn_lightning.quantum import VariationalClassifierCircuit
from hqnn_lightning.quantum import defaults as quantum_defaults

TWINNED_CIRCUIT_OPTIONS = (
    "n_qubits",
    "q_depth",
    "entangler",
    "reupload",
    "identity_blocks",
    "readout",
)
"""The circuit options `HybridFourier` takes: those of `HybridVQC` but ``encoding`` (every
registered encoding is one Pauli rotation per angle, so all have the same frequencies) and
the weights' initialisation and device. The report pairs a hybrid with the twin of equal
values of these."""

STUDY_TWIN: dict[str, Any] = {
    name: value for name, value in STUDY_CIRCUIT.items() if name in TWINNED_CIRCUIT_OPTIONS
}
"""The study's circuit (`STUDY_CIRCUIT`) as far as its twin takes it."""


def encodings_per_angle(circuit: VariationalClassifierCircuit) -> int:
    """How many times the circuit encodes each angle, its outputs' highest frequency in it:
    ``q_depth`` with data re-uploading, else 1 (identity blocks add no encoding)."""
    return circuit.q_depth if circuit.reupload else 1


@MODELS.register("hybrid_fourier")
@MODELS.register("hybrid_fourier_tiny", arch="small_cnn", n_qubits=2, q_depth=2)
@MODELS.register("hybrid_study_fourier", **STUDY_HEAD, **STUDY_TWIN)
@MODELS.register("hybrid_study_fourier_tiny", **(STUDY_HEAD | STUDY_TINY), **STUDY_TWIN)
class HybridFourier(BottleneckClassifier):
    """`HybridVQC` with each circuit replaced by ``Linear(n_features, n_outputs)`` on the
    Fourier features of its angles (`FourierFeatures`): the classical model of the circuit's
    own function class (Schuld, Sweke and Meyer 2021; as a trained classical surrogate,
    Landman et al. 2022 and Sweke et al. 2025).

    The same backbone, projection, ``tanh * angle_scale`` angles, heads, shortcut and
    classifier as the hybrid it twins. Each head maps its ``(B, n_qubits)`` angles to
    ``cos(k x_i)``, ``sin(k x_i)`` (``k`` up to the number of times the circuit encodes
    each angle: 1, or ``q_depth`` with ``reupload``), multiplied across up to
    ``fourier_order`` qubits, then linearly to ``(B, n_outputs)``, the width of the circuit's
    read-out. At ``fourier_order = n_qubits`` every output of the circuit, whatever its
    weights, is one setting of that linear layer (tested to 1e-10 against the library's
    simulator); unlike the circuit's, its values are not bounded to ``[-1, 1]``. It runs no
    simulation. Registered as ``hybrid_fourier`` (the default hybrid's twin) and
    ``hybrid_study_fourier`` (`hybrid_study`'s).

    Args:
        num_classes: Number of classes.
        n_qubits: Qubits of the circuit it twins: angles, and width, of each head.
        q_depth: Trainable layers of the circuit (the highest frequency with ``reupload``;
            with identity blocks, its parameter count).
        entangler: The circuit's entangler (its parameter count only).
        reupload: The circuit re-encodes the angles before each of its ``q_depth`` layers.
        identity_blocks: The circuit's layers are followed by their mirror (its parameter
            count only); as for the hybrid, not with ``reupload``.
        readout: The circuit's read-out, whose width is the layer's output width.
        fourier_order: Most qubits a product of features spans: 1 is a sum of functions of
            one angle each (the span of the ``"separable"`` circuit's ``<Z>``), ``n_qubits``
            the whole span; ``None`` (the default) for the highest order with at most 6,560
            features: the whole span up to 8 qubits.
        n_heads: Heads side by side.
        projection_hidden: Width of a hidden layer in the projection; ``None`` or 0 for one
            ``Linear``.
        angle_scale: The angles are ``tanh(projection) * angle_scale``, radians.
        residual: A linear path from the backbone features to the logits.
        arch: Backbone name: resnet18, resnet34, resnet50, resnet101,
            resnet152, small_cnn, or a timm model's name.
        backbone_weights: ``"none"``, ``"imagenet"`` or a local checkpoint's path.
        freeze_backbone: Train only what follows the backbone.
        train_last_stages: Train only the backbone's last K stages (``docs/models.md``).
        precompute_features: Steps take the frozen part's cached output rather than images.
        in_channels: Image channels.
        image_size: Image side in pixels.
        lr: Learning rate, under any optimizer.
        weight_decay: Weight decay of every parameter group, under any optimizer.

    Attributes:
        circuit_parameters: Trainable angles of one head's circuit, the one it twins.
        spans_circuit: Whether every output of that circuit is one setting of a head
            (``fourier_order = n_qubits``).

    Raises:
        ValueError: a circuit the hybrid refuses, a ``fourier_order`` outside
            ``1..n_qubits`` or with more than `MAX_FOURIER_FEATURES` features, or what
            `BottleneckClassifier` refuses.
    """

    def __init__(
        self,
        num_classes: int,
        n_qubits: int = 6,
        q_depth: int = 3,
        entangler: str = quantum_defaults.ENTANGLER,
        reupload: bool = False,
        identity_blocks: bool = quantum_defaults.IDENTITY_BLOCKS,
        readout: str = quantum_defaults.READOUT,
        fourier_order: int | None = None,
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
        values = (n_qubits, q_depth, entangler, reupload, identity_blocks, readout)
        circuit = VariationalClassifierCircuit(
            **dict(zip(TWINNED_CIRCUIT_OPTIONS, values, strict=True))
        )
        degree = encodings_per_angle(circuit)
        order = default_order(n_qubits, degree) if fourier_order is None else fourier_order
        _check_order(n_qubits, degree, order)
        super().__init__(
            num_classes=num_classes,
            n_qubits=n_qubits,
            n_outputs=circuit.n_outputs,
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
        self.circuit_parameters = circuit_weight_count(circuit)
        self.spans_circuit = order == n_qubits
        heads = [_fourier_head(n_qubits, degree, order, circuit.n_outputs) for _ in range(n_heads)]
        self.fourier = heads[0] if n_heads == 1 else SideBySide(heads, n_qubits)

    @property
    def twin_parameters(self) -> int:
        """Trainable parameters of one head, ``(n_features + 1) * n_outputs``."""
        head = self.fourier if isinstance(self.fourier, nn.Sequential) else self.fourier[0]
        return sum(p.numel() for p in head.parameters())

    @property
    def matches_circuit_parameters(self) -> bool:
        """Whether a head has as many parameters as the circuit it twins. The feature set
        fixes the count, ``(n_features + 1) * n_outputs``: for the default hybrid (6 qubits,
        108 angles) 4,374 at the whole span, 78 at order 1, so it does not."""
        return self.twin_parameters == self.circuit_parameters

    def bottleneck_layer(self) -> nn.Module:
        """The twin (``fourier``), or ``n_heads`` of them side by side."""
        return self.fourier


def _fourier_head(n_qubits: int, degree: int, order: int, n_outputs: int) -> nn.Sequential:
    """One head of `HybridFourier`: ``(B, n_qubits)`` angles ``-> (B, n_outputs)``."""
    features = FourierFeatures(n_qubits, degree, order)
    return nn.Sequential(features, nn.Linear(features.n_features, n_outputs))


def _check_order(n_qubits: int, degree: int, order: int) -> None:
    """Refuses an order with more than `MAX_FOURIER_FEATURES` features (`FourierFeatures`
    refuses one outside ``1..n_qubits``)."""
    count = feature_count(n_qubits, degree, order)
    if count > MAX_FOURIER_FEATURES:
        raise ValueError(
            f"fourier_order={order} gives {count:,} features at n_qubits={n_qubits} and "
            f"frequencies up to {degree}, more than {MAX_FOURIER_FEATURES:,}: give at most "
            f"--fourier-order {default_order(n_qubits, degree)}"
        )
