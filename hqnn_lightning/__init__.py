"""hqnn_lightning: does a quantum layer help a neural network classify images, and at what cost?

The public classes and functions are importable from here::

    from hqnn_lightning import DigitsDataModule, HybridVQC, QuantumLayer

Importing the package loads the data, models and quantum parts only. The runner's pieces
exported here (`EpochTimer`, `create_logger`) and hardware evaluation (`RetryPolicy`,
`evaluate_checkpoint`) are imported on first use (`__getattr__`), so that a script that needs
no logger or runner loads neither jsonargparse nor wandb, and no module of the package it
loads imports matplotlib (PennyLane and torchmetrics import it themselves when installed).
The other public names of ``data``, ``models`` and ``quantum`` that the documentation uses
(the car DataModules, the controls, the circuit parts and their registries) are exported on
first use as well.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from hqnn_lightning.data import (
    DATAMODULES,
    DigitsDataModule,
    ImageClassificationDataModule,
    SyntheticImageDataModule,
    create_datamodule,
    stratified_split,
)
from hqnn_lightning.models import (
    MODELS,
    ClassicalResNet,
    ClassificationMetricsMixin,
    HybridVQC,
    ImageClassifier,
    QuanvNet,
    create_backbone,
    create_model,
    parameter_counts,
)
from hqnn_lightning.quantum import (
    KNOWN_DEVICES,
    QuantumDevice,
    QuantumLayer,
    QuanvolutionFilterCircuit,
    QuanvolutionLayer,
    TorchStatevectorLayer,
    VariationalClassifierCircuit,
    make_device,
    make_layer,
    quanvolution_filter_qnode,
    variational_classifier_qnode,
)
from hqnn_lightning.utils.registry import Registry

if TYPE_CHECKING:
    from hqnn_lightning.hardware import RetryPolicy, evaluate_checkpoint
    from hqnn_lightning.run.callbacks import EpochTimer
    from hqnn_lightning.run.loggers import create_logger

_IMPORTED_ON_FIRST_USE = {
    "CarDataModule": "hqnn_lightning.data",
    "CombinedCarsDataModule": "hqnn_lightning.data",
    "StanfordCarsDataModule": "hqnn_lightning.data",
    "VMMRdbDataModule": "hqnn_lightning.data",
    "BackboneClassifier": "hqnn_lightning.models",
    "BottleneckClassifier": "hqnn_lightning.models",
    "ConvControlNet": "hqnn_lightning.models",
    "FilterClassifier": "hqnn_lightning.models",
    "HybridControl": "hqnn_lightning.models",
    "HybridFourier": "hqnn_lightning.models",
    "ENCODINGS": "hqnn_lightning.quantum",
    "ENTANGLERS": "hqnn_lightning.quantum",
    "INITIALISATIONS": "hqnn_lightning.quantum",
    "READOUTS": "hqnn_lightning.quantum",
    "DeviceInfo": "hqnn_lightning.quantum",
    "Encoding": "hqnn_lightning.quantum",
    "Entangler": "hqnn_lightning.quantum",
    "Initialisation": "hqnn_lightning.quantum",
    "QuantumCircuit": "hqnn_lightning.quantum",
    "Readout": "hqnn_lightning.quantum",
    "layer_on_device": "hqnn_lightning.quantum",
    "EpochTimer": "hqnn_lightning.run.callbacks",
    "RetryPolicy": "hqnn_lightning.hardware",
    "evaluate_checkpoint": "hqnn_lightning.hardware",
    "create_logger": "hqnn_lightning.run.loggers",
}
"""Names exported here on first use: those of the runner and hardware evaluation, whose modules
load Lightning's loggers, wandb or matplotlib, and the rest of the data, models and quantum
packages' public classes."""

__version__ = "0.1.0"

__all__ = [
    "DATAMODULES",
    "ENCODINGS",
    "ENTANGLERS",
    "INITIALISATIONS",
    "KNOWN_DEVICES",
    "MODELS",
    "READOUTS",
    "BackboneClassifier",
    "BottleneckClassifier",
    "CarDataModule",
    "ClassicalResNet",
    "ClassificationMetricsMixin",
    "CombinedCarsDataModule",
    "ConvControlNet",
    "DeviceInfo",
    "DigitsDataModule",
    "Encoding",
    "Entangler",
    "EpochTimer",
    "FilterClassifier",
    "HybridControl",
    "HybridFourier",
    "HybridVQC",
    "ImageClassificationDataModule",
    "ImageClassifier",
    "Initialisation",
    "QuantumCircuit",
    "QuantumDevice",
    "QuantumLayer",
    "QuanvNet",
    "QuanvolutionFilterCircuit",
    "QuanvolutionLayer",
    "Readout",
    "Registry",
    "RetryPolicy",
    "StanfordCarsDataModule",
    "SyntheticImageDataModule",
    "TorchStatevectorLayer",
    "VMMRdbDataModule",
    "VariationalClassifierCircuit",
    "create_backbone",
    "create_datamodule",
    "create_logger",
    "create_model",
    "evaluate_checkpoint",
    "layer_on_device",
    "make_device",
    "make_layer",
    "parameter_counts",
    "quanvolution_filter_qnode",
    "stratified_split",
    "variational_classifier_qnode",
]


def __getattr__(name: str) -> Any:
    """Imports the names of `_IMPORTED_ON_FIRST_USE` when first asked for (PEP 562)."""
    if name not in _IMPORTED_ON_FIRST_USE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(_IMPORTED_ON_FIRST_USE[name]), name)
    globals()[name] = value
    return value
