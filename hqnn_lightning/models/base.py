"""The LightningModule base of every classifier in the library."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any, ClassVar

import lightning as L
import torch
import torch.nn.functional as F
from lightning.pytorch.utilities.types import OptimizerLRScheduler
from torch import nn
from torchmetrics import MeanMetric, MetricCollection

from hqnn_lightning.models import frozen_state
from hqnn_lightning.models.metrics import ClassificationMetricsMixin
from hqnn_lightning.models.recipe import trainer_recipe
from hqnn_lightning.preflight import InputProblem
from hqnn_lightning.quantum.module import quantum_modules

Batch = tuple[torch.Tensor, torch.Tensor]
"""``(inputs, labels)``: images ``(B, C, H, W)`` (or cached features) and int64 ``(B,)``."""


def is_plain(value: Any) -> bool:
    """Whether ``value`` is data that hparams record as it is (``None``, a number, a string, a
    list or tuple of them, a dict of them by strings); anything else (a circuit object) is
    recorded as its ``repr`` and must be passed again to ``load_from_checkpoint``."""
    if isinstance(value, list | tuple):
        return all(is_plain(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(key, str) and is_plain(item) for key, item in value.items())
    return value is None or isinstance(value, bool | int | float | str)


class ImageClassifier(ClassificationMetricsMixin, L.LightningModule):
    """Images ``(B, C, H, W)`` to logits ``(B, num_classes)``, trained with cross-entropy.

    Every model is a front part ``(B, C, H, W) -> (B, *feature_shape)`` followed by
    `classify_features`. Built with ``precompute_features=True``, a model's train, val and test
    batches hold the front part's output instead of images (`FeatureCacheDataModule` computes
    it once, from `feature_extractor`), so each step runs only `classify_features`; ``forward``
    still takes images.

    Gives subclasses the shared metrics and steps, AdamW with a cosine learning-rate decay
    over ``max_epochs``, and frozen sub-modules that stay in eval mode (their batch-norm
    statistics do not drift while the rest trains). Each class takes what it uses as
    constructor arguments and passes its parents theirs; the constructor then records, as
    ``self.hparams`` (checkpoints, loggers, ``load_from_checkpoint``), the arguments of the
    class that was built and its own (`recorded_arguments`).

    Args:
        num_classes: Number of classes.
        lr: Learning rate, under any optimizer (AdamW unless ``--optimizer``).
        weight_decay: Weight decay of every parameter group, under any optimizer.
        q_lr: Learning rate of the weights of the model's quantum modules
            (`quantum_parameters`); ``None`` uses ``lr``.
        precompute_features: Steps take the front part's cached output rather than images.
    """

    feature_shape: tuple[int, ...]
    """Shape of one sample's features, the output of the front part (``(F,)`` for a
    backbone); subclasses set it."""

    replaced_by_objects: ClassVar[dict[str, tuple[str, ...]]] = {}
    """Arguments that take an object (``"circuit"``) and the options it replaces: with the
    object given, hparams record its ``repr`` and leave those options out."""

    input_problem: ClassVar[InputProblem | None] = None
    """Why this model's options (``{argument: value}``, all of them, the unset ones at their
    defaults) cannot build it, as one sentence, or ``None``: a function that imports no
    torch, Lightning or PennyLane, so that the command line refuses them before importing the
    library (`hqnn_lightning.preflight`), in the words the constructor would use. ``None``:
    nothing to check before then."""

    def __init__(
        self,
        num_classes: int,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        q_lr: float | None = None,
        precompute_features: bool = False,
    ) -> None:
        super().__init__()
        # Every constructor's arguments, the built class's last (Lightning's collection), of
        # which recorded_arguments keeps the built class's and this one's.
        self.save_hyperparameters()
        arguments = dict(self.hparams)
        self.hparams.clear()
        self.save_hyperparameters(self.recorded_arguments(arguments))
        self.num_classes = num_classes
        self.precompute_features = precompute_features
        self._init_metrics(num_classes)
        self._frozen: list[nn.Module] = []
        # Whether the frozen part holds what its source builds: false once a checkpoint with
        # other frozen tensors is loaded, whose checkpoints then keep them.
        self._frozen_from_source = True
        self._fingerprint_cache: tuple[tuple[tuple[int, int], ...], dict] | None = None
        # The frozen tensors' names in frozen_state's order, for the frozen modules (by id).
        self._frozen_names: tuple[tuple[int, ...], tuple[str, ...]] | None = None
        self._mode_before_validation = True

    def recorded_arguments(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """What ``self.hparams`` records of the constructors' ``arguments``: those of the class
        that was built (all of them if it takes ``**kwargs``) and of `ImageClassifier`, with
        ``q_lr`` as used (``lr`` when unset), and each argument that is not a plain value (a
        circuit object) as its ``repr``: Lightning's pattern for objects passed to
        ``__init__``, which are not saved but passed again to ``load_from_checkpoint``; an
        object given leaves out the options it replaces (`replaced_by_objects`)."""
        built = inspect.signature(type(self).__init__).parameters
        if not any(p.kind == p.VAR_KEYWORD for p in built.values()):
            own = inspect.signature(ImageClassifier.__init__).parameters
            arguments = {k: v for k, v in arguments.items() if k in built or k in own}
        for name, replaced in self.replaced_by_objects.items():
            if arguments.get(name) is not None:
                arguments = {k: v for k, v in arguments.items() if k not in replaced}
        if arguments["q_lr"] is None:
            arguments["q_lr"] = arguments["lr"]
        return {
            name: value if is_plain(value) else repr(value) for name, value in arguments.items()
        }

    def setup(self, stage: str) -> None:
        """Checks, before any batch, that the DataModule has the model's number of classes.

        Raises:
            ValueError: the two disagree (labels would fall outside the logits).
        """
        datamodule = self.trainer.datamodule
        data_classes = getattr(datamodule, "num_classes", None)
        model_classes = self.num_classes
        if data_classes is not None and data_classes != model_classes:
            raise ValueError(
                f"{type(self).__name__} was built with num_classes={model_classes} but "
                f"{type(datamodule).__name__} has {data_classes} classes; build the model with "
                "num_classes=datamodule.num_classes"
            )

    def freeze_module(self, module: nn.Module) -> None:
        """Stops training ``module``: no gradients, and eval mode even during ``fit``."""
        module.requires_grad_(False)
        module.eval()
        self._frozen.append(module)

    def train(self, mode: bool = True) -> ImageClassifier:
        """Sets ``mode`` on every module but the frozen ones, which stay in eval mode; their
        sub-modules (a frozen backbone's hundreds, at every validation) are not visited."""
        _set_training(self, mode, {id(module) for module in self._frozen})
        return self

    def on_validation_model_eval(self) -> None:
        self._mode_before_validation = self.training
        super().on_validation_model_eval()

    def on_validation_model_train(self) -> None:
        """Gives the model back the mode it had before the validation, with `train`: in place
        of Lightning's restoring of every sub-module's own mode, which walks the frozen
        modules too. The same modes: every module but the frozen ones had the model's."""
        self.trainer.model.train(self._mode_before_validation)

    def on_validation_model_zero_grad(self) -> None:
        """Releases the gradients before a validation, as Lightning's hook does (``grad =
        None``), of the parameters outside the frozen modules, which have none."""
        for module in _outside(self, {id(module) for module in self._frozen}):
            for parameter in module.parameters(recurse=False):
                parameter.grad = None

    def feature_extractor(self) -> nn.Module:
        """The fixed front part ``(B, C, H, W) -> (B, *feature_shape)`` whose output
        `FeatureCacheDataModule` caches for ``precompute_features=True``; it describes itself
        (``describe()``) for the cache's key.

        Raises:
            ValueError: the front part trains, so its output changes at every step (the
                message names the option that fixes it).
        """
        raise NotImplementedError(f"{type(self).__name__} has no cacheable feature extractor")

    def classify_features(self, features: torch.Tensor) -> torch.Tensor:
        """What follows `feature_extractor`: ``(B, *feature_shape) -> (B, num_classes)``."""
        raise NotImplementedError(f"{type(self).__name__} does not classify features")

    def monitored_parts(self) -> dict[str, nn.Module]:
        """The parts whose gradients the trainability monitor follows, in the order data goes
        through them (``{"backbone": ..., "projection": ..., ...}``; see
        `hqnn_lightning.run.trainability`).

        The names are shared across models, so that a quantum model and its classical control
        fill the same columns. A part that a step does not run (the front part when
        ``precompute_features`` serves its cached output) is left out. By default the model's
        quantum modules (`quantum_modules`: any `QuantumModule`, a researcher's own
        included) by their attribute names, so the monitor is on for every model that has one.
        """
        return dict(quantum_modules(self))

    def check_checkpoint_fits(self, checkpoint: dict[str, Any]) -> None:
        """Raises ``ValueError``, saying why and how to load it, when ``checkpoint`` (a
        Lightning checkpoint's dict) cannot hold this model's weights for a reason its names
        and shapes alone would not explain; nothing by default. Called before any weight is
        loaded, by `on_load_checkpoint` and by ``--resume``'s check."""

    def frozen_source(self) -> dict[str, Any] | None:
        """Where the frozen modules' tensors come from, as plain values (``{"arch": ...,
        "backbone_weights": "imagenet", ...}``), when building the model again from its
        hyper-parameters gives those tensors again, so that checkpoints leave them out
        (`hqnn_lightning.models.frozen_state`); ``None`` (the default) keeps them in every
        checkpoint."""
        return None

    def frozen_fingerprint(
        self, state: dict[str, torch.Tensor] | None = None
    ) -> dict[str, Any] | None:
        """The fingerprint of the frozen part (`frozen_state.fingerprint`), hashed again only
        when one of its tensors has changed; ``None`` without a `frozen_source`. ``state``:
        the frozen part's tensors (`frozen_state.frozen_state`), where the caller has them."""
        source = self.frozen_source()
        if source is None or not self._frozen:
            return None
        if state is None:
            state = frozen_state.frozen_state(self, self._frozen)
        witness = frozen_state.version_witness(state)
        if self._fingerprint_cache is None or self._fingerprint_cache[0] != witness:
            found = frozen_state.fingerprint(source, self._frozen, state)
            self._fingerprint_cache = (witness, found)
        return dict(self._fingerprint_cache[1])

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Leaves the frozen part out of ``checkpoint`` when the model builds it again from its
        `frozen_source`, with its fingerprint in its place."""
        if not self._frozen_from_source or self.frozen_source() is None or not self._frozen:
            return
        state = self._saved_frozen_state(checkpoint["state_dict"])
        frozen_state.leave_out(checkpoint, state, self.frozen_fingerprint(state))

    def _saved_frozen_state(self, saved: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """`frozen_state.frozen_state`, in its order, taken from ``saved`` (the checkpoint's
        ``state_dict``, the same detached tensors) by names found once for these frozen
        modules, rather than from the frozen modules' own state dicts at every save."""
        modules = tuple(map(id, self._frozen))
        if self._frozen_names is None or self._frozen_names[0] != modules:
            names = tuple(frozen_state.frozen_state(self, self._frozen))
            self._frozen_names = (modules, names)
        names = self._frozen_names[1]
        if all(name in saved for name in names):
            return {name: saved[name] for name in names}
        return frozen_state.frozen_state(self, self._frozen)

    def restore_frozen_state(self, checkpoint: dict[str, Any]) -> None:
        """Puts this model's frozen tensors into ``checkpoint["state_dict"]`` when the
        checkpoint left them out and its fingerprint is this model's
        (`frozen_state.put_back`); called before any weight is loaded.

        Raises:
            ValueError: the fingerprints differ; the message names both sources.
        """
        state = frozen_state.frozen_state(self, self._frozen)
        frozen_state.put_back(checkpoint, state, self.frozen_fingerprint(state))

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.restore_frozen_state(checkpoint)
        self.check_checkpoint_fits(checkpoint)
        if frozen_state.FINGERPRINT_KEY not in checkpoint and self.frozen_source() is not None:
            # A checkpoint that holds its frozen tensors (one saved before they were left out):
            # if they are not the source's, later checkpoints must keep them too.
            own = frozen_state.frozen_state(self, self._frozen)
            saved = checkpoint["state_dict"]
            self._frozen_from_source = all(
                name in saved and torch.equal(saved[name].to(tensor.device), tensor)
                for name, tensor in own.items()
            )

    def check_precompute_features(self) -> None:
        """Refuses ``precompute_features=True`` when the model is built, if its front part
        trains; subclasses call it once the front part exists.

        Raises:
            ValueError: see `feature_extractor`.
        """
        if self.precompute_features:
            self.feature_extractor()

    def _batch_logits(self, inputs: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, num_classes)`` of a batch's inputs: images ``(B, C, H, W)``, or the
        cached features ``(B, *feature_shape)`` with ``precompute_features``.

        Raises:
            ValueError: ``precompute_features`` and inputs that are not such features.
        """
        if not self.precompute_features:
            return self(inputs)
        if tuple(inputs.shape[1:]) != tuple(self.feature_shape):
            raise ValueError(
                "precompute_features=True expects batches of (B, F) features, here "
                f"(B, {', '.join(map(str, self.feature_shape))}), got {tuple(inputs.shape)}; "
                "wrap the DataModule in FeatureCacheDataModule"
            )
        return self.classify_features(inputs)

    def _step(self, batch: Batch, stage: str) -> torch.Tensor:
        inputs, labels = batch
        logits = self._batch_logits(inputs)
        loss = F.cross_entropy(logits, labels)
        metrics: MetricCollection = getattr(self, f"{stage}_metrics")
        metrics.update(logits.detach(), labels)
        if stage == "test":
            self._record_test_predictions(logits.detach(), labels)
            if self.test_confusion is not None:
                self.test_confusion.update(logits.detach(), labels)
        mean_loss: MeanMetric = getattr(self, f"{stage}_loss")
        mean_loss.update(loss.detach(), weight=labels.shape[0])
        if stage != "train":  # the train stage logs in on_train_epoch_end
            self.log(f"{stage}/loss", mean_loss, on_step=False, on_epoch=True, prog_bar=True)
            self.log_dict(metrics, on_step=False, on_epoch=True, prog_bar=True)
        return loss

    def training_step(self, batch: Batch, batch_idx: int) -> torch.Tensor:
        return self._step(batch, "train")

    def validation_step(self, batch: Batch, batch_idx: int) -> None:
        self._step(batch, "val")

    def test_step(self, batch: Batch, batch_idx: int) -> None:
        self._step(batch, "test")

    def on_train_epoch_start(self) -> None:
        self.train_metrics.reset()
        self.train_loss.reset()

    def on_train_epoch_end(self) -> None:
        self.log("train/loss", self.train_loss.compute(), prog_bar=True)
        self.log_dict(self.train_metrics.compute())

    def on_test_epoch_start(self) -> None:
        self._test_predictions.clear()
        if self.test_confusion is not None:
            self.test_confusion.reset()

    def configure_optimizers(self) -> OptimizerLRScheduler:
        """The optimizer and scheduler of the `TrainingRecipe` among the Trainer's callbacks;
        without one, AdamW with a cosine decay over ``max_epochs``. The circuits' weights form
        a group of their own at learning rate ``q_lr`` when the model takes one and it is set
        (`hqnn_lightning.models.recipe.parameter_groups`)."""
        trainer = self._trainer  # None outside a fit, where the trainer property raises
        max_epochs = trainer.max_epochs if trainer is not None else None
        return trainer_recipe(trainer).configure_optimizers(self, max_epochs)


def _set_training(module: nn.Module, mode: bool, frozen: set[int]) -> None:
    """``module.train(mode)``, but the ``frozen`` modules (by ``id``) stay in eval mode and
    their sub-modules are not visited."""
    module.training = mode
    for child in module.children():
        if id(child) in frozen:
            if child.training:
                child.eval()
        elif _holds_any(child, frozen):
            _set_training(child, mode, frozen)
        else:
            child.train(mode)


def _holds_any(module: nn.Module, frozen: set[int]) -> bool:
    """Whether one of ``frozen`` (by ``id``) lies below ``module``, found without walking it."""
    return any(id(child) in frozen or _holds_any(child, frozen) for child in module.children())


def _outside(module: nn.Module, frozen: set[int]) -> Iterator[nn.Module]:
    """``module`` and its sub-modules but the ``frozen`` ones (by ``id``) and theirs."""
    yield module
    for child in module.children():
        if id(child) not in frozen:
            yield from _outside(child, frozen)
