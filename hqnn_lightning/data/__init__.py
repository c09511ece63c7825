"""Image-classification DataModules, their registry, and the pieces they are built from."""

from __future__ import annotations

from hqnn_lightning.data.base import ImageClassificationDataModule
from hqnn_lightning.data.car_base import CarDataModule, CarIndex, ImageFileDataset
from hqnn_lightning.data.class_selection import CLASS_SELECTIONS, select_classes
from hqnn_lightning.data.combined import CombinedCarsDataModule
from hqnn_lightning.data.digits import DigitsDataModule
from hqnn_lightning.data.image_files import ImageSample, find_unreadable, load_rgb
from hqnn_lightning.data.registry import DATAMODULES, create_datamodule
from hqnn_lightning.data.splits import stratified_split
from hqnn_lightning.data.stanford_cars import StanfordCarsDataModule
from hqnn_lightning.data.synthetic import SyntheticImageDataModule
from hqnn_lightning.data.taxonomy import CarLabel, match_taxonomies
from hqnn_lightning.data.transforms import AugmentationConfig, eval_transform, train_transform
from hqnn_lightning.data.vmmrdb import VMMRdbDataModule

__all__ = [
    "CLASS_SELECTIONS",
    "DATAMODULES",
    "AugmentationConfig",
    "CarDataModule",
    "CarIndex",
    "CarLabel",
    "CombinedCarsDataModule",
    "DigitsDataModule",
    "ImageClassificationDataModule",
    "ImageFileDataset",
    "ImageSample",
    "StanfordCarsDataModule",
    "SyntheticImageDataModule",
    "VMMRdbDataModule",
    "create_datamodule",
    "eval_transform",
    "find_unreadable",
    "load_rgb",
    "match_taxonomies",
    "select_classes",
    "stratified_split",
    "train_transform",
]
