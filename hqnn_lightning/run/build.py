"""From options to objects: the seeded DataModule, set up, and the model it fits."""

from __future__ import annotations

import lightning as L
from jsonargparse import Namespace

from hqnn_lightning.data import create_datamodule
from hqnn_lightning.data.feature_cache import FeatureCacheDataModule
from hqnn_lightning.data.index_cache import DEFAULT_CACHE_DIR
from hqnn_lightning.models import create_model
from hqnn_lightning.run.options import FROM_DATA, constructor_arguments

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
    A model built with ``precompute_features`` trains on its frozen front part's outputs,
    computed once and cached under ``config.cache_dir`` (`FeatureCacheDataModule`).

    Raises:
        BUILD_ERRORS: an option names something unknown or does not fit; the message says
            which.
    """
    L.seed_everything(config.seed, workers=True)
    # Without a DataModule that takes it, --cache-dir is the feature cache's place.
    feature_cache = {"cache_dir"} if config.get("precompute_features") else set()
    model_arguments, data_arguments = constructor_arguments(config, used_elsewhere=feature_cache)
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
