"""Partial fine-tuning (`train_last_stages`): only the backbone's last K stages train, and the
activations entering them, cached once, give the logits of the whole model.

Backbones with random weights (``backbone_weights="none"``, drawn after ``torch.manual_seed``)
on 32 px images: the equality holds for any weights, and these build in a fraction of a second.
"""

from __future__ import annotations

from pathlib import Path

import lightning as L
import numpy as np
import pytest
import timm
import torch
from torch.utils.data import TensorDataset

from hqnn_lightning.data.feature_store import build_feature_cache
from hqnn_lightning.models import create_model
from hqnn_lightning.models.classical import ClassicalResNet
from hqnn_lightning.models.frozen_state import FINGERPRINT_KEY
from hqnn_lightning.models.stages import FrozenPrefix

SIZE = 32
IMAGES = torch.rand(6, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(0))

TRAINED_GROUPS = {
    ("resnet18", 1): {"layer4"},
    ("resnet18", 2): {"layer3", "layer4"},
    ("efficientnet_lite0", 1): {"model.blocks.6", "model.conv_head", "model.bn2"},
    ("efficientnet_lite0", 2): {"model.blocks.5", "model.blocks.6", "model.conv_head", "model.bn2"},
}
"""The backbone's modules (prefixes of its parameters' names) that train, by arch and K."""


def partial(model: str = "classical", arch: str = "resnet18", k=1, **kwargs):
    torch.manual_seed(0)
    arguments = {"num_classes": 10, "arch": arch, "image_size": SIZE, "train_last_stages": k}
    if model.startswith("hybrid"):
        arguments |= {"n_qubits": 2, "q_depth": 2}
    return create_model(model, **(arguments | kwargs))


def trained_groups(model) -> set[str]:
    """The groups of `TRAINED_GROUPS` that hold the backbone's trainable parameters: a
    ResNet's ``layerN``, an EfficientNet's ``model.blocks.N`` or ``model.NAME``."""
    groups = set()
    for name, parameter in model.backbone.named_parameters():
        parts = name.split(".")
        if parameter.requires_grad:
            groups.add(".".join(parts[:3] if parts[1:2] == ["blocks"] else parts[:2]))
    return (
        groups
        if model.hparams.arch.startswith("efficientnet")
        else {group.split(".")[0] for group in groups}
    )


@pytest.mark.parametrize(
    ("model", "arch"),
    [("classical", "resnet18"), ("classical", "efficientnet_lite0"), ("hybrid", "resnet18")],
)
@pytest.mark.parametrize("k", [1, 2])
def test_cached_activations_give_the_full_models_logits(model, arch, k, tmp_path):
    built = partial(model, arch, k, precompute_features=True).eval()
    prefix = built.feature_extractor()
    assert isinstance(prefix, FrozenPrefix)
    # Through the cache as the runner builds it: the fast extractor, batch norm folded.
    cached = build_feature_cache(prefix, TensorDataset(IMAGES, torch.zeros(6)), tmp_path)
    activations = torch.from_numpy(np.array(cached.features))
    assert tuple(activations.shape[1:]) == built.feature_shape
    with torch.no_grad():
        torch.testing.assert_close(
            built.classify_stage_input(activations), built(IMAGES), rtol=1e-5, atol=1e-6
        )


@pytest.mark.parametrize(("arch", "k"), list(TRAINED_GROUPS))
def test_only_the_last_k_stages_train(arch, k):
    model = partial(arch=arch, k=k)
    assert trained_groups(model) == TRAINED_GROUPS[arch, k]
    assert all(p.requires_grad for p in model.classifier.parameters())
    model.train()
    training = {name for name, m in model.backbone.named_modules() if m.training and name}
    assert all(
        any(name == group or name.startswith(f"{group}.") for group in TRAINED_GROUPS[arch, k])
        for name in training
        if list(model.backbone.get_submodule(name).parameters(recurse=False))
    )


def test_zero_stages_is_the_frozen_backbone():
    zero, frozen = partial(k=0, precompute_features=True), partial(k=None, freeze_backbone=True)
    assert zero.feature_extractor() is zero.backbone
    assert zero.feature_shape == frozen.feature_shape == (512,)
    assert not any(p.requires_grad for p in zero.backbone.parameters())
    assert zero.frozen_source() == frozen.frozen_source()


@pytest.mark.parametrize("k", ["all", 4])
def test_all_stages_is_full_fine_tuning(k):
    model = partial(k=k)
    assert all(p.requires_grad for p in model.backbone.parameters())
    with pytest.raises(ValueError, match="precompute_features needs freeze_backbone=True or"):
        model.feature_extractor()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"k": 5}, "train_last_stages=5 but backbone resnet18 has 4 stages"),
        ({"arch": "efficientnet_lite0", "k": 8}, "backbone efficientnet_lite0 has 7 stages"),
        ({"k": 1, "freeze_backbone": True}, "freeze_backbone=True trains no stage"),
        ({"k": "all", "freeze_backbone": True}, "give one of the two"),
        ({"k": -1}, "train_last_stages must be 0 or more"),
        ({"arch": "test_vit", "k": 1}, "train_last_stages: the stages of timm's VisionTransf"),
    ],
)
def test_refused_in_one_line(arguments, message):
    with pytest.raises(ValueError, match=message) as refused:
        partial(**arguments)
    assert "\n" not in str(refused.value)


def test_small_cnn_has_two_stages():
    model = partial("hybrid_tiny", "small_cnn", 1, precompute_features=True, image_size=8)
    assert model.feature_shape == (32, 8, 8)
    assert [n for n, p in model.backbone.named_parameters() if p.requires_grad] == [
        "3.weight",
        "4.weight",
        "4.bias",
    ]
    assert "backbone" in model.monitored_parts()


def weights_file(path: Path, seed: int = 0) -> Path:
    """timm's tiny ``test_efficientnet`` (5 stages) with the random weights of ``seed``, as a
    ``backbone_weights`` file."""
    torch.manual_seed(seed)
    torch.save(timm.create_model("test_efficientnet", num_classes=0).state_dict(), path)
    return path


def save(model: L.LightningModule, path: Path) -> Path:
    trainer = L.Trainer(logger=False, enable_progress_bar=False, enable_checkpointing=False)
    trainer.strategy.connect(model)
    trainer.save_checkpoint(path)
    return path


def test_checkpoints_leave_out_the_frozen_prefix(tmp_path):
    weights = str(weights_file(tmp_path / "backbone.pt"))
    model = partial(arch="test_efficientnet", backbone_weights=weights, precompute_features=True)
    with torch.no_grad():  # trained stage weights that building the model again would not give
        for parameter in model.trained_stages[0].parameters():
            parameter.add_(0.5)
    path = save(model, tmp_path / "model.ckpt")
    checkpoint = torch.load(path, weights_only=True)
    saved = {name for name in checkpoint["state_dict"] if name.startswith("backbone.")}
    trained = {name.split(".")[2] for name in saved}
    assert trained == {"blocks", "conv_head", "bn2"}
    assert all(name.startswith("backbone.model.blocks.4.") for name in saved if ".blocks." in name)
    assert checkpoint[FINGERPRINT_KEY]["source"]["train_last_stages"] == 1

    loaded = ClassicalResNet.load_from_checkpoint(path, weights_only=True)
    assert torch.equal(loaded.eval()(IMAGES), model.eval()(IMAGES))
    with pytest.raises(ValueError, match="their architecture differ"):
        ClassicalResNet.load_from_checkpoint(path, weights_only=True, train_last_stages=2)
