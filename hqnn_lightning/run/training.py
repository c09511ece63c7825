"""Training one run: its directory, loggers and callbacks; fit, then validate and test the
best checkpoint (validate only, with ``--test false``), and write ``results.json``."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
from jsonargparse import Namespace
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger, Logger, WandbLogger

from hqnn_lightning.models import parameter_counts
from hqnn_lightning.run.callbacks import (
    AugmentationFigure,
    ConfusionMatrixFigure,
    CSVMetricsCheckpoint,
    EpochTimer,
    RelocatedCheckpointPaths,
    RngStateCheckpoint,
    SaveTestPredictions,
    StopOnNonFiniteLoss,
)
from hqnn_lightning.run.checkpoint_io import AtomicCheckpointIO
from hqnn_lightning.run.dataset_record import write_dataset_record
from hqnn_lightning.run.distributed import RUN_DIR_VARIABLE, is_global_zero, run_directory
from hqnn_lightning.run.last_checkpoint import EpochCheckpoint, SigtermCheckpoint, StepCheckpoint
from hqnn_lightning.run.lock import run_directory_lock
from hqnn_lightning.run.loggers import create_logger
from hqnn_lightning.run.options import build_parser
from hqnn_lightning.run.provenance import record_resumption, write_environment
from hqnn_lightning.run.quiet import quiet_run
from hqnn_lightning.run.recipe import extra_callbacks, trainer_arguments, training_recipe
from hqnn_lightning.run.resume import (
    record_wandb_run_id,
    resume_warnings_silenced,
    wandb_run_id,
)
from hqnn_lightning.run.resumption import Resumption
from hqnn_lightning.run.smoke import smoke_trainer_arguments
from hqnn_lightning.run.trainability import TrainabilityMonitor, wants_monitor
from hqnn_lightning.utils.files import remove_partial_files, write_text_atomically

MONITOR = "val/acc_top1"
"""The metric that picks the best checkpoint, which is validated and tested."""


def train(
    config: Namespace,
    datamodule: L.LightningDataModule,
    model: L.LightningModule,
    resumption: Resumption | None = None,
) -> dict[str, Any]:
    """Fits ``model`` (from ``resumption``'s checkpoint, into its run directory, if given),
    then validates and tests its best checkpoint. With ``config.test`` false (``--test
    false``, a search's trial) the best checkpoint is validated only: the test data are never
    loaded, and neither the test metrics nor the test confusion matrix and predictions are
    written.

    With several processes (``--devices 2 --strategy ddp``, SLURM, torchrun) every process
    runs this; they share one run directory, and only global rank 0 writes files and W&B.
    That process holds the run directory's lock (`run_directory_lock`) while it trains.
    Third-party messages that say nothing to a user of the library are left out
    (`quiet.quiet_run`).

    Returns:
        The results: model name, parameter counts, epochs, best validation and test metrics
        (validation only, and no ``test_classes_missing``, without testing), mean seconds per
        epoch, the run's directory, and, for a model that names its parts
        (unless ``--monitor-trainability false``), the trainability monitor's verdict and
        per-epoch figures under ``"trainability"`` (`TrainabilityMonitor.summary`).
    """
    try:
        run_dir = _run_directory(config, resumption, datamodule)
        with run_directory_lock(run_dir), quiet_run(datamodule, model):
            return _train(config, datamodule, model, resumption, run_dir)
    finally:
        os.environ.pop(RUN_DIR_VARIABLE, None)  # the next run in this process gets its own


@dataclass(frozen=True)
class RunCallbacks:
    """The callbacks of a run: the three whose state makes its results, and the rest (the
    runner's own, then ``--callbacks``; `TrainingRecipe` among them)."""

    best: ModelCheckpoint
    timer: EpochTimer
    trainability: TrainabilityMonitor | None
    others: list[L.Callback]

    def all(self) -> list[L.Callback]:
        found = [self.best, self.timer, *self.others]
        return found + ([self.trainability] if self.trainability is not None else [])


def _train(
    config: Namespace,
    datamodule: L.LightningDataModule,
    model: L.LightningModule,
    resumption: Resumption | None,
    run_dir: Path,
) -> dict[str, Any]:
    csv_logger = CSVLogger(run_dir, name="", version="csv")
    # Kept here: under fast_dev_run, trainer.loggers holds a stand-in instead.
    loggers = [csv_logger, *_dashboard(config, run_dir)]
    callbacks = _callbacks(config, model, run_dir, csv_logger)
    trainer = L.Trainer(
        **smoke_trainer_arguments(config.max_epochs),
        accelerator=config.accelerator,
        devices=config.devices,
        num_nodes=config.num_nodes,
        strategy=config.strategy,
        logger=loggers,
        callbacks=callbacks.all(),
        plugins=[AtomicCheckpointIO()],
        default_root_dir=run_dir,
        fast_dev_run=config.fast_dev_run,
        enable_progress_bar=config.progress_bar,
        log_every_n_steps=10,
        deterministic=config.deterministic,
        gradient_clip_val=config.gradient_clip_val,
        **trainer_arguments(config),
    )
    with resume_warnings_silenced(resumption is not None):
        trainer.fit(
            model,
            datamodule=datamodule,
            ckpt_path=resumption.checkpoint if resumption else None,
            weights_only=True,  # the library's checkpoints hold tensors and plain values only
        )
    results = _results(config, trainer, datamodule, model, callbacks, run_dir)
    if trainer.is_global_zero:
        write_text_atomically(run_dir / "results.json", json.dumps(results, indent=2))
        _finish_wandb(loggers)
    return results


def _callbacks(
    config: Namespace, model: L.LightningModule, run_dir: Path, csv_logger: CSVLogger
) -> RunCallbacks:
    """The run's callbacks: the best-model checkpoint, the epoch timer, the trainability
    monitor (for a model that names its parts), the runner's others and the recipe's."""
    checkpoints = run_dir / "checkpoints"
    best = ModelCheckpoint(
        dirpath=checkpoints,
        monitor=MONITOR,
        mode="max",
        filename="best-epoch{epoch}",
        auto_insert_metric_name=False,
        enable_version_counter=False,
    )
    others: list[L.Callback] = [
        StopOnNonFiniteLoss(),
        RngStateCheckpoint(),
        CSVMetricsCheckpoint(csv_logger),
        EpochCheckpoint(checkpoints, config.checkpoint_interval),
        SigtermCheckpoint(checkpoints),
        AugmentationFigure(run_dir),
        *([ConfusionMatrixFigure(run_dir), SaveTestPredictions(run_dir)] if config.test else []),
        RelocatedCheckpointPaths(checkpoints),
        training_recipe(config),
    ]
    if config.checkpoint_every_n_steps:
        others.append(StepCheckpoint(checkpoints, config.checkpoint_every_n_steps))
    others += extra_callbacks(config)
    wanted = config.monitor_trainability and wants_monitor(model)
    return RunCallbacks(best, EpochTimer(), TrainabilityMonitor() if wanted else None, others)


def _results(
    config: Namespace,
    trainer: L.Trainer,
    datamodule: L.LightningDataModule,
    model: L.LightningModule,
    callbacks: RunCallbacks,
    run_dir: Path,
) -> dict[str, Any]:
    """Validates and tests (``config.test``) the best checkpoint (the last weights under
    ``fast_dev_run``); the results that `train` returns."""
    epochs, epoch_seconds = callbacks.timer.trained(trainer)
    # By its path: "best" would make Lightning say which of the run's several
    # ModelCheckpoint callbacks it reads (the first, this one).
    checkpoint = None if config.fast_dev_run else callbacks.best.best_model_path or "best"
    stages = [trainer.validate, trainer.test] if config.test else [trainer.validate]
    metrics = {
        key: float(value)
        for stage in stages
        for key, value in stage(
            model, datamodule=datamodule, ckpt_path=checkpoint, verbose=False, weights_only=True
        )[0].items()
    }
    counts = parameter_counts(model)
    best_path = callbacks.best.best_model_path
    results = {
        "model": config.model,
        "data": config.data,
        "seed": config.seed,
        "params_classical": counts["classical"],
        "params_quantum": counts["quantum"],
        "epochs": epochs,
        # Relative to the run directory, so that it still names it when the run is moved.
        "best_checkpoint": os.path.relpath(best_path, run_dir) if best_path else None,
        "seconds_per_epoch": sum(epoch_seconds) / len(epoch_seconds) if epoch_seconds else None,
        **metrics,
        **({"test_classes_missing": _test_classes_missing(datamodule)} if config.test else {}),
        "run_dir": str(run_dir),
    }
    trainability = callbacks.trainability
    if trainability is not None and trainability.verdict is not None:
        results["trainability"] = trainability.summary()
    return results


def _test_classes_missing(datamodule: L.LightningDataModule) -> list[str]:
    """The classes of the data with no test image (`CarDataModule.test_classes_missing`; none
    for a DataModule that does not say), of the images under a `FeatureCacheDataModule`."""
    images = getattr(datamodule, "datamodule", datamodule)
    return list(getattr(images, "test_classes_missing", []))


def _run_directory(
    config: Namespace, resumption: Resumption | None, datamodule: L.LightningDataModule
) -> Path:
    """The run's directory: a new one with ``config.yaml``, ``environment.json`` and
    ``dataset.json`` (`write_dataset_record`), or the resumed run's, whose
    ``environment.json`` records the resumption. The temporary files of writes that a killed
    process left there are removed."""
    if resumption is not None:
        if is_global_zero():
            _remove_interrupted_writes(resumption.run_dir)
            record_resumption(resumption.run_dir / "environment.json", resumption.checkpoint)
        return resumption.run_dir
    run_dir = run_directory(
        Path(config.output_dir), f"{config.model}-{config.data}-seed{config.seed}"
    )
    if is_global_zero():
        _remove_interrupted_writes(run_dir)  # a SLURM job's directory, after a requeue
        write_text_atomically(run_dir / "config.yaml", build_parser().dump(config))
        write_environment(run_dir / "environment.json")
        write_dataset_record(run_dir, datamodule)
    return run_dir


def _remove_interrupted_writes(run_dir: Path) -> None:
    for directory in (run_dir, run_dir / "checkpoints"):
        remove_partial_files(directory)


def _dashboard(config: Namespace, run_dir: Path) -> list[Logger]:
    """The chosen logger beside the CSV one that every run has: W&B or TensorBoard."""
    if config.logger == "csv":
        return []
    values = config.as_dict()
    values.pop("config", None)
    run_id = wandb_run_id(run_dir) if config.logger == "wandb" else None
    logger = create_logger(
        config.logger,
        run_dir,
        run_dir.name,
        project=config.wandb_project,
        entity=config.wandb_entity,
        group=config.wandb_group,
        tags=config.wandb_tags,
        config=values,
        log_model=config.wandb_log_model,
        run_id=run_id,
    )
    if isinstance(logger, WandbLogger) and logger.version != run_id and is_global_zero():
        record_wandb_run_id(run_dir, logger.version)  # went offline under a new id
    return [logger]


def _finish_wandb(loggers: list[Logger]) -> None:
    """Finishes the W&B run, so that the next seed of ``--seeds`` starts its own, and says
    how to upload an offline one."""
    for logger in loggers:
        if isinstance(logger, WandbLogger):
            settings = logger.experiment.settings
            logger.experiment.finish()
            if settings.mode == "offline":
                print(f"W&B ran offline; to upload: wandb sync {settings.sync_dir}")
