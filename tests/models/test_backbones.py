import collections
import os
import pickle
import socket

import pytest
import torch
import torchvision

from hqnn_lightning.models import create_backbone
from hqnn_lightning.models.backbones import WEIGHTS_FORMAT


def images(*shape):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(0))


class TestCreateBackbone:
    @pytest.mark.parametrize(("arch", "features"), [("resnet18", 512), ("resnet50", 2048)])
    def test_resnet_features(self, arch, features):
        backbone, num_features = create_backbone(arch, image_size=64)
        assert num_features == features
        assert backbone(images(2, 3, 64, 64)).shape == (2, features)

    @pytest.mark.parametrize("arch", ["resnet18", "resnet50"])
    def test_resnet_is_torchvisions_with_the_same_initialisation(self, arch):
        torch.manual_seed(0)
        backbone, _ = create_backbone(arch)
        torch.manual_seed(0)
        reference = getattr(torchvision.models, arch)(weights=None)
        reference.fc = torch.nn.Identity()
        assert isinstance(backbone, torchvision.models.ResNet)
        assert repr(backbone) == repr(reference)
        state, expected = backbone.state_dict(), reference.state_dict()
        assert list(state) == list(expected)
        assert all(torch.equal(state[key], expected[key]) for key in state)

    def test_describes_itself_by_its_weights(self):
        backbone, _ = create_backbone("resnet18", image_size=8)
        description = backbone.describe()
        assert description["kind"] == "features"
        with torch.no_grad():
            backbone.conv1.weight.add_(1)
        assert backbone.describe()["weights"] != description["weights"]

    def test_small_images_get_a_small_stem(self):
        backbone, _ = create_backbone("resnet18", in_channels=1, image_size=8)
        assert backbone.conv1.kernel_size == (3, 3) and backbone.conv1.stride == (1, 1)
        assert isinstance(backbone.maxpool, torch.nn.Identity)
        assert backbone(images(2, 1, 8, 8)).shape == (2, 512)

    def test_other_channel_counts_rebuild_the_first_convolution(self):
        backbone, _ = create_backbone("resnet18", in_channels=1, image_size=64)
        assert backbone.conv1.in_channels == 1 and backbone.conv1.kernel_size == (7, 7)

    def test_small_cnn(self):
        backbone, num_features = create_backbone("small_cnn", in_channels=3, image_size=8)
        assert num_features == 64
        assert backbone(images(4, 3, 8, 8)).shape == (4, 64)

    def test_unknown_arch_lists_the_known_ones(self):
        with pytest.raises(ValueError, match="unknown backbone 'vgg9000'.*resnet50.*timm"):
            create_backbone("vgg9000")

    def test_loads_a_local_weights_file(self, tmp_path):
        reference = torchvision.models.resnet18()
        path = tmp_path / "resnet18.pth"
        torch.save(reference.state_dict(), path)
        backbone, _ = create_backbone("resnet18", weights=str(path))
        torch.testing.assert_close(
            backbone.layer4[1].conv2.weight, reference.layer4[1].conv2.weight
        )

    def test_weights_file_for_another_arch_is_refused(self, tmp_path):
        path = tmp_path / "resnet18.pth"
        torch.save({"state_dict": torchvision.models.resnet18().state_dict()}, path)
        with pytest.raises(ValueError, match="does not fit backbone resnet50"):
            create_backbone("resnet50", weights=str(path))

    def test_missing_weights_file_is_named(self, tmp_path):
        with pytest.raises(FileNotFoundError, match="nowhere.pth"):
            create_backbone("resnet18", weights=str(tmp_path / "nowhere.pth"))

    def test_pretrained_without_network_fails_fast_with_instructions(self, tmp_path, monkeypatch):
        monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))

        def unreachable(address, timeout):
            raise OSError("network is unreachable")

        monkeypatch.setattr(socket, "create_connection", unreachable)
        with pytest.raises(RuntimeError, match="download.pytorch.org is unreachable") as error:
            create_backbone("resnet18", weights="imagenet")
        assert "--backbone-weights PATH" in str(error.value)
        assert str(tmp_path / "checkpoints" / "resnet18-f37072fd.pth") in str(error.value)

    def test_loads_a_timm_checkpoint(self, tmp_path):
        timm = pytest.importorskip("timm")
        reference = timm.create_model("resnet18", pretrained=False)
        path = tmp_path / "timm-resnet18.pth"
        torch.save({"model": reference.state_dict(), "epoch": 3}, path)  # timm's train format
        backbone, _ = create_backbone("resnet18", weights=str(path))
        torch.testing.assert_close(
            backbone.layer3[0].conv1.weight, reference.layer3[0].conv1.weight
        )

    def test_small_cnn_has_no_pretrained_weights(self):
        with pytest.raises(ValueError, match="small_cnn has no pretrained weights"):
            create_backbone("small_cnn", weights="imagenet")


def write_text(path):
    path.write_text("these are not weights")


def write_pickle(path):
    with path.open("wb") as file:
        pickle.dump(collections.OrderedDict(conv1=[1.0]), file)


WEIGHTS_FILES = [
    ("text.pt", write_text, "is not a file torch.save wrote ("),
    ("list.pt", lambda path: torch.save([torch.zeros(1)], path), "holds a list, not a state dict"),
    ("pickle.pt", write_pickle, "holds Python objects besides tensors, which torch.load"),
    ("empty.pt", lambda path: path.write_bytes(b""), "is empty"),
    ("folder.pt", lambda path: path.mkdir(), "is a directory, not a file"),
    ("pipe.pt", os.mkfifo, "is not a regular file"),
    (
        "values.pt",
        lambda path: torch.save({"epoch": 3}, path),
        "holds a value of type int under 'epoch', not a tensor",
    ),
    ("nothing.pt", lambda path: torch.save({}, path), "holds no tensors"),
    ("text.safetensors", write_text, "is not a safetensors file (Error while deserializing"),
]


class TestWeightsFiles:
    """A ``backbone_weights`` file that holds no state dict: one line naming the file and what
    it should hold, never a traceback from torch.load or pickle."""

    @pytest.mark.parametrize(
        ("name", "write", "problem"), WEIGHTS_FILES, ids=[name for name, *_ in WEIGHTS_FILES]
    )
    @pytest.mark.parametrize("arch", ["resnet18", "efficientnet_lite0"])
    def test_a_file_without_a_state_dict_is_named(self, name, write, problem, arch, tmp_path):
        path = tmp_path / name
        write(path)
        with pytest.raises(ValueError) as error:
            create_backbone(arch, weights=str(path), image_size=8)
        message = str(error.value)
        assert message.startswith(f"backbone weights {path}: {problem}")
        assert message.endswith(f"; backbone_weights takes {WEIGHTS_FORMAT}")
        assert "\n" not in message

    def test_weights_of_another_arch_say_what_differs_on_one_line(self, tmp_path):
        path = tmp_path / "resnet18.pth"
        torch.save(torchvision.models.resnet18().state_dict(), path)
        with pytest.raises(ValueError) as error:
            create_backbone("resnet34", weights=str(path), image_size=8)
        assert str(error.value) == (
            f"{path} does not fit backbone resnet34: 96 of the backbone's 216 tensors missing "
            "(layer1.2.conv1.weight, layer1.2.bn1.weight, layer1.2.bn1.bias, ...)"
        )

    def test_other_shapes_and_unexpected_tensors_are_named(self, tmp_path):
        state = torchvision.models.resnet18().state_dict()
        state["conv1.weight"] = torch.zeros(8, 3, 7, 7)
        state["extra.weight"] = torch.zeros(1)
        path = tmp_path / "changed.pth"
        torch.save(state, path)
        with pytest.raises(ValueError) as error:
            create_backbone("resnet18", weights=str(path), image_size=64)
        assert str(error.value) == (
            f"{path} does not fit backbone resnet18: 1 unexpected (extra.weight); 1 of other "
            "shapes (conv1.weight (8, 3, 7, 7) (backbone: (64, 3, 7, 7)))"
        )
