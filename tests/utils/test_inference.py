"""InferenceModule gives its module's outputs, eagerly and compiled, for any batch up to its
size, and leaves the module as it was."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from hqnn_lightning.utils.inference import InferenceModule


def conv_net() -> nn.Module:
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1, bias=False),
        nn.BatchNorm2d(8),
        nn.ReLU6(),
        nn.Conv2d(8, 8, 3, padding=1, groups=8),
        nn.BatchNorm2d(8),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
    )
    for layer in net:
        if isinstance(layer, nn.BatchNorm2d):  # statistics that folding has to get right
            layer.running_mean.uniform_(-1, 1)
            layer.running_var.uniform_(0.5, 2)
            nn.init.normal_(layer.weight)
    return net.train()


def reference(net: nn.Module, images: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return net.eval()(images)


def test_eager_outputs_match_and_the_module_is_untouched():
    net = conv_net()
    images = torch.randn(5, 3, 12, 12)
    fast = InferenceModule(net, batch_size=8)
    outputs = fast(images)
    assert net.training and isinstance(net[1], nn.BatchNorm2d)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in fast.module.modules())  # folded
    torch.testing.assert_close(outputs, reference(net, images), atol=1e-5, rtol=1e-5)


def test_a_module_fx_cannot_trace_keeps_its_layers():
    class DataDependent(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.norm = nn.BatchNorm2d(3)

        def forward(self, images: torch.Tensor) -> torch.Tensor:
            if images.sum() > 0:  # control flow on values: torch.fx cannot trace it
                return self.norm(images).mean((2, 3))
            return images.mean((2, 3))

    net = DataDependent()
    images = torch.rand(2, 3, 4, 4)
    torch.testing.assert_close(InferenceModule(net, 2)(images), reference(net, images))


@pytest.mark.slow
def test_compiled_outputs_match_for_a_full_and_a_short_batch():
    net = conv_net()
    fast = InferenceModule(net, batch_size=4, compile=True)
    for count in (4, 3):
        images = torch.randn(count, 3, 12, 12)
        outputs = fast(images)
        assert outputs.shape == (count, 8)
        torch.testing.assert_close(outputs, reference(net, images), atol=1e-4, rtol=1e-4)
    assert fast.compiled is not None  # no fallback to eager was needed
