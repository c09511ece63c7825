"""The dataset registry: names, construction from keyword arguments, and its errors."""

from __future__ import annotations

import pytest

from hqnn_lightning.data import (
    DATAMODULES,
    DigitsDataModule,
    SyntheticImageDataModule,
    create_datamodule,
)


def test_builtin_datasets_are_registered():
    assert DATAMODULES.names() == ["combined", "digits", "stanford_cars", "synthetic", "vmmrdb"]
    assert DATAMODULES.get("digits") is DigitsDataModule
    assert DATAMODULES.get("synthetic") is SyntheticImageDataModule


def test_create_passes_arguments_and_drops_none():
    datamodule = create_datamodule("digits", image_size=16, channels=3, seed=None)
    assert isinstance(datamodule, DigitsDataModule)
    assert datamodule.image_size == 16
    assert datamodule.num_channels == 3
    assert datamodule.seed == 0


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(
        KeyError,
        match="unknown dataset 'mnist'; known: combined, digits, stanford_cars, synthetic, vmmrdb",
    ):
        create_datamodule("mnist")


def test_unknown_argument_is_named():
    with pytest.raises(TypeError, match="does not take num_clases"):
        create_datamodule("synthetic", num_clases=4)
