"""Stanford Cars and VMMRdb as one dataset, labelled by (make, model, year)."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lightning.pytorch.utilities import rank_zero_info

from hqnn_lightning.data.car_base import CarDataModule, CarIndex
from hqnn_lightning.data.image_files import ImageSample
from hqnn_lightning.data.registry import DATAMODULES
from hqnn_lightning.data.stanford_cars import READERS
from hqnn_lightning.data.taxonomy import (
    CarLabel,
    TaxonomyMatch,
    match_keys,
    parse_stanford_name,
    parse_vmmrdb_name,
)
from hqnn_lightning.data.vmmrdb import read_vmmrdb_index
from hqnn_lightning.preflight.car_layouts import (
    STANFORD_DIR,
    VMMRDB_DIR,
    combined_directories,
    combined_problem,
    stanford_cars_layout,
)
from hqnn_lightning.preflight.data_arguments import check_keep, check_split_fractions


@DATAMODULES.register("combined")
class CombinedCarsDataModule(CarDataModule):
    """Stanford Cars + VMMRdb with one (make, model, year) class per car.

    Each dataset's class names are parsed into a `CarLabel`
    whose ``key`` (``mercedes_benz_c_class_2012``) is the combined class. Stanford's body styles
    merge (its "Silverado 1500 Regular Cab" and "Extended Cab" are one class). The match between
    the two datasets is kept in `taxonomy_match`; its summary is logged (Lightning's
    logger, INFO) at setup. Stanford keeps its official test split; VMMRdb's is drawn per
    class from ``split_seed`` (``seed`` when unset).

    Args:
        data_dir: Parent of both datasets.
        stanford_dir: Stanford Cars, in any layout (default ``data_dir/stanford_cars``).
        vmmrdb_dir: VMMRdb class folders (default ``data_dir/vmmrdb``).
        keep: ``"matched"``: only classes present in both datasets; ``"union"``: all classes.
        crop_to_bbox: Crop Stanford images to their bounding boxes.
        min_images_per_class: Drop VMMRdb classes with fewer images.
        test_fraction: Fraction of each class held out for testing (VMMRdb's images here;
            Stanford Cars keeps its own test split).
        **kwargs: The other arguments of `CarDataModule`, with the same defaults.
    """

    input_problem = staticmethod(combined_problem)

    def __init__(
        self,
        data_dir: str,
        stanford_dir: str | None = None,
        vmmrdb_dir: str | None = None,
        keep: str = "matched",
        crop_to_bbox: bool = False,
        min_images_per_class: int = 10,
        test_fraction: float = 0.2,
        **kwargs: Any,
    ) -> None:
        super().__init__(data_dir, **kwargs)
        check_keep(keep)
        check_split_fractions(self.val_fraction, test_fraction)
        self.stanford_dir, self.vmmrdb_dir = combined_directories(
            data_dir, stanford_dir, vmmrdb_dir
        )
        self.keep = keep
        self.crop_to_bbox = crop_to_bbox
        self.min_images_per_class = min_images_per_class
        self.test_fraction = test_fraction
        self.taxonomy_match: TaxonomyMatch | None = None

    def load_index(self) -> CarIndex:
        layout = stanford_cars_layout(
            self.stanford_dir, self.crop_to_bbox, STANFORD_DIR, can_download=False
        )
        stanford = READERS[layout](self.stanford_dir, self.crop_to_bbox)
        vmmrdb = read_vmmrdb_index(
            self.vmmrdb_dir,
            self.min_images_per_class,
            self.test_fraction,
            self.data_seed,
            VMMRDB_DIR,
        )
        stanford_key = _label_keys(stanford.class_names, parse_stanford_name, self.stanford_dir)
        vmmrdb_key = _label_keys(vmmrdb.class_names, parse_vmmrdb_name, self.vmmrdb_dir)
        self.taxonomy_match = match_keys(stanford_key, vmmrdb_key)
        rank_zero_info(self.taxonomy_match.summary())
        if self.keep == "matched":
            kept = set(self.taxonomy_match.matched)
        else:
            kept = set(stanford_key.values()) | set(vmmrdb_key.values())

        def relabel(samples: list[ImageSample], key_of: dict[str, str]) -> list[ImageSample]:
            return [
                dataclasses.replace(sample, class_name=key_of[sample.class_name])
                for sample in samples
                if key_of.get(sample.class_name) in kept
            ]

        return CarIndex(
            sorted(kept),
            relabel(stanford.train, stanford_key) + relabel(vmmrdb.train, vmmrdb_key),
            relabel(stanford.test, stanford_key) + relabel(vmmrdb.test, vmmrdb_key),
        )


def _label_keys(names: list[str], parse: Callable[[str], CarLabel], source: Path) -> dict[str, str]:
    """Each class name's taxonomy key; names without make/model/year are skipped, warned once."""
    keys: dict[str, str] = {}
    unparsed: list[str] = []
    for name in names:
        try:
            keys[name] = parse(name).key
        except ValueError:
            unparsed.append(name)
    if unparsed:
        warnings.warn(
            f"{source}: skipped {len(unparsed)} class(es) with no make/model/year in their "
            f"name, e.g. {', '.join(unparsed[:3])}",
            stacklevel=2,
        )
    return keys
