"""A researcher's own `QuantumModule` in a model: it gets ``q_lr``, counts as quantum and is
monitored, found by the marker alone (no attribute name, no library class)."""

from __future__ import annotations

import lightning as L
import torch
from torch import nn

from hqnn_lightning.models import BottleneckClassifier, ImageClassifier, parameter_counts
from hqnn_lightning.models.base import is_plain
from hqnn_lightning.quantum.module import QuantumModule


class CosineLayer(QuantumModule):
    """A stand-in for a circuit: ``<Z>`` of ``RY(x + theta)`` on ``|0>`` for each wire,
    ``cos(x + theta)``, ``(B, width) -> (B, width)``, one angle ``theta`` per wire."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.theta = nn.Parameter(torch.full((width,), 0.1))

    def forward(self, angles: torch.Tensor) -> torch.Tensor:
        return torch.cos(angles + self.theta)


class CosineBottleneck(BottleneckClassifier):
    """A bottleneck model whose bottleneck layer is a `CosineLayer` named ``cosine``.

    Args:
        num_classes: Number of classes.
        n_qubits: Width of the bottleneck.
        in_channels: Image channels.
        lr: AdamW learning rate.
        q_lr: AdamW learning rate of the cosine layer's angles.
    """

    def __init__(
        self,
        num_classes: int,
        n_qubits: int = 2,
        in_channels: int = 1,
        lr: float = 1e-3,
        q_lr: float | None = None,
    ) -> None:
        super().__init__(
            num_classes=num_classes,
            n_qubits=n_qubits,
            arch="small_cnn",
            in_channels=in_channels,
            image_size=8,
            lr=lr,
            q_lr=q_lr,
        )
        self.cosine = CosineLayer(n_qubits)

    def bottleneck_layer(self) -> nn.Module:
        return self.cosine


class CosineNet(ImageClassifier):
    """Flattened 8x8 images -> ``Linear(64, 2)`` -> `CosineLayer` -> ``Linear(2, classes)``.

    Args:
        num_classes: Number of classes.
        q_lr: AdamW learning rate of the cosine layer's angles.
    """

    def __init__(self, num_classes: int, q_lr: float | None = None) -> None:
        super().__init__(num_classes=num_classes, q_lr=q_lr)
        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(64, 2))
        self.angles = CosineLayer(2)
        self.classifier = nn.Linear(2, num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.angles(self.encoder(images)))


def optimizer_groups(model: ImageClassifier) -> list[dict]:
    model.trainer = L.Trainer(max_epochs=2, logger=False, enable_checkpointing=False)
    return model.configure_optimizers()["optimizer"].param_groups


def test_its_angles_get_q_lr_and_count_as_quantum():
    for model in (CosineBottleneck(num_classes=3, q_lr=0.05), CosineNet(num_classes=3, q_lr=0.05)):
        cosine = model.cosine if isinstance(model, CosineBottleneck) else model.angles
        groups = optimizer_groups(model)
        assert [group["lr"] for group in groups] == [1e-3, 0.05]
        assert [id(p) for p in groups[1]["params"]] == [id(cosine.theta)]
        counts = parameter_counts(model)
        assert counts["quantum"] == 2
        assert counts["classical"] == sum(p.numel() for p in model.parameters()) - 2


def test_it_is_the_monitored_bottleneck_or_a_part_of_its_own():
    bottleneck = CosineBottleneck(num_classes=3)
    assert bottleneck.monitored_parts()["bottleneck"] is bottleneck.cosine
    plain = CosineNet(num_classes=3)
    assert plain.monitored_parts() == {"angles": plain.angles}


def test_hparams_record_the_built_classs_arguments_and_the_bases_own():
    model = CosineBottleneck(num_classes=3, n_qubits=4, lr=2e-3)
    assert dict(model.hparams) == {
        "num_classes": 3,
        "n_qubits": 4,
        "in_channels": 1,
        "lr": 2e-3,
        "q_lr": 2e-3,  # unset: lr, as used
        "weight_decay": 1e-4,
        "precompute_features": False,
    }


def test_hparams_keep_plain_data_and_describe_objects():
    assert is_plain({"noise": "depolarizing", "noise_strength": 0.01, "wires": [0, 1]})
    assert is_plain((1, 2.5, None, True))
    assert not is_plain({"layer": CosineLayer(1)}) and not is_plain({1: "a"})
