"""hqnn_lightning: does a quantum layer help a neural network classify images, and at what cost?

The public classes and functions are importable from here::

    from hqnn_lightning import DigitsDataModule, HybridVQC, QuantumLayer
"""

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
from hqnn_lightning.run.callbacks import EpochTimer
from hqnn_lightning.run.hardware_evaluation import RetryPolicy, evaluate_checkpoint
from hqnn_lightning.run.loggers import create_logger
from hqnn_lightning.utils.registry import Registry

__version__ = "0.1.0"

__all__ = [
    "DATAMODULES",
    "KNOWN_DEVICES",
    "MODELS",
    "ClassicalResNet",
    "ClassificationMetricsMixin",
    "DigitsDataModule",
    "EpochTimer",
    "HybridVQC",
    "ImageClassificationDataModule",
    "ImageClassifier",
    "QuantumDevice",
    "QuantumLayer",
    "QuanvNet",
    "QuanvolutionFilterCircuit",
    "QuanvolutionLayer",
    "Registry",
    "RetryPolicy",
    "SyntheticImageDataModule",
    "TorchStatevectorLayer",
    "VariationalClassifierCircuit",
    "create_backbone",
    "create_datamodule",
    "create_logger",
    "create_model",
    "evaluate_checkpoint",
    "make_device",
    "make_layer",
    "parameter_counts",
    "quanvolution_filter_qnode",
    "stratified_split",
    "variational_classifier_qnode",
]
