"""The command line of ``experiments/run.py``: train, validate and test one model on one dataset.

Every option can also come from YAML (``--config FILE.yaml``, keys spelled ``n_qubits`` or
``n-qubits``); the resolved configuration is saved as ``config.yaml`` in the run's directory,
next to ``results.json``, the CSV metrics and the checkpoints.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import lightning as L
import numpy as np
from jsonargparse import ActionConfigFile, ArgumentParser, Namespace
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger, Logger, WandbLogger

from hqnn_lightning.callbacks import (
    CSVMetricsCheckpoint,
    EpochCheckpoint,
    EpochTimer,
    NonFiniteLossError,
    RngStateCheckpoint,
    StepCheckpoint,
    StopOnNonFiniteLoss,
)
from hqnn_lightning.data import DATAMODULES, CarDataModule, create_datamodule
from hqnn_lightning.data.feature_cache import FeatureCacheDataModule
from hqnn_lightning.data.index_cache import DEFAULT_CACHE_DIR
from hqnn_lightning.distributed import RUN_DIR_VARIABLE, is_global_zero, run_directory
from hqnn_lightning.hardware_evaluation import (
    JobFailedError,
    RetryPolicy,
    confirm_on_terminal,
    evaluate_checkpoint,
)
from hqnn_lightning.loggers import LOGGERS, create_logger
from hqnn_lightning.models import MODELS, create_model, parameter_counts
from hqnn_lightning.quantum import KNOWN_DEVICES
from hqnn_lightning.report import group_runs, load_run, plot_confusion_matrix, summary_table
from hqnn_lightning.resume import (
    Resumption,
    check_checkpoint,
    record_resumption,
    resume_warnings_silenced,
    resumed_config,
    wandb_run_id,
)

MONITOR = "val/acc_top1"
RECORDED_PACKAGES = (
    "hqnn_lightning",
    "torch",
    "torchvision",
    "lightning",
    "torchmetrics",
    "pennylane",
    "pennylane_lightning",
    "numpy",
    "wandb",
)
"""Packages whose versions each run records in ``environment.json``."""
BUILD_ERRORS = (
    KeyError,
    TypeError,
    ValueError,
    FileNotFoundError,
    PermissionError,
    ImportError,
    RuntimeError,
)

DATA_OPTIONS = (
    "data_dir",
    "image_size",
    "channels",
    "normalize",
    "batch_size",
    "num_workers",
    "seed",
    "val_fraction",
    "classes",
    "num_classes",
    "class_selection",
    "augment",
    "hflip",
    "color_jitter",
    "rotation",
    "crop_to_bbox",
    "keep",
    "download",
    "min_images_per_class",
    "cache_images",
    "cache_dir",
)
MODEL_OPTIONS = (
    "arch",
    "backbone_weights",
    "freeze_backbone",
    "n_qubits",
    "q_depth",
    "entangler",
    "reupload",
    "q_device",
    "shots",
    "q_diff_method",
    "q_device_options",
    "n_heads",
    "residual",
    "precompute_features",
    "kernel_size",
    "n_layers",
    "filter_seed",
    "trainable_filter",
    "head_width",
    "lr",
    "weight_decay",
)


def build_parser() -> ArgumentParser:
    """The parser of ``experiments/run.py``; ``--help`` documents every option."""
    parser = ArgumentParser(
        prog="experiments/run.py",
        description=(
            "Train a classical, hybrid quantum or quanvolutional model, then validate and test "
            "its best checkpoint. Options left unset keep the model's and dataset's defaults."
        ),
    )
    parser.add_argument("--config", action=ActionConfigFile, help="YAML file of any options below")
    add = parser.add_argument
    add("--model", type=str, default="hybrid", help=f"model: {', '.join(MODELS.names())}")
    add("--data", type=str, default="digits", help=f"dataset: {', '.join(DATAMODULES.names())}")
    add("--data-dir", type=str | None, default=None, help="dataset directory (datasets on disk)")
    add(
        "--image-size",
        type=int | None,
        default=None,
        help="image side in pixels (default: the dataset's, 8 for digits)",
    )
    add(
        "--channels",
        type=int | None,
        default=None,
        help="image channels for datasets that offer a choice (digits: 1 or 3)",
    )
    add(
        "--normalize",
        type=bool | None,
        default=None,
        help="standardise pixels with the train split's statistics (digits default: true)",
    )
    add(
        "--val-fraction",
        type=float | None,
        default=None,
        help="fraction of the training images held out for validation (cars 0.1, digits 0.15)",
    )
    add(
        "--classes",
        type=list[str] | None,
        default=None,
        help='car datasets: keep these classes, e.g. ["Audi S6 Sedan 2011","Volvo 240 Sedan 1993"]',
    )
    add(
        "--num-classes",
        type=int | None,
        default=None,
        help="car datasets: keep k classes chosen by --class-selection (the study: 3, 5, 10)",
    )
    add(
        "--class-selection",
        type=str | None,
        default=None,
        help="first, most_images or random (seeded) (default: first; vmmrdb: most_images)",
    )
    add(
        "--augment",
        type=bool | None,
        default=None,
        help="car datasets: the study's training augmentation on/off (default true)",
    )
    add("--hflip", type=bool | None, default=None, help="random horizontal flip (default true)")
    add(
        "--color-jitter",
        type=float | None,
        default=None,
        help="brightness/contrast/saturation strength s: factors in [1-s, 1+s] (default 0.2)",
    )
    add(
        "--rotation",
        type=float | None,
        default=None,
        help="random rotation range in degrees (default 10)",
    )
    add(
        "--crop-to-bbox",
        type=bool | None,
        default=None,
        help="stanford_cars: crop to the annotated bounding boxes",
    )
    add(
        "--keep",
        type=str | None,
        default=None,
        help="combined: matched (classes in both datasets, default) or union",
    )
    add(
        "--download",
        type=bool | None,
        default=None,
        help="stanford_cars: fetch the Hugging Face copy when data-dir is empty",
    )
    add(
        "--min-images-per-class",
        type=int | None,
        default=None,
        help="vmmrdb: drop classes with fewer images (default 10)",
    )
    add(
        "--cache-images",
        type=bool | None,
        default=None,
        help="car datasets: decode+resize images once into a cache, augment whole batches",
    )
    add(
        "--cache-dir",
        type=str | None,
        default=None,
        help="car datasets: cache directory (default ~/.cache/hqnn_lightning)",
    )
    add("--batch-size", type=int | None, default=None, help="batch size (default: the dataset's)")
    add("--num-workers", type=int | None, default=None, help="DataLoader worker processes")
    add("--seed", type=int, default=0, help="seed of the split, the initialisation and the order")
    add(
        "--seeds",
        type=list[int] | None,
        default=None,
        help="run once per seed, e.g. [0,1,2], and print the mean +- std table (overrides --seed)",
    )
    add("--max-epochs", type=int, default=10, help="training epochs")
    add(
        "--deterministic",
        type=bool,
        default=False,
        help="deterministic algorithms only (torch.use_deterministic_algorithms)",
    )
    add(
        "--gradient-clip-val",
        type=float | None,
        default=None,
        help="clip the gradient norm to this value (Lightning's gradient_clip_val)",
    )
    add("--lr", type=float | None, default=None, help="AdamW learning rate (model default 1e-3)")
    add("--weight-decay", type=float | None, default=None, help="AdamW weight decay")
    add("--arch", type=str | None, default=None, help="backbone: resnet18..resnet152, small_cnn")
    add(
        "--backbone-weights",
        type=str | None,
        default=None,
        help="none (default), imagenet (internet or the torch hub cache) or PATH of a local "
        "torchvision/timm checkpoint, for machines without internet",
    )
    add("--freeze-backbone", type=bool | None, default=None, help="train only the head")
    add(
        "--precompute-features",
        type=bool | None,
        default=None,
        help="compute the frozen backbone's (--freeze-backbone) or the fixed filter's output "
        "once, cache it (--cache-dir) and train the rest on it; needs --augment false",
    )
    add("--n-qubits", type=int | None, default=None, help="qubits of the hybrid circuit (6)")
    add("--q-depth", type=int | None, default=None, help="entangling layers of the circuit (3)")
    add("--entangler", type=str | None, default=None, help="strong or basic entangling layers")
    add(
        "--reupload",
        type=bool | None,
        default=None,
        help="hybrid: encode the angles again before every entangling layer (data re-uploading)",
    )
    add(
        "--q-device",
        type=str | None,
        default=None,
        help=f"quantum device: {', '.join(sorted(KNOWN_DEVICES))} (torch: exact, fastest)",
    )
    add("--shots", type=int | None, default=None, help="samples per circuit; unset: exact")
    add(
        "--q-diff-method",
        type=str | None,
        default=None,
        help="override the device's diff method (backprop, adjoint, parameter-shift, ...)",
    )
    add(
        "--q-device-options",
        type=dict[str, Any] | None,
        default=None,
        help='device options, e.g. {"noise": "depolarizing", "noise_strength": 0.01} '
        '(default.mixed), {"fake_backend": "FakeManilaV2"} (qiskit.aer); see docs/devices.md',
    )
    add(
        "--evaluate",
        type=str | None,
        default=None,
        help="CHECKPOINT: evaluate the test set of the checkpoint's run on --q-device with "
        "--shots, resumably, instead of training (see docs/devices.md)",
    )
    add("--yes", action="store_true", help="--evaluate: submit without asking")
    add("--eval-dir", type=str | None, default=None, help="--evaluate: where results go")
    add("--max-retries", type=int, default=3, help="--evaluate: retries of a failed batch")
    add(
        "--n-heads",
        type=int | None,
        default=None,
        help="hybrid and hybrid_control: bottleneck heads side by side, n_qubits each (1)",
    )
    add(
        "--residual",
        type=bool | None,
        default=None,
        help="hybrid and hybrid_control: a linear path from the features to the logits",
    )
    add("--kernel-size", type=int | None, default=None, help="quanvolution patch side (2 or 3)")
    add("--n-layers", type=int | None, default=None, help="RandomLayers in the quanv filter")
    add(
        "--filter-seed",
        type=int | None,
        default=None,
        help="quanv and quanv_control: seed of the random filter (default 0)",
    )
    add(
        "--trainable-filter",
        type=bool | None,
        default=None,
        help="quanv and quanv_control: learn the filter with the head (default false)",
    )
    add(
        "--head-width",
        type=int | None,
        default=None,
        help="quanv and quanv_control: channels of the CNN head's first block (32)",
    )
    add(
        "--logger",
        type=Literal[LOGGERS],
        default="wandb",
        help=f"experiment logger: {', '.join(LOGGERS)}; wandb runs offline without credentials",
    )
    add("--wandb-project", type=str, default="hqnn-lightning", help="W&B project")
    add("--wandb-entity", type=str | None, default=None, help="W&B entity (user or team)")
    add("--wandb-group", type=str | None, default=None, help="W&B group")
    add("--wandb-tags", type=list[str], default=[], help="W&B tags, e.g. [study,digits]")
    add(
        "--wandb-log-model",
        type=bool,
        default=False,
        help="upload the best and last checkpoints to W&B as a model artifact",
    )
    add("--output-dir", type=str, default="runs", help="where run directories are created")
    add(
        "--resume",
        type=str | None,
        default=None,
        help="continue a run: its directory, a checkpoint in it, or last (the newest run of "
        "this model, data and seed under --output-dir); its config.yaml gives the options",
    )
    add(
        "--checkpoint-every-n-steps",
        type=int | None,
        default=None,
        help="also update checkpoints/last.ckpt every N training steps (for --resume)",
    )
    add("--accelerator", type=str, default="auto", help="Lightning accelerator: auto, cpu, gpu")
    add("--devices", type=int | str, default=1, help="Lightning devices per node, e.g. 2 or auto")
    add("--num-nodes", type=int, default=1, help="machines (SLURM or torchrun; docs/devices.md)")
    add("--strategy", type=str, default="auto", help="Lightning strategy: auto, ddp, ddp_spawn")
    add("--fast-dev-run", type=bool, default=False, help="one batch of each stage, no outputs")
    add(
        "--progress-bar",
        type=bool,
        default=True,
        help="Lightning's progress bar (false for batch jobs whose logs it would fill)",
    )
    return parser


def build(config: Namespace) -> tuple[L.LightningDataModule, L.LightningModule]:
    """Seeds everything, then builds the DataModule (set up) and the model of ``config``.

    Raises:
        BUILD_ERRORS: an option names something unknown or does not fit; the message says
            which.
    """
    L.seed_everything(config.seed, workers=True)
    data_options = _options(config, DATA_OPTIONS)
    precompute = config.precompute_features
    if precompute and "cache_dir" not in DATAMODULES.accepted_arguments(config.data):
        data_options.pop("cache_dir", None)  # then it is only the feature cache's place
    datamodule = create_datamodule(config.data, **data_options)
    datamodule.prepare_data()
    datamodule.setup("fit")
    model = create_model(
        config.model,
        num_classes=datamodule.num_classes,
        in_channels=datamodule.num_channels,
        image_size=datamodule.image_size,
        **_options(config, MODEL_OPTIONS),
    )
    if precompute:
        cache_dir = config.cache_dir or DEFAULT_CACHE_DIR
        datamodule = FeatureCacheDataModule(datamodule, model.feature_extractor(), cache_dir)
        datamodule.setup("fit")
    return datamodule, model


def run(config: Namespace) -> dict[str, Any]:
    """Builds, trains, validates and tests the model that ``config`` describes.

    Returns:
        The results: model name, parameter counts, epochs, best validation and test metrics,
        mean seconds per epoch, and the run's directory.
    """
    return train(config, *build(config))


def train(
    config: Namespace,
    datamodule: L.LightningDataModule,
    model: L.LightningModule,
    resumption: Resumption | None = None,
) -> dict[str, Any]:
    """Fits ``model`` (from ``resumption``'s checkpoint, into its run directory, if given),
    then validates and tests its best checkpoint; see `run`.

    With several processes (``--devices 2 --strategy ddp``, SLURM, torchrun) every process
    runs this; they share one run directory, and only global rank 0 writes files and W&B.
    """
    try:
        return _train(config, datamodule, model, resumption)
    finally:
        os.environ.pop(RUN_DIR_VARIABLE, None)  # the next run in this process gets its own


def _train(
    config: Namespace,
    datamodule: L.LightningDataModule,
    model: L.LightningModule,
    resumption: Resumption | None,
) -> dict[str, Any]:
    if resumption is None:
        run_dir = run_directory(
            Path(config.output_dir), f"{config.model}-{config.data}-seed{config.seed}"
        )
        if is_global_zero():
            build_parser().save(config, run_dir / "config.yaml", overwrite=True)
            (run_dir / "environment.json").write_text(json.dumps(environment(), indent=2))
    else:
        run_dir = resumption.run_dir
        if is_global_zero():
            record_resumption(run_dir / "environment.json", environment(), resumption.checkpoint)
    run_name = run_dir.name
    csv_logger = CSVLogger(run_dir, name="", version="csv")
    loggers: list[Logger] = [csv_logger]
    if config.logger != "csv":
        loggers.append(
            create_logger(
                config.logger,
                run_dir,
                run_name,
                project=config.wandb_project,
                entity=config.wandb_entity,
                group=config.wandb_group,
                tags=config.wandb_tags,
                config=_plain(config),
                log_model=config.wandb_log_model,
                run_id=wandb_run_id(run_dir) if config.logger == "wandb" else None,
            )
        )
    if isinstance(datamodule, CarDataModule):
        grid = datamodule.save_augmentation_grid(run_dir / "augmentation.png")
        for logger in loggers:
            if isinstance(logger, WandbLogger):
                logger.log_image("data/augmentation", images=[str(grid)])
    timer = EpochTimer()
    callbacks: list[L.Callback] = [
        timer,
        StopOnNonFiniteLoss(),
        RngStateCheckpoint(),
        CSVMetricsCheckpoint(csv_logger),
        EpochCheckpoint(run_dir / "checkpoints"),
    ]
    if config.checkpoint_every_n_steps:
        callbacks.append(StepCheckpoint(run_dir / "checkpoints", config.checkpoint_every_n_steps))
    checkpoint = ModelCheckpoint(
        dirpath=run_dir / "checkpoints",
        monitor=MONITOR,
        mode="max",
        filename="best-epoch{epoch}",
        auto_insert_metric_name=False,
        enable_version_counter=False,
    )
    trainer = L.Trainer(
        max_epochs=config.max_epochs,
        accelerator=config.accelerator,
        devices=config.devices,
        num_nodes=config.num_nodes,
        strategy=config.strategy,
        logger=loggers,
        callbacks=[checkpoint, *callbacks],
        default_root_dir=run_dir,
        fast_dev_run=config.fast_dev_run,
        enable_progress_bar=config.progress_bar,
        log_every_n_steps=10,
        deterministic=config.deterministic,
        gradient_clip_val=config.gradient_clip_val,
    )
    resume_from = resumption.checkpoint if resumption else None
    with resume_warnings_silenced(resumption is not None):
        trainer.fit(model, datamodule=datamodule, ckpt_path=resume_from)
    best = None if config.fast_dev_run else "best"
    val_metrics = trainer.validate(model, datamodule=datamodule, ckpt_path=best, verbose=False)[0]
    test_metrics = trainer.test(model, datamodule=datamodule, ckpt_path=best, verbose=False)[0]

    counts = parameter_counts(model)
    results = {
        "model": config.model,
        "data": config.data,
        "seed": config.seed,
        "params_classical": counts["classical"],
        "params_quantum": counts["quantum"],
        "epochs": trainer.current_epoch,
        "best_checkpoint": checkpoint.best_model_path or None,
        "seconds_per_epoch": (
            sum(timer.epoch_seconds) / len(timer.epoch_seconds) if timer.epoch_seconds else None
        ),
        **{key: float(value) for key, value in {**val_metrics, **test_metrics}.items()},
        "run_dir": str(run_dir),
    }
    matrix = model.confusion_matrix() if not config.fast_dev_run else None  # all ranks sync
    if not trainer.is_global_zero:
        return results
    (run_dir / "results.json").write_text(json.dumps(results, indent=2))
    if matrix is not None:
        _save_confusion_matrix(matrix.cpu().numpy(), datamodule.class_names, run_dir, loggers)
    for logger in loggers:
        if isinstance(logger, WandbLogger):
            settings = logger.experiment.settings
            # Finished here, so that the next seed of --seeds starts a W&B run of its own.
            logger.experiment.finish()
            if settings.mode == "offline":
                print(f"W&B ran offline; to upload: wandb sync {settings.sync_dir}")
    return results


def _save_confusion_matrix(
    matrix: np.ndarray, class_names: Sequence[str], run_dir: Path, loggers: Sequence[Logger]
) -> None:
    """Writes the test confusion matrix as ``confusion_matrix.csv`` (counts, rows true) and
    ``confusion_matrix.png``, and logs the figure to W&B."""
    np.savetxt(run_dir / "confusion_matrix.csv", matrix, fmt="%d", delimiter=",")
    figure = plot_confusion_matrix(matrix, class_names, run_dir / "confusion_matrix.png")
    for logger in loggers:
        if isinstance(logger, WandbLogger):
            logger.log_image("test/confusion_matrix", images=[str(figure)])


def format_results(results: dict[str, Any]) -> str:
    """A Markdown table of one run's results (accuracies in percent)."""

    def percent(key: str) -> str:
        value = results.get(key)
        return "-" if value is None else f"{100 * value:.2f}"

    seconds = results["seconds_per_epoch"]
    header = (
        "| model | params classical | params quantum | epochs | val top-1 % | val top-5 % "
        "| test top-1 % | test top-5 % | s/epoch |"
    )
    row = (
        f"| {results['model']} | {results['params_classical']:,} | {results['params_quantum']:,} "
        f"| {results['epochs']} | {percent('val/acc_top1')} | {percent('val/acc_top5')} "
        f"| {percent('test/acc_top1')} | {percent('test/acc_top5')} "
        f"| {'-' if seconds is None else f'{seconds:.1f}'} |"
    )
    return "\n".join([header, "|" + "---|" * 9, row])


def main(argv: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Parses ``argv`` (default ``sys.argv[1:]``), runs once per seed, and prints the results.

    Returns:
        The results of each run, in seed order.
    """
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    config = parser.parse_args(argv)
    if config.evaluate:
        return [_evaluate(parser, config)]
    if config.seeds and (str(config.devices) != "1" or config.num_nodes != 1):
        parser.error("--seeds runs one process; with --devices or --num-nodes, run each seed")
    resumption = None
    if config.resume:
        try:
            config, resumption = resumed_config(parser, argv, config)
        except (FileNotFoundError, ValueError) as error:
            parser.error(str(error))
    all_results = []
    for seed in config.seeds or [config.seed]:
        seed_config = config.clone()
        seed_config.seed, seed_config.seeds = seed, None
        try:
            datamodule, model = build(seed_config)
            if resumption:
                check_checkpoint(resumption.checkpoint, model)
        except BUILD_ERRORS as error:
            parser.error(str(error.args[0]) if isinstance(error, KeyError) else str(error))
        try:
            results = train(seed_config, datamodule, model, resumption)
        except NonFiniteLossError as error:
            print(f"error: {error}", file=sys.stderr)
            raise SystemExit(1) from None
        if is_global_zero():
            print(format_results(results))
            print(f"Run directory: {results['run_dir']}")
        all_results.append(results)
    if len(all_results) > 1:
        runs = [load_run(results["run_dir"]) for results in all_results]
        print(summary_table(group_runs(runs)))
    return all_results


def _evaluate(parser: ArgumentParser, config: Namespace) -> dict[str, Any]:
    """``--evaluate CHECKPOINT``: the checkpoint's run's test set on ``--q-device``."""
    checkpoint = Path(config.evaluate)
    run_config_path = checkpoint.parent.parent / "config.yaml"
    if not checkpoint.is_file() or not run_config_path.is_file():
        parser.error(
            f"--evaluate {checkpoint}: needs a checkpoint inside a run directory "
            f"(RUN/checkpoints/NAME.ckpt next to RUN/config.yaml); {run_config_path} not found"
        )
    if config.q_device is None:
        parser.error("--evaluate needs --q-device (and --shots for sampling devices)")
    run_config = parser.parse_path(run_config_path)
    data_options = _options(run_config, DATA_OPTIONS)
    if config.batch_size is not None:
        data_options["batch_size"] = config.batch_size
    try:
        summary = evaluate_checkpoint(
            checkpoint,
            run_config.model,
            create_datamodule(run_config.data, **data_options),
            config.q_device,
            config.shots,
            config.q_diff_method,
            config.q_device_options,
            config.eval_dir,
            confirm=lambda message: confirm_on_terminal(message, config.yes),
            retry=RetryPolicy(max_retries=config.max_retries),
        )
    except JobFailedError as error:
        print(f"error: {error}; rerun the same command to resume", file=sys.stderr)
        raise SystemExit(1) from None
    except PermissionError as error:  # no confirmation, or no credentials
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    except (*BUILD_ERRORS, FileExistsError) as error:
        parser.error(str(error))
    print(json.dumps(summary, indent=2))
    return summary


def environment() -> dict[str, Any]:
    """What produced a run: the command line, the Python and package versions, and the git
    commit of the library (with ``dirty`` when its files differ from that commit)."""
    versions = {"python": platform.python_version()}
    versions.update({package: _version(package) for package in RECORDED_PACKAGES})
    return {"argv": sys.argv, "versions": versions, "git": _git_state()}


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def _git_state() -> dict[str, Any] | None:
    """The commit of the checkout holding this package, or ``None`` outside one."""
    root = Path(__file__).resolve().parent
    try:
        top, commit = subprocess.run(
            ["git", "rev-parse", "--show-toplevel", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        if Path(top).resolve() != root.parent:  # an installed copy inside another repository
            return None
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return {"commit": commit, "dirty": bool(status.strip())}


def _options(config: Namespace, names: Sequence[str]) -> dict[str, Any]:
    """The options ``names`` that were set (not ``None``)."""
    return {name: config[name] for name in names if config[name] is not None}


def _plain(config: Namespace) -> dict[str, Any]:
    """``config`` as plain values for the W&B config (paths as strings)."""
    values = config.as_dict()
    values.pop("config", None)
    return values
