"""Quanvolution models on standardised images (issue 29 item 5): the runner warns once,
naming ``--normalize false``; a resumed run, or a model that takes any pixels, is not warned."""

from __future__ import annotations

import warnings

import pytest
from jsonargparse import Namespace

from hqnn_lightning.data import create_datamodule
from hqnn_lightning.data.feature_cache import FeatureCacheDataModule
from hqnn_lightning.models import create_model
from hqnn_lightning.quantum import QuanvolutionFilterCircuit
from hqnn_lightning.run.cli import main as run_main
from hqnn_lightning.run.seeds import StandardisedPixelsWarning, warn_standardised_pixels


def built(model: str, normalize: bool, **arguments):
    """The digits (set up) and ``model`` built for them."""
    digits = create_datamodule("digits", normalize=normalize)
    digits.setup("fit")
    classifier = create_model(model, num_classes=10, in_channels=1, image_size=8, **arguments)
    return Namespace(model=model, data="digits"), classifier, digits


def pixel_warnings(config, model, datamodule) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warn_standardised_pixels(config, model, datamodule)
    return [str(w.message) for w in caught if w.category is StandardisedPixelsWarning]


@pytest.mark.parametrize("model", ["quanv_tiny", "quanv_control_tiny"])
def test_standardised_images_for_a_unit_pixel_filter_name_normalize_false(model):
    (message,) = pixel_warnings(*built(model, normalize=True))
    assert message.startswith(f"--model {model}: ")
    assert "encodes each pixel x in [0, 1] as RY(pi x)" in message
    assert "--normalize true standardises the images of --data digits" in message
    assert "pass --normalize false" in message


@pytest.mark.parametrize("model", ["quanv_tiny", "quanv_control_tiny"])
def test_pixels_in_unit_range_are_not_warned(model):
    assert pixel_warnings(*built(model, normalize=False)) == []


def test_a_model_that_takes_any_pixels_is_not_warned():
    assert pixel_warnings(*built("hybrid_tiny", normalize=True)) == []


def test_a_filter_object_says_nothing_of_its_encoding():
    config, model, digits = built("quanv_tiny", True, filter=QuanvolutionFilterCircuit(2, 1))
    assert model.unit_pixels_reason is None
    assert pixel_warnings(config, model, digits) == []


def test_the_images_under_a_feature_cache_are_the_ones_looked_at(tmp_path):
    config, model, digits = built("quanv_tiny", normalize=True, precompute_features=True)
    cached = FeatureCacheDataModule(digits, model.feature_extractor(), tmp_path)
    assert len(pixel_warnings(config, model, cached)) == 1


@pytest.mark.slow
def test_the_runner_warns_once_for_several_seeds_and_not_on_resume(tmp_path):
    command = ["--model", "quanv_tiny", "--data", "digits", "--max-epochs", "1"]
    command += ["--batch-size", "512", "--logger", "csv", "--progress-bar", "false"]
    command += ["--output-dir", str(tmp_path)]
    with pytest.warns(StandardisedPixelsWarning) as caught:
        first, _ = run_main([*command, "--seeds", "[0,1]"])
    assert len([w for w in caught if w.category is StandardisedPixelsWarning]) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error", StandardisedPixelsWarning)
        run_main(["--resume", first["run_dir"]])
