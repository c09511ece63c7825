"""SyntheticImageDataModule: deterministic, learnable, and usable by a Lightning Trainer."""

from __future__ import annotations

import lightning as L
import pytest
import torch
from torch import nn

from hqnn_lightning.data import ImageClassificationDataModule, SyntheticImageDataModule


def ready(**kwargs) -> SyntheticImageDataModule:
    datamodule = SyntheticImageDataModule(**kwargs)
    datamodule.setup("fit")
    return datamodule


class LinearClassifier(L.LightningModule):
    """A linear layer on flattened pixels: enough to separate the synthetic classes."""

    def __init__(self, datamodule: ImageClassificationDataModule) -> None:
        super().__init__()
        num_pixels = datamodule.num_channels * datamodule.image_size**2
        self.linear = nn.Linear(num_pixels, datamodule.num_classes)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.linear(images.flatten(1))

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        images, labels = batch
        return nn.functional.cross_entropy(self(images), labels)

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor]) -> None:
        images, labels = batch
        accuracy = (self(images).argmax(dim=1) == labels).float().mean()
        self.log("val_accuracy", accuracy)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.1)


def test_default_sizes_shapes_and_description():
    datamodule = ready()
    assert (len(datamodule.train_set), len(datamodule.val_set), len(datamodule.test_set)) == (
        48,
        24,
        24,
    )
    images, labels = next(iter(datamodule.train_dataloader()))
    assert images.shape == (16, 3, 8, 8)
    assert images.dtype == torch.float32
    assert labels.shape == (16,)
    assert labels.dtype == torch.int64
    assert datamodule.num_classes == 3
    assert datamodule.class_names == ["class_0", "class_1", "class_2"]
    assert datamodule.image_size == 8
    assert datamodule.num_channels == 3


def test_arguments_shape_the_images():
    datamodule = ready(num_classes=5, samples_per_class=8, image_size=4, channels=1)
    images, labels = datamodule.val_set.tensors
    assert images.shape == (10, 1, 4, 4)
    assert torch.equal(torch.bincount(labels), torch.full((5,), 2))
    assert datamodule.class_names[-1] == "class_4"


def test_seed_fixes_the_images():
    first, second, other = ready(seed=0), ready(seed=0), ready(seed=1)
    assert torch.equal(first.train_set.tensors[0], second.train_set.tensors[0])
    assert not torch.equal(first.train_set.tensors[0], other.train_set.tensors[0])


def test_samples_of_a_class_scatter_around_its_pattern_with_the_given_noise():
    images, labels = ready(noise=0.3, samples_per_class=200).train_set.tensors
    for k in range(3):
        samples = images[labels == k]
        assert (samples - samples.mean(dim=0)).std().item() == pytest.approx(0.3, rel=0.05)


def test_linear_model_learns_it_in_one_epoch():
    datamodule = SyntheticImageDataModule()
    trainer = L.Trainer(
        max_epochs=1,
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    model = LinearClassifier(datamodule)
    trainer.fit(model, datamodule=datamodule)
    (metrics,) = trainer.validate(model, datamodule=datamodule, verbose=False)
    assert metrics["val_accuracy"] >= 0.9


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"num_classes": 1}, "num_classes must be >= 2"),
        ({"samples_per_class": 0}, "samples_per_class must be >= 1"),
        ({"image_size": 0}, "image_size must be >= 1"),
        ({"channels": 0}, "channels must be >= 1"),
        ({"noise": -0.1}, "noise must be >= 0"),
        ({"test_fraction": 1.0}, "test_fraction must be in"),
        ({"batch_size": 0}, "batch_size must be >= 1"),
    ],
)
def test_bad_arguments_raise_at_construction(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SyntheticImageDataModule(**kwargs)


def test_too_few_samples_per_class_is_reported_by_setup():
    datamodule = SyntheticImageDataModule(samples_per_class=1)
    with pytest.raises(ValueError, match="class 0 has 1 sample"):
        datamodule.setup("fit")
