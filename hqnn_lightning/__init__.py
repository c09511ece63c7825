"""hqnn_lightning: does a quantum layer help a neural network classify images, and at what cost?

The public classes and functions are importable from here::

    from hqnn_lightning import DigitsDataModule, HybridVQC, QuantumLayer

Each is imported on first use (`utils.lazy_exports`, PEP 562): importing the package loads nothing
else, so that the command line answers ``--help`` or refuses an option without Lightning or
PennyLane, and a script loads only what it uses (no jsonargparse or wandb unless it uses the
runner's pieces, no matplotlib of the package's own).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hqnn_lightning.utils.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from hqnn_lightning.data import (
        DATAMODULES,
        CarDataModule,
        CombinedCarsDataModule,
        DigitsDataModule,
        ImageClassificationDataModule,
        StanfordCarsDataModule,
        SyntheticImageDataModule,
        VMMRdbDataModule,
        create_datamodule,
        stratified_split,
    )
    from hqnn_lightning.hardware import (
        RetryPolicy,
        evaluate_checkpoint,
    )
    from hqnn_lightning.models import (
        MODELS,
        BackboneClassifier,
        BottleneckClassifier,
        ClassicalResNet,
        ClassificationMetricsMixin,
        ConvControlNet,
        FilterClassifier,
        HybridControl,
        HybridFourier,
        HybridVQC,
        ImageClassifier,
        QuanvNet,
        create_backbone,
        create_model,
        parameter_counts,
    )
    from hqnn_lightning.quantum import (
        ENCODINGS,
        ENTANGLERS,
        INITIALISATIONS,
        KNOWN_DEVICES,
        READOUTS,
        DeviceInfo,
        Encoding,
        Entangler,
        Initialisation,
        QuantumCircuit,
        QuantumDevice,
        QuantumLayer,
        QuanvolutionFilterCircuit,
        QuanvolutionLayer,
        Readout,
        TorchStatevectorLayer,
        VariationalClassifierCircuit,
        layer_on_device,
        make_device,
        make_layer,
        quanvolution_filter_qnode,
        variational_classifier_qnode,
    )
    from hqnn_lightning.run.callbacks import (
        EpochTimer,
    )
    from hqnn_lightning.run.loggers import (
        create_logger,
    )
    from hqnn_lightning.utils.registry import (
        Registry,
    )

_MODULES = {
    "hqnn_lightning.data": (
        "DATAMODULES",
        "CarDataModule",
        "CombinedCarsDataModule",
        "DigitsDataModule",
        "ImageClassificationDataModule",
        "StanfordCarsDataModule",
        "SyntheticImageDataModule",
        "VMMRdbDataModule",
        "create_datamodule",
        "stratified_split",
    ),
    "hqnn_lightning.hardware": (
        "RetryPolicy",
        "evaluate_checkpoint",
    ),
    "hqnn_lightning.models": (
        "MODELS",
        "BackboneClassifier",
        "BottleneckClassifier",
        "ClassicalResNet",
        "ClassificationMetricsMixin",
        "ConvControlNet",
        "FilterClassifier",
        "HybridControl",
        "HybridFourier",
        "HybridVQC",
        "ImageClassifier",
        "QuanvNet",
        "create_backbone",
        "create_model",
        "parameter_counts",
    ),
    "hqnn_lightning.quantum": (
        "ENCODINGS",
        "ENTANGLERS",
        "INITIALISATIONS",
        "KNOWN_DEVICES",
        "READOUTS",
        "DeviceInfo",
        "Encoding",
        "Entangler",
        "Initialisation",
        "QuantumCircuit",
        "QuantumDevice",
        "QuantumLayer",
        "QuanvolutionFilterCircuit",
        "QuanvolutionLayer",
        "Readout",
        "TorchStatevectorLayer",
        "VariationalClassifierCircuit",
        "layer_on_device",
        "make_device",
        "make_layer",
        "quanvolution_filter_qnode",
        "variational_classifier_qnode",
    ),
    "hqnn_lightning.run.callbacks": ("EpochTimer",),
    "hqnn_lightning.run.loggers": ("create_logger",),
    "hqnn_lightning.utils.registry": ("Registry",),
}
"""Where each exported name lives."""

__getattr__, __dir__ = lazy_exports(__name__, _MODULES)

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
