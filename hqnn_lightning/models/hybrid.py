"""HybridVQC: backbone features squeezed into a variational quantum circuit.

It is a `BottleneckClassifier`: backbone features -> a narrow projection -> ``tanh * pi / 2``
-> the circuit -> a linear classifier. Its control `HybridControl` has a classical layer of the
same width in the circuit's place, so that comparing the two measures what the circuit adds or
takes away.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from torch import nn

from hqnn_lightning.models.bottleneck import BottleneckClassifier, SideBySide
from hqnn_lightning.models.circuit_arguments import passed_again, refuse_conflicting_options
from hqnn_lightning.models.registry import MODELS
from hqnn_lightning.models.stages import TrainLastStages
from hqnn_lightning.preflight.circuit_shapes import hybrid_problem
from hqnn_lightning.quantum import (
    QuantumCircuit,
    VariationalClassifierCircuit,
    make_device,
    make_layer,
)
from hqnn_lightning.quantum import defaults as quantum_defaults

LIBRARY_CIRCUIT_OPTIONS = (
    "n_qubits",
    "q_depth",
    "entangler",
    "encoding",
    "reupload",
    "identity_blocks",
    "readout",
)
"""`HybridVQC`'s arguments that describe the library's circuit, its
`VariationalClassifierCircuit` fields in their order: they conflict with a ``circuit``
object."""


def circuit_parameters(
    n_qubits: int, q_depth: int, identity_blocks: bool = quantum_defaults.IDENTITY_BLOCKS
) -> int:
    """Trainable angles of a hybrid's circuit: the ``q_depth`` layers, and their mirror with
    ``identity_blocks`` (the default)."""
    return circuit_weight_count(
        VariationalClassifierCircuit(n_qubits, q_depth, identity_blocks=identity_blocks)
    )


def circuit_weight_count(circuit: QuantumCircuit) -> int:
    """Trainable angles of ``circuit``: the sizes of its ``weight_shapes``."""
    return sum(math.prod(shape) for shape in circuit.weight_shapes.values())


HYBRID_CIRCUIT_PARAMETERS = circuit_parameters(6, 3)
"""Trainable angles of the default hybrid's circuit: 6 qubits, 3 layers and (with the default
identity blocks) their mirror, 108."""


STUDY_HEAD: dict[str, Any] = {"n_qubits": 6, "projection_hidden": 128, "angle_scale": math.pi}
"""The head of the study's code, shared by `hybrid_study` and its controls: backbone features
-> ``Linear(F, 128)`` -> ReLU -> ``Linear(128, 6)`` -> ``tanh * pi``."""

STUDY_CIRCUIT: dict[str, Any] = {
    "q_depth": 2,
    "entangler": "strong",
    "encoding": "rx",
    "identity_blocks": False,
    "readout": "z",
    "q_init": "uniform",
}
"""The circuit of the study's code: PennyLane's ``AngleEmbedding`` (its default rotation, RX),
two ``StronglyEntanglingLayers`` with weights uniform in ``[0, 2 pi)`` (``TorchLayer``'s
default), ``<Z>`` of every wire; no Hadamard, no identity blocks."""

STUDY_TINY: dict[str, Any] = {"arch": "small_cnn", "n_qubits": 2, "projection_hidden": 8}
"""The ``*_tiny`` variants' changes to the study's model, for tests."""


@MODELS.register(
    "hybrid",
    control=("hybrid_control", "hybrid_separable", "hybrid_control_matched", "hybrid_fourier"),
)
@MODELS.register("hybrid_separable", entangler="separable")
@MODELS.register("hybrid_tiny", arch="small_cnn", n_qubits=2, q_depth=2)
@MODELS.register(
    "hybrid_separable_tiny", arch="small_cnn", n_qubits=2, q_depth=2, entangler="separable"
)
@MODELS.register(
    "hybrid_study",
    control=("hybrid_study_control", "hybrid_study_separable", "hybrid_study_fourier"),
    **STUDY_HEAD,
    **STUDY_CIRCUIT,
)
@MODELS.register(
    "hybrid_study_separable", **STUDY_HEAD, **(STUDY_CIRCUIT | {"entangler": "separable"})
)
@MODELS.register("hybrid_study_tiny", **(STUDY_HEAD | STUDY_TINY), **STUDY_CIRCUIT)
@MODELS.register(
    "hybrid_study_separable_tiny",
    **(STUDY_HEAD | STUDY_TINY),
    **(STUDY_CIRCUIT | {"entangler": "separable"}),
)
class HybridVQC(BottleneckClassifier):
    """The study's hybrid: features -> ``n_qubits`` angles -> circuit -> classes.

    ``(B, C, H, W)`` images go through the backbone to ``(B, F)`` features (``F = 2048`` for
    ResNet-50), a linear projection to ``(B, n_qubits)`` (with a hidden layer of width
    ``projection_hidden``, if given), ``tanh(.) * angle_scale`` to angles in
    ``(-angle_scale, angle_scale)`` (default ``pi / 2``), the circuit to ``(B, n_outputs)``
    values of its read-out (``<Z>`` of every wire by default, in ``[-1, 1]``), and a linear
    layer to ``(B, num_classes)`` logits. The ``F -> n_qubits`` projection is the bottleneck
    the study blamed for the hybrid's collapse; ``n_heads`` circuits side by side, data
    re-uploading (``reupload``) and a ``residual`` classical path are ways around it.
    ``encoding``, ``identity_blocks`` and ``q_init`` decide whether it trains at all
    (``docs/trainability.md``). Registered as ``hybrid``, and as ``hybrid_separable``
    (``entangler="separable"``: the same rotations without any two-qubit gate), one of its
    controls with `HybridControl`; and as ``hybrid_study``, the model of the study's code
    (`STUDY_HEAD`, `STUDY_CIRCUIT`), whose controls are ``hybrid_study_separable`` and
    ``hybrid_study_control``.

    The circuit is the library's `VariationalClassifierCircuit` built from ``n_qubits``,
    ``q_depth``, ``entangler``, ``encoding``, ``reupload`` and ``identity_blocks``, or, from
    a script, any circuit object given as ``circuit`` (a `QuantumCircuit`: ``n_qubits``
    inputs, ``n_outputs`` values, ``weight_shapes``); the projection then has its
    ``n_qubits`` and the classifier its ``n_outputs``, and setting one of those six options as
    well is refused. The hparams record the circuit's ``repr`` in their place; checkpoints do
    not hold the object, so ``load_from_checkpoint(path, circuit=...)`` takes it again.

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
        reupload: Encode the angles again before every trainable layer (data re-uploading),
            another way to get more out of a narrow bottleneck; needs ``identity_blocks``
            off.
        identity_blocks: Follow the ``q_depth`` layers by their mirror image (Grant et al.
            2019), with weights of their own: twice the layers and angles; needs
            ``q_depth >= 2`` and no ``reupload``. The default, chosen by
            ``docs/trainability.md``; off is the study's circuit.
        readout: What the circuit measures, a name of the read-outs' registry: ``"z"``
            (``<Z>`` of every wire, ``n`` values), ``"zz"`` (those, then ``<Z_i Z_j>`` for
            ``i < j``: ``n + n(n-1)/2``) or ``"probs"`` (the ``2^n`` basis-state
            probabilities, wire 0 the most significant bit); the classifier after it takes
            ``n_heads`` times its width.
        q_init: How the circuit's weights start: ``"identity"`` (the layers' angles uniform,
            the mirror's their inverse, so the circuit starts as the identity; needs
            ``identity_blocks``; the default), ``"normal"`` with standard deviation
            ``q_init_scale``, or ``"uniform"`` in ``[0, 2 pi)`` (PennyLane's default, the
            study's). It chooses values only, never the circuit's structure.
        q_init_scale: Standard deviation of ``q_init="normal"``, radians.
        q_lr: Learning rate of the circuit's weights; ``None`` uses ``lr``.
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
        projection_hidden: Width of a hidden layer in the projection: ``Linear(F, h)``, ReLU,
            ``Linear(h, n_heads * n_qubits)`` (the study's code: 128); ``None`` or 0 for one
            ``Linear``.
        angle_scale: The circuit's input angles are ``tanh(projection) * angle_scale``,
            radians: ``pi / 2`` (the library's) or ``pi`` (the study's code).
        residual: A linear path from the backbone features to the logits, around the circuit.
        arch: Backbone name: resnet18, resnet34, resnet50, resnet101,
            resnet152, small_cnn, or a timm model's name
            (``efficientnet_lite0``).
        backbone_weights: ``"none"``, ``"imagenet"`` or a local checkpoint's path.
        freeze_backbone: Train only the projection, the circuit and the classifier.
        train_last_stages: Train only the backbone's last K stages, the earlier ones frozen
            (``docs/models.md``); 0 is ``freeze_backbone=True``, ``"all"`` full fine-tuning.
        precompute_features: Steps take the frozen part's cached output rather than images
            (see ``FeatureCacheDataModule``); needs ``freeze_backbone`` or
            ``train_last_stages``. ``forward`` still takes images.
        in_channels: Image channels.
        image_size: Image side in pixels (below 64 a ResNet gets a small-image stem).
        lr: Learning rate, under any optimizer (AdamW unless ``--optimizer``).
        weight_decay: Weight decay of every parameter group, under any optimizer.
        circuit: Keyword-only, from a script (not an option of the runner): a circuit object
            in place of the library's circuit; ``None`` builds the library's from the options
            above.

    Raises:
        ValueError: ``n_heads`` below 1, ``precompute_features`` without a frozen part, a
            ``train_last_stages`` that does not fit, a ``circuit`` with one of the library
            circuit's options, or the ``repr`` that hparams recorded in place of a
            ``circuit`` object.
    """

    replaced_by_objects: ClassVar[dict[str, tuple[str, ...]]] = {"circuit": LIBRARY_CIRCUIT_OPTIONS}
    input_problem = staticmethod(hybrid_problem)

    def __init__(
        self,
        num_classes: int,
        n_qubits: int = 6,
        q_depth: int = 3,
        entangler: str = quantum_defaults.ENTANGLER,
        encoding: str = quantum_defaults.ENCODING,
        reupload: bool = False,
        identity_blocks: bool = quantum_defaults.IDENTITY_BLOCKS,
        readout: str = quantum_defaults.READOUT,
        q_init: str = quantum_defaults.INIT,
        q_init_scale: float = quantum_defaults.INIT_SCALE,
        q_lr: float | None = None,
        q_device: str = quantum_defaults.DEVICE,
        shots: int | None = None,
        q_diff_method: str | None = None,
        q_device_options: dict[str, Any] | None = None,
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
        *,
        circuit: QuantumCircuit | None = None,
    ) -> None:
        values = (n_qubits, q_depth, entangler, encoding, reupload, identity_blocks, readout)
        options = dict(zip(LIBRARY_CIRCUIT_OPTIONS, values, strict=True))
        built = hybrid_circuit(circuit, options)
        super().__init__(
            num_classes=num_classes,
            n_qubits=built.n_qubits,
            n_outputs=built.n_outputs,
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
            q_lr=q_lr,
        )
        device = make_device(
            q_device, built.n_qubits, shots, q_diff_method, **(q_device_options or {})
        )
        layers = [make_layer(built, device, q_init, q_init_scale) for _ in range(n_heads)]
        self.quantum = layers[0] if n_heads == 1 else SideBySide(layers, built.n_qubits)

    def bottleneck_layer(self) -> nn.Module:
        """The circuit (``quantum``), or ``n_heads`` of them side by side."""
        return self.quantum

    def check_checkpoint_fits(self, checkpoint: dict[str, Any]) -> None:
        """Refuses a checkpoint whose circuit has no identity blocks for a model built with them
        (or the reverse), naming the option to load it with: checkpoints made before
        ``identity_blocks`` existed have them only if they were trained with
        ``q_init="identity"``, and those made before ``q_init`` existed hold the study's
        circuit.

        Raises:
            ValueError: the checkpoint's and the model's circuits differ in their blocks.
        """
        saved, expected = set(checkpoint.get("state_dict", {})), set(self.state_dict())
        mirrors = {key for key in saved | expected if key.endswith("mirror_weights")}
        if saved - mirrors == expected - mirrors and saved & mirrors != expected & mirrors:
            # The same model but for the mirror layers: another identity_blocks.
            has = bool(saved & mirrors)
            raise ValueError(
                f"the checkpoint's circuit {'has' if has else 'has no'} identity blocks but this "
                f"model was built with identity_blocks={not has}: load it with "
                f"identity_blocks={has} (--identity-blocks {str(has).lower()}; to --resume a "
                f"run, identity_blocks: {str(has).lower()} in its config.yaml)"
                + (
                    ""
                    if has
                    else " and a q_init other than 'identity'; checkpoints made before q_init "
                    "existed are the study's circuit, q_init 'uniform' with encoding 'ry'"
                )
            )


def hybrid_circuit(circuit: QuantumCircuit | str | None, options: dict[str, Any]) -> QuantumCircuit:
    """`HybridVQC`'s circuit: ``circuit``, or the library's built from ``options`` (the
    `LIBRARY_CIRCUIT_OPTIONS`) when it is ``None``.

    Raises:
        ValueError: ``circuit`` is the ``repr`` that hparams recorded (pass the object
            again), or is given with options that differ from their defaults and, for
            ``n_qubits``, from the circuit's width.
    """
    passed_again("circuit", circuit, HybridVQC)
    if circuit is None:
        return VariationalClassifierCircuit(**options)
    refuse_conflicting_options(
        HybridVQC, "circuit", circuit, options, {"n_qubits": circuit.n_qubits}
    )
    return circuit
