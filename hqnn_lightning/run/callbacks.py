"""Lightning callbacks of the library; those that write ``last.ckpt`` are in
`hqnn_lightning.run.last_checkpoint`."""

from __future__ import annotations

import csv
import os
import random
import time
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.loggers import CSVLogger, WandbLogger

from hqnn_lightning.report import PREDICTIONS_FILE, plot_confusion_matrix, write_predictions
from hqnn_lightning.utils.files import atomic_write


class EpochTimer(L.Callback):
    """Logs the wall-clock seconds of each training epoch as ``time/epoch_seconds``.

    The time runs from the start of the epoch's first training batch to the end of the epoch,
    so it includes the validation that Lightning runs at the epoch's end. An epoch resumed from
    a mid-epoch checkpoint is timed from the resumption. `trained` says how many epochs the
    fit trained and their times, also after ``ddp_spawn``.
    """

    EPOCHS_METRIC = "time/epochs_trained"
    SECONDS_METRIC = "time/all_epoch_seconds"

    def __init__(self) -> None:
        self.epoch_seconds: list[float] = []
        self._start: float | None = None

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._start = time.perf_counter()

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._start = time.perf_counter()

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        seconds = time.perf_counter() - self._start
        self.epoch_seconds.append(seconds)
        pl_module.log("time/epoch_seconds", seconds, on_step=False, on_epoch=True)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # ddp_spawn trains in processes it starts, and of their state sends back to the main
        # process only trainer.callback_metrics: not the callbacks', nor the loop's epoch.
        trainer.callback_metrics[self.EPOCHS_METRIC] = torch.tensor(trainer.current_epoch)
        trainer.callback_metrics[self.SECONDS_METRIC] = torch.tensor(
            self.epoch_seconds, dtype=torch.float64
        )

    def trained(self, trainer: L.Trainer) -> tuple[int, list[float]]:
        """The number of epochs ``trainer``'s fit has trained, and the seconds of each timed
        one, read in its main process (also under ``ddp_spawn``) before any validate or
        test, which reset the metrics."""
        metrics = trainer.callback_metrics
        if self.EPOCHS_METRIC not in metrics:
            return trainer.current_epoch, list(self.epoch_seconds)
        return int(metrics[self.EPOCHS_METRIC]), metrics[self.SECONDS_METRIC].tolist()

    def state_dict(self) -> dict[str, list[float]]:
        return {"epoch_seconds": list(self.epoch_seconds)}

    def load_state_dict(self, state_dict: dict[str, list[float]]) -> None:
        self.epoch_seconds = list(state_dict["epoch_seconds"])


class NonFiniteLossError(RuntimeError):
    """The training loss became NaN or infinite; the message names the epoch and step."""


class StopOnNonFiniteLoss(L.Callback):
    """Stops training at the first training batch whose loss is NaN or infinite.

    Raises `NonFiniteLossError` before that loss is backpropagated, so no optimizer step
    spreads the fault: the weights in memory, and the checkpoints saved until then
    (``last.ckpt`` at the end of the previous epoch, the best one), are the last good ones.
    """

    def on_before_backward(
        self, trainer: L.Trainer, pl_module: L.LightningModule, loss: torch.Tensor
    ) -> None:
        if not torch.isfinite(loss).all():
            raise NonFiniteLossError(
                f"the training loss is {loss.item()} at epoch {trainer.current_epoch}, global "
                f"step {trainer.global_step}; training stopped. Lower --lr or set "
                "--gradient-clip-val; the checkpoints saved before this step hold the last "
                "good weights."
            )


class RngStateCheckpoint(L.Callback):
    """Saves the random number generators' states (Python, NumPy, torch CPU and CUDA) in every
    checkpoint and restores them when training resumes from one, so that the draws after a
    resumption (dropout, batch augmentation, shots) are those of the uninterrupted run.

    The states are tensors and plain values, so ``torch.load(weights_only=True)`` reads them.
    """

    def state_dict(self) -> dict[str, Any]:
        # The legacy global generator is the one seed_everything seeds and libraries draw from.
        numpy_state = np.random.get_state(legacy=False)  # noqa: NPY002
        states: dict[str, Any] = {
            "python": random.getstate(),
            "numpy": {
                "key": torch.from_numpy(numpy_state["state"]["key"].astype(np.int64)),
                "pos": int(numpy_state["state"]["pos"]),
                "has_gauss": int(numpy_state["has_gauss"]),
                "gauss": float(numpy_state["gauss"]),
            },
            "torch": torch.get_rng_state(),
        }
        if torch.cuda.is_available():
            states["cuda"] = torch.cuda.get_rng_state_all()
        return states

    def on_load_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        state = checkpoint.get("callbacks", {}).get(self.state_key)
        if state and trainer.state.fn == "fit":  # not when a checkpoint is loaded to test
            self._set_states(state)

    def _set_states(self, state_dict: dict[str, Any]) -> None:
        version, internal, gauss = state_dict["python"]
        random.setstate((version, tuple(internal), gauss))
        numpy_state = state_dict["numpy"]
        np.random.set_state(  # noqa: NPY002
            {
                "bit_generator": "MT19937",
                "state": {
                    "key": numpy_state["key"].numpy().astype(np.uint32),
                    "pos": numpy_state["pos"],
                },
                "has_gauss": numpy_state["has_gauss"],
                "gauss": numpy_state["gauss"],
            }
        )
        torch.set_rng_state(state_dict["torch"])
        if "cuda" in state_dict and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state_dict["cuda"])


class CSVMetricsCheckpoint(L.Callback):
    """Keeps the rows a `CSVLogger` has logged in every checkpoint, and writes them back
    into ``metrics.csv`` when training resumes from one.

    Rows logged after the checkpoint (by the run that was interrupted) are dropped and logged
    again by the resumed run, so the file holds each epoch once, as an uninterrupted run's.

    Args:
        logger: The run's CSV logger.
    """

    def __init__(self, logger: CSVLogger) -> None:
        self.logger = logger

    def on_save_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        if not trainer.is_global_zero:
            return  # only rank 0 writes the CSV file and the checkpoint (DDP)
        self.logger.save()
        try:
            with open(self.logger.experiment.metrics_file_path, newline="") as file:
                rows = list(csv.DictReader(file))
        except FileNotFoundError:
            rows = []
        progress = trainer.fit_loop.epoch_progress.current
        if progress.processed > progress.completed:
            # Saved in the epoch's end hooks, before Lightning logs the epoch's training
            # metrics; a run resumed from here starts the next epoch, so keep that row now.
            # No public attribute holds metrics logged but not yet sent to the loggers.
            connector = trainer._logger_connector
            logged = {key: str(value.item()) for key, value in connector.metrics["log"].items()}
            step = trainer.global_step - 1  # one optimizer step per batch
            rows.append({**logged, "epoch": str(trainer.current_epoch), "step": str(step)})
        checkpoint.setdefault("callbacks", {})[self.state_key] = {"rows": rows}

    def on_load_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        state = checkpoint.get("callbacks", {}).get(self.state_key)
        if not state or trainer.state.fn != "fit":  # not when a checkpoint is loaded to test
            return
        self.logger.experiment.metrics = [dict(row) for row in state["rows"]]
        self.logger.save()


class RelocatedCheckpointPaths(L.Callback):
    """Moves the checkpoint paths in a loaded checkpoint's `ModelCheckpoint` states into
    ``dirpath`` (`relocate_checkpoint_state`) before the callbacks restore them, so that a run
    directory moved or copied elsewhere resumes and tests its own best checkpoint.

    Lightning stores them as absolute paths; when ``dirpath`` has changed, it would keep the
    old place's ``best_model_path`` (testing that folder's checkpoint, or failing when it is
    gone) and forget the other best checkpoints.

    Args:
        dirpath: The run's checkpoint directory now.
    """

    def __init__(self, dirpath: str | Path) -> None:
        self.dirpath = dirpath

    def on_load_checkpoint(
        self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
    ) -> None:
        # Lightning calls every callback's on_load_checkpoint before any load_state_dict.
        for state in checkpoint.get("callbacks", {}).values():
            if isinstance(state, dict) and "dirpath" in state and "best_model_path" in state:
                relocate_checkpoint_state(state, self.dirpath)


def relocate_checkpoint_state(state: dict[str, Any], dirpath: str | Path) -> dict[str, Any]:
    """``state``, a saved `ModelCheckpoint` state, with its ``dirpath`` and the paths of the
    checkpoints in that directory moved to ``dirpath``; changed in place. Paths outside the
    old directory are left as they are."""
    old, new = state.get("dirpath"), os.path.realpath(dirpath)
    if not old or old == new:
        return state

    def moved(path: str) -> str:
        relative = os.path.relpath(path, old) if path else ".."
        return path if relative.startswith("..") else os.path.join(new, relative)

    for key in ("best_model_path", "kth_best_model_path", "last_model_path"):
        if key in state:
            state[key] = moved(state[key])
    if "best_k_models" in state:
        best = state["best_k_models"]
        state["best_k_models"] = {moved(path): score for path, score in best.items()}
    state["dirpath"] = new
    return state


class AugmentationFigure(L.Callback):
    """Saves the DataModule's augmentation figure (``save_augmentation_grid``, which the car
    datasets have) as ``augmentation.png`` in ``run_dir`` when fitting starts, and logs it to
    W&B.

    Args:
        run_dir: The run's directory.
    """

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        save = getattr(trainer.datamodule, "save_augmentation_grid", None)
        if save is None or not trainer.is_global_zero:
            return
        figure = save(self.run_dir / "augmentation.png")
        _log_image(trainer, "data/augmentation", figure)


class ConfusionMatrixFigure(L.Callback):
    """After a test, writes the model's confusion matrix (``confusion_matrix()``, counts with
    rows the true class) as ``confusion_matrix.csv`` and ``confusion_matrix.png`` in
    ``run_dir``, and logs the figure to W&B. Nothing is written under ``fast_dev_run`` or
    above the classes the model counts.

    Args:
        run_dir: The run's directory.
    """

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir

    def on_test_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.fast_dev_run:
            return
        matrix = pl_module.confusion_matrix()  # every rank: the counts are synced
        if matrix is None or not trainer.is_global_zero:
            return
        counts = matrix.cpu().numpy()
        with atomic_write(self.run_dir / "confusion_matrix.csv") as file:
            np.savetxt(file, counts, fmt="%d", delimiter=",")
        figure = plot_confusion_matrix(
            counts, trainer.datamodule.class_names, self.run_dir / "confusion_matrix.png"
        )
        _log_image(trainer, "test/confusion_matrix", figure)


class SaveTestPredictions(L.Callback):
    """After a test, writes the model's per-image predictions (``test_predictions()``: label,
    top-1 prediction, label in the top 5) as ``test_predictions.csv`` in ``run_dir``
    (`hqnn_lightning.report.predictions`), one row per test image in test-set order, for the
    report's bootstrap over test images. The test loader is not shuffled, so the order the
    model saw is the test set's, for image batches and cached features alike.

    Nothing is written under ``fast_dev_run``, nor with several processes: each then tests
    its own share of the images, padded to equal shares by the distributed sampler, and
    gathering them back in test-set order would depend on that sampler.

    Args:
        run_dir: The run's directory.
    """

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir

    def on_test_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.fast_dev_run or trainer.world_size > 1:
            return
        rows = pl_module.test_predictions()
        if rows is not None:
            write_predictions(self.run_dir / PREDICTIONS_FILE, rows.numpy())


def _log_image(trainer: L.Trainer, key: str, path: Path) -> None:
    for logger in trainer.loggers:
        if isinstance(logger, WandbLogger):
            logger.log_image(key, images=[str(path)])
