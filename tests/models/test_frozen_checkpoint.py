"""Checkpoints of a frozen pretrained backbone hold what trains and the backbone's fingerprint;
loading builds the backbone again from its source and refuses another one."""

from __future__ import annotations

from pathlib import Path

import lightning as L
import pytest
import timm
import torch

from hqnn_lightning.hardware.placement import load_checkpoint
from hqnn_lightning.models import HybridVQC, frozen_state
from hqnn_lightning.models.checkpoint_file import check_checkpoint
from hqnn_lightning.models.classical import ClassicalResNet
from hqnn_lightning.models.frozen_state import FINGERPRINT_KEY

IMAGES = torch.rand(4, 3, 16, 16, generator=torch.Generator().manual_seed(0))


def weights_file(path: Path, seed: int) -> Path:
    """timm's tiny ``test_efficientnet`` (99k weights) with the random weights of ``seed``, as
    a ``backbone_weights`` file."""
    torch.manual_seed(seed)
    torch.save(timm.create_model("test_efficientnet", num_classes=0).state_dict(), path)
    return path


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    return weights_file(tmp_path_factory.mktemp("weights") / "backbone.pt", seed=0)


def build(backbone_weights: str | Path, **kwargs) -> ClassicalResNet:
    arguments = {"arch": "test_efficientnet", "freeze_backbone": True, "image_size": 16, **kwargs}
    return ClassicalResNet(num_classes=10, backbone_weights=str(backbone_weights), **arguments)


def save(model: L.LightningModule, path: Path) -> Path:
    trainer = L.Trainer(logger=False, enable_progress_bar=False, enable_checkpointing=False)
    trainer.strategy.connect(model)
    trainer.save_checkpoint(path)
    return path


def backbone_names(checkpoint: dict) -> list[str]:
    return [name for name in checkpoint["state_dict"] if name.startswith("backbone.")]


@pytest.fixture(scope="module")
def saved(weights, tmp_path_factory) -> tuple[ClassicalResNet, Path]:
    torch.manual_seed(1)
    model = build(weights)
    return model, save(model, tmp_path_factory.mktemp("checkpoint") / "model.ckpt")


def test_the_checkpoint_holds_the_trained_part_and_the_fingerprint(saved, weights, tmp_path):
    model, path = saved
    checkpoint = torch.load(path, weights_only=True)
    assert backbone_names(checkpoint) == []
    assert {"classifier.weight", "classifier.bias"} <= checkpoint["state_dict"].keys()
    assert checkpoint[FINGERPRINT_KEY]["source"] == {
        "arch": "test_efficientnet",
        "backbone_weights": str(weights),
        "in_channels": 3,
        "image_size": 16,
    }
    # The same model with a random frozen backbone, which building it again would not give.
    random = save(build("none"), tmp_path / "random.ckpt")
    kept = torch.load(random, weights_only=True)
    assert FINGERPRINT_KEY not in kept
    assert set(backbone_names(kept)) == {f"backbone.{n}" for n in model.backbone.state_dict()}
    backbone_bytes = sum(t.numel() * t.element_size() for t in model.backbone.state_dict().values())
    assert random.stat().st_size - path.stat().st_size > 0.9 * backbone_bytes


def test_load_from_checkpoint_gives_the_same_logits(saved):
    model, path = saved
    torch.manual_seed(12345)  # the classifier of the loaded model starts elsewhere
    loaded = ClassicalResNet.load_from_checkpoint(path, weights_only=True)
    assert torch.equal(loaded.eval()(IMAGES), model.eval()(IMAGES))
    assert check_checkpoint(path, loaded)["state_dict"].keys() == {
        name for name in loaded.state_dict() if not name.startswith("backbone.")
    }


def test_other_frozen_weights_are_refused_naming_both(saved, tmp_path):
    _, path = saved
    other = weights_file(tmp_path / "other.pt", seed=1)
    with pytest.raises(ValueError, match="frozen part") as refused:
        ClassicalResNet.load_from_checkpoint(path, weights_only=True, backbone_weights=str(other))
    message = str(refused.value)
    assert "backbone.pt" in message and "other.pt" in message and "weights differ" in message
    with pytest.raises(ValueError) as checked:
        check_checkpoint(path, build(other))
    assert str(checked.value).startswith(f"{path}: the checkpoint's frozen part")
    assert "\n" not in str(checked.value)


def test_a_weights_file_changed_since_is_refused(tmp_path):
    file = weights_file(tmp_path / "backbone.pt", seed=0)
    path = save(build(file), tmp_path / "model.ckpt")
    weights_file(file, seed=1)
    with pytest.raises(ValueError, match="weights differ"):
        ClassicalResNet.load_from_checkpoint(path, weights_only=True)


def test_evaluate_refuses_it_naming_the_checkpoint(tmp_path):
    file = weights_file(tmp_path / "backbone.pt", seed=0)
    model = HybridVQC(
        num_classes=10,
        n_qubits=2,
        q_depth=2,
        arch="test_efficientnet",
        image_size=16,
        backbone_weights=str(file),
        freeze_backbone=True,
    )
    path = save(model, tmp_path / "hybrid.ckpt")
    assert torch.equal(load_checkpoint(path, "hybrid")(IMAGES), model.eval()(IMAGES))
    weights_file(file, seed=1)
    with pytest.raises(ValueError) as refused:
        load_checkpoint(path, "hybrid")
    assert str(refused.value).startswith(f"{path}: the checkpoint's frozen part")


def test_a_model_without_the_frozen_part_is_refused(saved):
    _, path = saved
    with pytest.raises(ValueError, match="no frozen part built from a source"):
        ClassicalResNet.load_from_checkpoint(path, weights_only=True, freeze_backbone=False)


def full_checkpoint(model: ClassicalResNet, path: Path, out: Path, change: bool = False) -> Path:
    """``path`` as the library saved it before frozen parts were left out: the backbone's
    tensors in its ``state_dict`` (changed, with ``change``) and no fingerprint."""
    checkpoint = torch.load(path, weights_only=True)
    del checkpoint[FINGERPRINT_KEY]
    for name, tensor in model.backbone.state_dict().items():
        checkpoint["state_dict"][f"backbone.{name}"] = tensor + 1 if change else tensor
    torch.save(checkpoint, out)
    return out


def test_an_old_full_checkpoint_still_loads(saved, tmp_path):
    model, path = saved
    old = full_checkpoint(model, path, tmp_path / "old.ckpt")
    loaded = ClassicalResNet.load_from_checkpoint(old, weights_only=True)
    assert torch.equal(loaded.eval()(IMAGES), model.eval()(IMAGES))
    check_checkpoint(old, loaded)
    resaved = torch.load(save(loaded, tmp_path / "again.ckpt"), weights_only=True)
    assert backbone_names(resaved) == [] and FINGERPRINT_KEY in resaved


def test_an_old_checkpoint_with_other_frozen_weights_keeps_them(saved, tmp_path):
    model, path = saved
    old = full_checkpoint(model, path, tmp_path / "old.ckpt", change=True)
    loaded = ClassicalResNet.load_from_checkpoint(old, weights_only=True)
    first = next(iter(model.backbone.state_dict()))
    assert torch.equal(loaded.backbone.state_dict()[first], model.backbone.state_dict()[first] + 1)
    resaved = torch.load(save(loaded, tmp_path / "again.ckpt"), weights_only=True)
    assert FINGERPRINT_KEY not in resaved
    assert len(backbone_names(resaved)) == len(model.backbone.state_dict())


def test_a_fine_tuned_backbone_is_kept(weights, tmp_path):
    checkpoint = torch.load(save(build(weights, freeze_backbone=False), tmp_path / "m.ckpt"))
    assert FINGERPRINT_KEY not in checkpoint and backbone_names(checkpoint)


def test_training_leaves_the_frozen_backbone_and_its_statistics_as_built(weights):
    torch.manual_seed(0)
    model = build(weights)
    before = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    data = torch.utils.data.TensorDataset(torch.rand(16, 3, 16, 16), torch.arange(16) % 10)
    trainer = L.Trainer(
        max_epochs=2, logger=False, enable_progress_bar=False, enable_checkpointing=False
    )
    trainer.fit(model, torch.utils.data.DataLoader(data, batch_size=4))
    after = model.state_dict()
    changed = {name for name in before if not torch.equal(before[name], after[name])}
    assert "classifier.weight" in changed
    assert not any(name.startswith("backbone.") for name in changed)
    assert any(
        "running_mean" in name for name in frozen_state.frozen_state(model, [model.backbone])
    )


def test_the_backbone_is_hashed_again_only_when_it_changes(weights, monkeypatch):
    model = build(weights)
    calls = []
    digest = frozen_state.weights_digest
    monkeypatch.setattr(frozen_state, "weights_digest", lambda s: calls.append(1) or digest(s))
    first = model.frozen_fingerprint()
    assert model.frozen_fingerprint() == first and len(calls) == 1
    with torch.no_grad():
        next(model.backbone.parameters()).add_(1)
    assert model.frozen_fingerprint()["weights"] != first["weights"] and len(calls) == 2
