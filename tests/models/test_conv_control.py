"""QuanvNet's classical control: same shapes, fixed or trainable random filter."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from hqnn_lightning.models import ConvControlNet, create_model


def control(**kwargs) -> ConvControlNet:
    options = {"num_classes": 4, "in_channels": 3, "image_size": 16, **kwargs}
    return create_model("quanv_control", **options)


def test_same_feature_shape_and_head_as_quanvnet() -> None:
    quanv = create_model("quanv", num_classes=4, in_channels=3, image_size=16)
    twin = control()
    images = torch.rand(2, 3, 16, 16)
    features = torch.tanh(twin.filter(images))
    assert tuple(features.shape[1:]) == quanv.feature_shape == (12, 8, 8)
    assert features.abs().max() <= 1
    head_params = sum(p.numel() for p in twin.head.parameters())
    assert head_params == sum(p.numel() for p in quanv.head.parameters())
    assert twin(images).shape == (2, 4)


def test_each_output_channel_sees_one_input_channel() -> None:
    twin = control()
    images = torch.rand(1, 3, 16, 16, requires_grad=True)
    twin.filter(images)[0, 4:8].sum().backward()  # outputs of input channel 1
    touched = images.grad.abs().sum(dim=(0, 2, 3)) > 0
    assert touched.tolist() == [False, True, False]


def test_filter_depends_on_filter_seed_alone() -> None:
    torch.manual_seed(5)
    first = control(filter_seed=1)
    torch.manual_seed(6)
    second = control(filter_seed=1)
    assert torch.equal(first.filter.weight, second.filter.weight)
    assert not torch.equal(first.classifier.weight, second.classifier.weight)
    assert not torch.equal(first.filter.weight, control(filter_seed=2).filter.weight)


def fit_one_step(model: ConvControlNet) -> None:
    optimizer = model.configure_optimizers()
    model.train()
    loss = F.cross_entropy(model(torch.rand(4, 3, 16, 16)), torch.arange(4))
    loss.backward()
    optimizer.step()


def test_fixed_filter_stays_fixed_and_trainable_filter_learns() -> None:
    fixed = control()
    before = fixed.filter.weight.detach().clone()
    fit_one_step(fixed)
    assert torch.equal(fixed.filter.weight, before)
    assert not fixed.filter.training

    trainable = create_model("quanv_control_trainable", num_classes=4, in_channels=3, image_size=16)
    before = trainable.filter.weight.detach().clone()
    fit_one_step(trainable)
    assert not torch.equal(trainable.filter.weight, before)


def test_image_smaller_than_a_patch_is_refused() -> None:
    with pytest.raises(ValueError, match="image_size=1 is smaller than one 2x2 patch"):
        control(image_size=1)
