"""The data a run trains on, recorded as ``dataset.json`` in its directory: the class names,
their count, the image size and the channels. A resumed run builds its DataModule again, from
a ``--data-dir`` that may have changed since, and must find the same."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import lightning as L

from hqnn_lightning.data.feature_cache import FeatureCacheDataModule
from hqnn_lightning.utils.files import read_json_object, write_text_atomically

DATASET_FILE = "dataset.json"


def describe_dataset(datamodule: L.LightningDataModule) -> dict[str, Any]:
    """``{"class_names", "num_classes", "image_size", "num_channels"}`` of ``datamodule`` (set
    up), of the images a feature cache was computed from for a `FeatureCacheDataModule`."""
    if isinstance(datamodule, FeatureCacheDataModule):
        datamodule = datamodule.datamodule
    return {
        "class_names": list(datamodule.class_names),
        "num_classes": datamodule.num_classes,
        "image_size": datamodule.image_size,
        "num_channels": datamodule.num_channels,
    }


def write_dataset_record(run_dir: Path, datamodule: L.LightningDataModule) -> None:
    """Writes `describe_dataset` as ``run_dir/dataset.json``."""
    record = json.dumps(describe_dataset(datamodule), indent=2)
    write_text_atomically(run_dir / DATASET_FILE, record + "\n")


def check_dataset_record(run_dir: Path, datamodule: L.LightningDataModule) -> None:
    """Checks that ``datamodule`` holds the data ``run_dir`` recorded; warns for a run written
    before runs recorded it.

    Raises:
        ValueError: the class names, their count, the image size or the channels differ, or
            ``dataset.json`` is corrupt; the message names what.
    """
    path = run_dir / DATASET_FILE
    if not path.is_file():
        warnings.warn(
            f"{run_dir} has no {DATASET_FILE} (written before runs recorded their data), so "
            "the classes of this command's data are not checked against the run's",
            stacklevel=2,
        )
        return
    recorded = read_json_object(path)
    differences = dataset_differences(describe_dataset(datamodule), recorded)
    if differences:
        raise ValueError(
            f"this command's data is not the data {run_dir} trained on ({DATASET_FILE}): "
            f"{'; '.join(differences)}. Point --data-dir at the run's data, or start a new run"
        )


def dataset_differences(now: dict[str, Any], recorded: dict[str, Any]) -> list[str]:
    """What differs between two `describe_dataset` records, one phrase each."""
    differences = [
        f"{key} {now[key]} (run: {recorded.get(key)})"
        for key in ("num_classes", "image_size", "num_channels")
        if now[key] != recorded.get(key)
    ]
    names, recorded_names = now["class_names"], list(recorded.get("class_names", []))
    if names != recorded_names:
        added = [name for name in names if name not in recorded_names]
        dropped = [name for name in recorded_names if name not in names]
        if added:
            differences.append(f"classes the run did not have: {_listed(added)}")
        if dropped:
            differences.append(f"the run's classes missing: {_listed(dropped)}")
        if not added and not dropped:
            differences.append("the same classes in another order")
    return differences


def _listed(names: list[str]) -> str:
    shown = ", ".join(names[:5])
    return shown + (f" and {len(names) - 5} more" if len(names) > 5 else "")
