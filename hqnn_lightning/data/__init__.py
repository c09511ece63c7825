"""Image-classification DataModules, their registry and the split they share."""

from __future__ import annotations

from hqnn_lightning.data.base import ImageClassificationDataModule
from hqnn_lightning.data.digits import DigitsDataModule
from hqnn_lightning.data.registry import DATAMODULES, create_datamodule
from hqnn_lightning.data.splits import stratified_split
from hqnn_lightning.data.synthetic import SyntheticImageDataModule

__all__ = [
    "DATAMODULES",
    "DigitsDataModule",
    "ImageClassificationDataModule",
    "SyntheticImageDataModule",
    "create_datamodule",
    "stratified_split",
]
