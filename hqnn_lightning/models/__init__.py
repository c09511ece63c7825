"""LightningModules: the classical baseline, the hybrid VQC and the quanvolutional net.

Importing this package registers every model in `MODELS`.
"""

from hqnn_lightning.models.backbone_classifier import BackboneClassifier
from hqnn_lightning.models.backbones import BACKBONES, SmallCNN, create_backbone
from hqnn_lightning.models.base import ImageClassifier
from hqnn_lightning.models.bottleneck import BottleneckClassifier
from hqnn_lightning.models.classical import ClassicalResNet
from hqnn_lightning.models.conv_control import ConvControlNet
from hqnn_lightning.models.filter_classifier import FilterClassifier
from hqnn_lightning.models.hybrid import HybridVQC
from hqnn_lightning.models.hybrid_control import HybridControl
from hqnn_lightning.models.hybrid_fourier import HybridFourier
from hqnn_lightning.models.metrics import ClassificationMetricsMixin
from hqnn_lightning.models.quanv import QuanvNet
from hqnn_lightning.models.registry import MODELS, create_model
from hqnn_lightning.models.summary import parameter_counts

__all__ = [
    "BACKBONES",
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
    "SmallCNN",
    "create_backbone",
    "create_model",
    "parameter_counts",
]
