"""From options to objects: the seeded DataModule, set up, and the model it fits."""

from __future__ import annotations

from typing import Any

import lightning as L
from jsonargparse import Namespace

from hqnn_lightning.data import DATAMODULES, create_datamodule
from hqnn_lightning.data.feature_cache import FeatureCacheDataModule
from hqnn_lightning.data.index_cache import DEFAULT_CACHE_DIR
from hqnn_lightning.models import MODELS, create_model
from hqnn_lightning.models.backbones import pretrained_data_config
from hqnn_lightning.run.options import FROM_DATA, constructor_arguments
from hqnn_lightning.run.signatures import argument_default

BUILD_ERRORS = (
    KeyError,
    TypeError,
    ValueError,
    FileNotFoundError,
    PermissionError,
    ImportError,
    RuntimeError,
)
"""What building raises for a bad option; the runner reports it as a usage error."""


def build(config: Namespace) -> tuple[L.LightningDataModule, L.LightningModule]:
    """Seeds everything, then builds the DataModule (set up) and the model of ``config``.

    The model's ``num_classes``, ``in_channels`` and ``image_size`` come from the DataModule.
    With pretrained backbone weights, the images are normalised (and sized, unless
    ``--image-size`` is given) as the backbone expects (`backbone_preprocessing`). A model
    built with ``precompute_features`` trains on its frozen front part's outputs,
    computed once and cached under ``config.cache_dir`` (`FeatureCacheDataModule`).

    Raises:
        BUILD_ERRORS: an option names something unknown or does not fit; the message says
            which.
    """
    L.seed_everything(config.seed, workers=True, verbose=False)  # the run names its seed
    # Without a DataModule that takes it, --cache-dir is the feature cache's place.
    feature_cache = {"cache_dir"} if config.get("precompute_features") else set()
    model_arguments, data_arguments = constructor_arguments(config, used_elsewhere=feature_cache)
    data_arguments |= backbone_preprocessing(config, model_arguments, data_arguments)
    datamodule = create_datamodule(config.data, **data_arguments)
    datamodule.prepare_data()
    datamodule.setup("fit")
    from_data = {argument: getattr(datamodule, name) for argument, name in FROM_DATA.items()}
    model = create_model(config.model, **from_data, **model_arguments)
    if model.hparams.get("precompute_features"):
        cache_dir = config.cache_dir or DEFAULT_CACHE_DIR
        datamodule = FeatureCacheDataModule(datamodule, model.feature_extractor(), cache_dir)
        datamodule.setup("fit")
    return datamodule, model


def backbone_preprocessing(
    config: Namespace, model_arguments: dict[str, Any], data_arguments: dict[str, Any]
) -> dict[str, Any]:
    """The DataModule arguments that make its images what a pretrained backbone expects: its
    ``normalize_mean``, ``normalize_std`` and, as ``image_size``, its input size
    (`backbones.pretrained_data_config`), each only where the DataModule takes it and the
    option was not given.

    Returns:
        ``{}`` for a model without pretrained backbone weights (``backbone_weights`` unset or
        ``"none"``).
    """
    weights = _model_argument(config.model, "backbone_weights", model_arguments)
    if weights in (None, "none"):
        return {}
    expected = pretrained_data_config(_model_argument(config.model, "arch", model_arguments))
    wanted = {
        "normalize_mean": list(expected["mean"]),
        "normalize_std": list(expected["std"]),
        "image_size": expected["input_size"],
    }
    takes = DATAMODULES.accepted_arguments(config.data)
    return {
        name: value
        for name, value in wanted.items()
        if name in takes and data_arguments.get(name) is None
    }


def _model_argument(model: str, name: str, given: dict[str, Any]) -> Any:
    """The value the model ``model`` is built with for ``name``: given, else its default
    (`signatures.argument_default`); ``None`` if it takes no such argument."""
    if name in given:
        return given[name]
    if name not in MODELS.accepted_arguments(model):
        return None
    return argument_default(MODELS, model, name)
