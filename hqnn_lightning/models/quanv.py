"""QuanvNet: a quanvolutional layer feeding a small classical CNN."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import torch
from torch import nn

from hqnn_lightning.models.circuit_arguments import passed_again, refuse_conflicting_options
from hqnn_lightning.models.filter_classifier import FilterClassifier
from hqnn_lightning.models.registry import MODELS
from hqnn_lightning.quantum import QuantumCircuit, QuanvolutionLayer
from hqnn_lightning.quantum import defaults as quantum_defaults

RANDOM_FILTER_OPTIONS = ("kernel_size", "n_layers", "filter_seed", "trainable_filter")
"""`QuanvNet`'s arguments that describe the library's random filter: they conflict with a
``filter`` object."""


@MODELS.register("quanv", control="quanv_control")
@MODELS.register("quanv_tiny", head_width=8)
class QuanvNet(FilterClassifier):
    """The study's quanvolutional network, ``f = d(q(e(patch)))`` then a CNN.

    ``(B, C, H, W)`` images go through a `QuanvolutionLayer` (random circuits on
    ``kernel_size x kernel_size`` patches, fixed unless ``trainable_filter``) to
    ``(B, C * kernel_size**2, H', W')``, then a `SmallCNN` head to ``(B, 2 * head_width)``
    features and a linear layer to ``(B, num_classes)`` logits.

    With ``precompute_features=True`` the training, validation and test batches hold the
    quanvolution's output instead of images (a `FeatureCacheDataModule` computes and caches it
    once per dataset), so only the head runs per step; ``forward`` still takes images.

    The filter is the library's random one, built from ``kernel_size``, ``n_layers``,
    ``filter_seed`` and ``trainable_filter``, or, from a script, any circuit object given as
    ``filter`` (a `QuantumCircuit` on the ``k * k`` pixels of a patch, ``n_outputs`` values
    each): the patch side is then its ``k``, it trains if it has weights, and setting one of
    those four options as well is refused. The hparams record the filter's ``repr`` in their
    place; checkpoints do not hold the object, so ``load_from_checkpoint(path, filter=...)``
    takes it again.

    Args:
        num_classes: Number of classes.
        in_channels: Image channels.
        image_size: Image side in pixels; must hold at least one patch.
        kernel_size: Patch side (2 or 3), so 4 or 9 qubits.
        stride: Step between patches.
        n_layers: ``RandomLayers`` in the filter circuit.
        filter_seed: Seed of the random filter.
        q_device: ``"torch"`` (exact, fastest; see `QuanvolutionLayer`) or a PennyLane
            device name.
        shots: ``None`` for exact expectation values, else samples per circuit (PennyLane
            devices only).
        q_device_options: Options of the PennyLane device (noise, fake backend, ARN; see
            ``docs/devices.md``).
        trainable_filter: Learn the filter's ``RandomLayers`` angles with the head.
        q_lr: Learning rate of a trainable filter's angles; ``None`` uses ``lr``.
        precompute_features: Steps take the cached quanvolution ``(B, C * k**2, H', W')``
            rather than images (see ``FeatureCacheDataModule``); needs a fixed filter and no
            augmentation.
        head_width: Channels of the head's first block.
        lr: Learning rate, under any optimizer (AdamW unless ``--optimizer``).
        weight_decay: Weight decay of every parameter group, under any optimizer.
        filter: Keyword-only, from a script (not an option of the runner): a filter circuit
            object in place of the library's random filter; ``None`` builds the random one
            from the options above.

    Raises:
        ValueError: a negative ``filter_seed``, an image smaller than a patch,
            ``precompute_features`` with a trainable filter, a ``filter`` with one of the
            random filter's options, or the ``repr`` that hparams recorded in place of a
            ``filter`` object.
    """

    replaced_by_objects: ClassVar[dict[str, tuple[str, ...]]] = {"filter": RANDOM_FILTER_OPTIONS}

    def __init__(
        self,
        num_classes: int,
        in_channels: int = 3,
        image_size: int = 224,
        kernel_size: int = 2,
        stride: int = 2,
        n_layers: int = 1,
        filter_seed: int = 0,
        q_device: str = quantum_defaults.DEVICE,
        shots: int | None = None,
        q_device_options: dict[str, Any] | None = None,
        trainable_filter: bool = False,
        q_lr: float | None = None,
        precompute_features: bool = False,
        head_width: int = 32,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        *,
        filter: QuantumCircuit | None = None,
    ) -> None:
        if filter_seed < 0:
            raise ValueError(f"filter_seed must be 0 or more (a NumPy seed), got {filter_seed}")
        values = (kernel_size, n_layers, filter_seed, trainable_filter)
        options = dict(zip(RANDOM_FILTER_OPTIONS, values, strict=True))
        check_filter(filter, options)
        if filter is not None:
            kernel_size = math.isqrt(filter.n_qubits)
            trainable_filter = bool(filter.weight_shapes)
        super().__init__(
            num_classes=num_classes,
            in_channels=in_channels,
            image_size=image_size,
            kernel_size=kernel_size,
            trainable_filter=trainable_filter,
            precompute_features=precompute_features,
            head_width=head_width,
            lr=lr,
            weight_decay=weight_decay,
            q_lr=q_lr,
        )
        self.quanvolution = QuanvolutionLayer(
            kernel_size,
            stride,
            n_layers=n_layers,
            seed=filter_seed,
            device=q_device,
            shots=shots,
            trainable=trainable_filter,
            circuit=filter,
            **(q_device_options or {}),
        )
        self.build_head(
            in_channels * self.quanvolution.channels_per_input_channel,
            self.quanvolution.output_size(image_size),
        )

    @property
    def unit_pixels_reason(self) -> str | None:
        """The library's random filter encodes each pixel ``x`` as ``RY(pi x)``; a ``filter``
        object says nothing of its encoding (``None``)."""
        if self.hparams.get("filter") is not None:
            return None
        return "its quanvolution encodes each pixel x in [0, 1] as RY(pi x)"

    def patch_filter(self) -> nn.Module:
        return self.quanvolution

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W)`` images ``-> (B, num_classes)`` logits."""
        if images.ndim != 4 or images.shape[1] != self.in_channels:
            raise ValueError(
                f"expected images (B, {self.in_channels}, H, W), got "
                f"{tuple(images.shape)}; cached quanvolution features go through "
                "classify_features (precompute_features=True)"
            )
        return super().forward(images)


def check_filter(filter: QuantumCircuit | str | None, options: dict[str, Any]) -> None:
    """Checks `QuanvNet`'s ``filter`` against the random filter's ``options`` (the
    `RANDOM_FILTER_OPTIONS`).

    Raises:
        ValueError: ``filter`` is the ``repr`` that hparams recorded (pass the object again),
            has a number of qubits that is not a square ``k * k``, or is given with options
            that differ from their defaults and, for ``kernel_size``, from its ``k``.
    """
    passed_again("filter", filter, QuanvNet)
    if filter is None:
        return
    side = math.isqrt(filter.n_qubits)
    if side * side != filter.n_qubits:
        raise ValueError(
            f"QuanvNet's filter={filter!r} has {filter.n_qubits} qubits: a filter takes the "
            "k * k pixels of a patch, one qubit each"
        )
    refuse_conflicting_options(
        QuanvNet,
        "filter",
        filter,
        options,
        {"kernel_size": side, "trainable_filter": bool(filter.weight_shapes)},
    )
