"""Every runner option given values no run can use: each is refused before any training, with
an ``error:`` line that names the option (exit code 2), never a traceback.

The options are those of ``hqnn_lightning.run.options`` (the runner's own and those derived
from the registered constructors); `test_every_option_is_tried` keeps the list complete.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import torch

import hqnn_lightning.run.seeds
from hqnn_lightning.run.cli import main
from hqnn_lightning.run.options import RUNNER_OPTIONS, constructor_options
from tests.data.car_files import write_folders, write_vmmrdb
from tests.run.cli_errors import error_line

CARS = "CARS"
"""Stands for a small Stanford Cars folder layout (``--data stanford_cars --data-dir ...``)."""

VMMRDB = "VMMRDB"
"""Stands for a small VMMRdb folder (``--data vmmrdb --data-dir ...``)."""

FILE = "FILE"
"""Stands for the path of an ordinary file."""

CARS_DIR = "STANFORD_FOLDERS"
"""Stands for the directory of that small Stanford Cars folder layout."""

QUANV = ["--model", "quanv_tiny"]
SYNTHETIC = ["--data", "synthetic"]
CONTROL = ["--model", "hybrid_control_tiny"]
FOURIER = ["--model", "hybrid_fourier_tiny"]

# (option, the command line around it): each option with one or more values no run can use.
BAD_VALUES = [
    ("model", ["--model", "qcnn"]),
    ("data", ["--data", "mnist"]),
    ("data_dir", [CARS, "--data-dir", FILE]),
    ("cache_dir", [CARS, "--cache-dir", FILE]),
    ("import", ["--import", "no_such_module_for_the_runner"]),
    ("num_workers", ["--num-workers", "-1"]),
    ("num_workers", ["--num-workers", "two"]),
    ("recheck_images", [CARS, "--recheck-images", "maybe"]),
    ("recheck_images", ["--recheck-images", "true"]),
    ("seed", ["--seed", "-1"]),
    ("seed", ["--seed", str(2**32)]),
    ("seed", ["--seed", "1.5"]),
    ("split_seed", ["--split-seed", "-1"]),
    ("split_seed", ["--split-seed", "1.5"]),
    ("seeds", ["--seeds", "[]"]),
    ("seeds", ["--seeds", "[0,-1]"]),
    ("seeds", ["--seeds", "[a]"]),
    ("max_epochs", ["--max-epochs", "-1"]),
    ("max_epochs", ["--max-epochs", "many"]),
    ("deterministic", ["--deterministic", "maybe"]),
    ("gradient_clip_val", ["--gradient-clip-val", "0"]),
    ("gradient_clip_val", ["--gradient-clip-val", "-1"]),
    ("gradient_clip_val", ["--gradient-clip-val", "1e400"]),
    ("optimizer", ["--optimizer", "torch.optim.Bogus"]),
    ("optimizer", ["--optimizer", "torch.optim.SGD", "--optimizer.lr", "0.1"]),
    ("optimizer", ["--optimizer", "torch.optim.Rprop"]),
    ("lr_scheduler", ["--lr-scheduler", "torch.optim.lr_scheduler.CosineAnnealingLR"]),
    ("lr_scheduler", ["--lr-scheduler", "OneCycleLR", "--lr-scheduler.max_lr", "0.1"]),
    ("callbacks", ["--callbacks+", "torch.nn.Linear"]),
    ("precision", ["--precision", "8-true"]),
    ("accumulate_grad_batches", ["--accumulate-grad-batches", "0"]),
    ("evaluate", ["--evaluate", FILE, "--q-device", "default.qubit"]),
    ("eval_dir", ["--evaluate", FILE, "--q-device", "default.qubit", "--eval-dir", FILE]),
    ("yes", ["--yes", "maybe"]),
    ("max_retries", ["--max-retries", "-1"]),
    ("logger", ["--logger", "mlflow"]),
    ("wandb_project", ["--logger", "wandb", "--wandb-project", "a/b"]),
    ("wandb_tags", ["--wandb-tags", "5"]),
    ("wandb_log_model", ["--wandb-log-model", "maybe"]),
    ("output_dir", ["--output-dir", FILE]),
    ("output_dir", ["--output-dir", f"{FILE}/runs"]),
    ("resume", ["--resume", FILE]),
    ("checkpoint_every_n_steps", ["--checkpoint-every-n-steps", "0"]),
    ("checkpoint_interval", ["--checkpoint-interval", "-1"]),
    ("checkpoint_interval", ["--checkpoint-interval", "inf"]),
    ("accelerator", ["--accelerator", "warp"]),
    ("devices", ["--devices", "0"]),
    ("devices", ["--devices", "-2"]),
    ("devices", ["--devices", "some"]),
    ("num_nodes", ["--num-nodes", "0"]),
    ("strategy", ["--strategy", "telepathy"]),
    ("fast_dev_run", ["--fast-dev-run", "maybe"]),
    ("monitor_trainability", ["--monitor-trainability", "maybe"]),
    ("progress_bar", ["--progress-bar", "maybe"]),
    ("test", ["--test", "maybe"]),
    ("test", ["--evaluate", FILE, "--q-device", "default.qubit", "--test", "false"]),
    ("arch", ["--arch", "resnet1000"]),
    ("augment", [CARS, "--augment", "maybe"]),
    ("backbone_weights", ["--backbone-weights", "imagenet"]),
    ("backbone_weights", ["--arch", "resnet18", "--backbone-weights", FILE]),
    ("batch_size", ["--batch-size", "0"]),
    ("bottleneck_parameters", [*CONTROL, "--bottleneck-parameters", "0"]),
    ("cache_images", [CARS, "--cache-images", "maybe"]),
    ("channels", ["--channels", "2"]),
    ("check_images", [CARS, "--check-images", "maybe"]),
    ("class_selection", [CARS, "--class-selection", "best"]),
    ("classes", [CARS, "--classes", "[Nope]"]),
    ("color_jitter", [CARS, "--color-jitter", "-1"]),
    ("crop_to_bbox", [CARS, "--crop-to-bbox", "true"]),
    ("download", [CARS, "--download", "maybe"]),
    ("encoding", ["--encoding", "rz"]),
    ("entangler", ["--entangler", "ring"]),
    ("filter_seed", [*QUANV, "--filter-seed", "-1"]),
    ("fourier_order", [*FOURIER, "--fourier-order", "0"]),
    ("fourier_order", [*FOURIER, "--n-qubits", "12", "--fourier-order", "4"]),
    ("freeze_backbone", ["--freeze-backbone", "maybe"]),
    ("head_width", [*QUANV, "--head-width", "0"]),
    ("identity_blocks", ["--identity-blocks", "maybe"]),
    ("identity_blocks", ["--q-depth", "1"]),
    ("identity_blocks", ["--reupload", "true"]),
    ("identity_blocks", ["--identity-blocks", "false", "--q-init", "identity"]),
    ("hflip", [CARS, "--hflip", "maybe"]),
    ("image_size", ["--image-size", "0"]),
    ("keep", ["--data", "combined", "--data-dir", ".", "--keep", "all"]),
    ("kernel_size", [*QUANV, "--kernel-size", "0"]),
    ("identity_blocks", ["--identity-blocks", "maybe"]),
    ("lr", ["--lr", "0"]),
    ("lr", ["--lr", "1e400"]),
    ("min_images_per_class", [VMMRDB, "--min-images-per-class", "x"]),
    ("n_heads", ["--n-heads", "0"]),
    ("projection_hidden", ["--projection-hidden", "-1"]),
    ("projection_hidden", [*CONTROL, "--projection-hidden", "wide"]),
    ("angle_scale", ["--angle-scale", "0"]),
    ("angle_scale", [*CONTROL, "--angle-scale", "inf"]),
    ("n_layers", [*QUANV, "--n-layers", "0"]),
    ("n_qubits", ["--n-qubits", "-1"]),
    ("noise", [*SYNTHETIC, "--noise", "-1"]),
    ("normalize", ["--normalize", "maybe"]),
    ("normalize_mean", [CARS, "--normalize-mean", "[0.5]"]),
    ("normalize_std", [CARS, "--normalize-std", "[0,0,0]"]),
    ("num_classes", [*SYNTHETIC, "--num-classes", "1"]),
    ("num_classes", [CARS, "--num-classes", "99"]),
    ("precompute_features", ["--precompute-features", "true"]),
    ("q_depth", ["--q-depth", "0"]),
    ("q_device", ["--q-device", "ibm.fake"]),
    ("q_device_options", ["--q-device-options", "5"]),
    ("q_diff_method", ["--q-device", "default.qubit", "--q-diff-method", "magic"]),
    ("q_init", ["--q-init", "zeros"]),
    ("readout", ["--readout", "xx"]),
    ("q_init_scale", ["--q-init", "normal", "--q-init-scale", "-1"]),
    ("q_lr", ["--q-lr", "-1"]),
    ("residual", ["--residual", "maybe"]),
    ("reupload", ["--reupload", "maybe"]),
    ("rotation", [CARS, "--rotation", "-5"]),
    ("samples_per_class", [*SYNTHETIC, "--samples-per-class", "0"]),
    ("shots", ["--shots", "0"]),
    ("stanford_dir", ["--data", "combined", "--data-dir", ".", "--stanford-dir", FILE]),
    ("stride", [*QUANV, "--stride", "0"]),
    ("test_fraction", ["--test-fraction", "1"]),
    ("trainable_filter", [*QUANV, "--trainable-filter", "maybe"]),
    ("train_last_stages", ["--train-last-stages", "two"]),
    ("train_last_stages", ["--train-last-stages", "3"]),
    ("train_last_stages", ["--train-last-stages", "1", "--freeze-backbone", "true"]),
    ("train_last_stages", ["--train-last-stages", "all", "--precompute-features", "true"]),
    ("val_fraction", ["--val-fraction", "-0.5"]),
    ("val_fraction", ["--val-fraction", "0.6", "--test-fraction", "0.5"]),
    (
        "vmmrdb_dir",
        ["--data", "combined", "--data-dir", ".", "--stanford-dir", CARS_DIR, "--vmmrdb-dir", FILE],
    ),
    ("weight_decay", ["--weight-decay", "-1"]),
]

# What names an option whose message speaks of another name (the file, the dataset's term).
NAMED_AS = {
    "data_dir": "no Stanford Cars layout found in",
    "stanford_dir": "no Stanford Cars layout found in",
    "vmmrdb_dir": "is a file, not a directory",
    "evaluate": "--evaluate",
    "resume": "--resume",
    "test": "--test",
    "q_init_scale": "init scale",
    "import": "--import no_such_module_for_the_runner: the module failed to import",
    "q_diff_method": "diff_method",
    "classes": "class 'Nope'",
    "normalize_mean": "mean and std",
    "normalize_std": "std must be",
    "q_device": "quantum device",
    "model": "--model qcnn: no such model; give one of classical, hybrid,",
    "data": "--data mnist: no such dataset; give one of combined, digits,",
    "arch": "unknown backbone",
    "precompute_features": "precompute_features",
    "backbone_weights": "backbone_weights",
    "crop_to_bbox": "crop_to_bbox",
}


@pytest.fixture(scope="module")
def places(tmp_path_factory) -> dict[str, str]:
    """The placeholders of `BAD_VALUES`: small datasets and a file."""
    root = tmp_path_factory.mktemp("places")
    cars = write_folders(root / "cars", per_class=6, test_per_class=2)
    vmmrdb = write_vmmrdb(root / "vmmrdb")
    small = ["--image-size", "16", "--val-fraction", "0.2", "--cache-dir", str(root / "cache")]
    (root / "file").write_text("not a directory")
    return {
        CARS_DIR: str(cars),
        CARS: " ".join(["--data", "stanford_cars", "--data-dir", str(cars), *small]),
        VMMRDB: " ".join(["--data", "vmmrdb", "--data-dir", str(vmmrdb), *small]),
        FILE: str(root / "file"),
    }


@pytest.fixture
def no_training(monkeypatch):
    """Fails the test if a run gets as far as training."""

    def train(*args, **kwargs):
        pytest.fail("training started")

    monkeypatch.setattr(hqnn_lightning.run.seeds, "train", train)


def refused(argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """Runs the CLI on ``argv``; checks that it exits with 2 before training, with no
    traceback, and returns its ``error:`` line."""
    defaults = ["--model", "hybrid_tiny", "--logger", "csv", "--output-dir", str(tmp_path / "o")]
    with pytest.raises(SystemExit) as exit_info:
        main([*defaults, *argv])
    error = capsys.readouterr().err
    assert exit_info.value.code == 2, error
    assert "Traceback" not in error and "usage:" not in error
    return error_line(error)


def expand(argv: list[str], places: dict[str, str]) -> list[str]:
    expanded = []
    for word in argv:
        for name, value in places.items():
            word = word.replace(name, value)
        expanded += word.split(" ") if word.startswith("--data ") else [word]
    return expanded


@pytest.mark.parametrize(
    ("option", "argv"), BAD_VALUES, ids=[f"{o}={a[-1]}" for o, a in BAD_VALUES]
)
def test_a_value_no_run_can_use_is_refused_naming_the_option(
    option, argv, places, no_training, tmp_path, capsys
):
    error = refused(expand(argv, places), tmp_path, capsys)
    named = NAMED_AS.get(option)
    if named is None:
        assert option in error or option.replace("_", "-") in error, error
    else:
        assert named in error, error


def test_every_option_is_tried():
    options = {option.name for option in RUNNER_OPTIONS}
    options |= {option.name for option in constructor_options()}
    assert options - {"wandb_entity", "wandb_group"} <= {option for option, _ in BAD_VALUES}


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["--max-epochs", "many"], "--max-epochs many: expected int"),
        (["--n-qubits", "four"], "--n-qubits four: expected int or null"),
        (["--seeds", "[a]"], "--seeds ['a']: expected list[int] or null"),
        (["--logger", "mlflow"], "--logger mlflow: expected one of 'wandb', 'csv', 'tensorboard'"),
        (
            ["--q-device-options", "[1,2]"],
            "--q-device-options [1, 2]: expected dict[str, Any] or null",
        ),
    ],
)
def test_a_value_of_the_wrong_type_is_refused_in_one_line(argv, line, tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["--model", "hybrid_tiny", "--output-dir", str(tmp_path), *argv])
    assert error_line(capsys.readouterr().err) == f"error: {line}"


@pytest.mark.parametrize("accelerator", ["gpu", "cuda", "mps"])
def test_an_accelerator_this_machine_lacks(accelerator, no_training, tmp_path, capsys):
    if accelerator == "mps" and torch.backends.mps.is_available():
        pytest.skip("this machine has MPS")
    if accelerator != "mps" and torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    error = refused(["--accelerator", accelerator], tmp_path, capsys)
    assert error.startswith(f"error: --accelerator {accelerator}: ")


def test_devices_zero(no_training, tmp_path, capsys):
    error = refused(["--devices", "0"], tmp_path, capsys)
    assert error == (
        "error: --devices 0: `Trainer(devices=0)` value is not a valid input using cpu accelerator."
    )


@pytest.fixture
def read_only(tmp_path, monkeypatch) -> Path:
    """A directory this user cannot write in. Root writes in it regardless of its mode, so
    for root ``os.access`` answers as it does for any other user."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    if os.access(folder, os.W_OK):
        access = os.access
        monkeypatch.setattr(
            os,
            "access",
            lambda path, mode: access(path, mode) and not (Path(path) == folder and mode & 2),
        )
    yield folder
    folder.chmod(0o755)


@pytest.mark.parametrize(
    ("option", "under"), [("--output-dir", "runs"), ("--output-dir", ""), ("--cache-dir", "c")]
)
def test_a_read_only_directory(option, under, read_only, places, no_training, tmp_path, capsys):
    path = read_only / under if under else read_only
    argv = [*places[CARS].split(), option, str(path)]
    error = refused(argv, tmp_path, capsys)
    assert error == (
        f"error: {option} {path}: {read_only} is read-only to this user "
        "(no permission to write in it)"
    )


def test_test_folders_without_images(no_training, tmp_path, capsys):
    cars = write_folders(tmp_path / "cars", per_class=6, test_per_class=1)
    for image in (cars / "test").glob("*/*"):
        image.unlink()
    argv = ["--data", "stanford_cars", "--data-dir", str(cars), "--num-classes", "3"]
    argv += ["--image-size", "16", "--val-fraction", "0.2", "--cache-dir", str(tmp_path / "c")]
    error = refused(argv, tmp_path, capsys)
    assert error == (
        f"error: {cars}: no test image in any of the 3 selected classes, so a run would train "
        "and then have nothing to test on"
    )


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    """A finished run of hybrid_tiny on 4x4 synthetic images: config.yaml and checkpoints."""
    output = tmp_path_factory.mktemp("runs")
    argv = ["--model", "hybrid_tiny", "--data", "synthetic", "--image-size", "4"]
    main([*argv, "--max-epochs", "1", "--logger", "csv", "--output-dir", str(output)])
    (run,) = output.iterdir()
    return run


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--max-retries", "-1"], "--max-retries -1: give at least 0 (0: no retry)"),
        (["--shots", "0"], "--shots 0: give at least 1, or leave it out for an exact simulation"),
        (["--shots", "-1"], "--shots -1: give at least 1, or leave it out for an exact simulation"),
        (["--batch-size", "0"], "--batch-size 0: give at least 1"),
        (["--eval-dir", FILE], f"--eval-dir {FILE}: is a file, not a directory"),
        (["--eval-dir", f"{FILE}/results"], f"--eval-dir {FILE}/results: {FILE} is a file"),
    ],
    ids=["max_retries=-1", "shots=0", "shots=-1", "batch_size=0", "eval_dir=file", "under_a_file"],
)
def test_evaluate_refuses_its_options_before_writing_anything(
    argv, message, run_dir, places, tmp_path, capsys
):
    checkpoint = run_dir / "checkpoints" / "last.ckpt"
    argv = ["--evaluate", str(checkpoint), "--q-device", "default.qubit", "--yes", *argv]
    error = refused(expand(argv, places), tmp_path, capsys)
    assert error == f"error: {expand([message], places)[0]}"
    assert not (run_dir / "evaluations").exists()


def test_evaluate_names_a_run_config_that_is_not_text(run_dir, tmp_path, capsys):
    copy = shutil.copytree(run_dir, tmp_path / "run")
    (copy / "config.yaml").write_bytes(bytes(range(256)))
    argv = ["--evaluate", str(copy / "checkpoints" / "last.ckpt"), "--q-device", "default.qubit"]
    error = refused(argv, tmp_path, capsys)
    assert error.startswith(f"error: --config {copy / 'config.yaml'} is not text (byte 0x80")
    assert not (copy / "evaluations").exists()


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "WANDB_MODE",
            "bogusmode",
            "Input should be 'online', 'offline', 'shared', 'disabled', 'dryrun' or 'run'",
        ),
        ("WANDB_INIT_TIMEOUT", "soon", "Input should be a valid number, unable to parse string"),
        ("WANDB_SILENT", "maybe", "Input should be a valid boolean, unable to interpret input"),
        ("WANDB_RESUME", "sometimes", "Input should be 'allow', 'must', 'never' or 'auto'"),
        ("WANDB_BASE_URL", "api wandb", "Input should be a valid URL, relative URL without a base"),
        ("WANDB_PROJECT", "a/b", "Invalid project name 'a/b': cannot contain characters"),
    ],
)
def test_a_wandb_variable_wandb_refuses_stops_the_run_before_its_folder_exists(
    variable, value, message, no_training, tmp_path, capsys, monkeypatch
):
    monkeypatch.setenv(variable, value)
    error = refused(["--logger", "wandb"], tmp_path, capsys)
    assert error.startswith(f"error: {variable}={value} in the environment: {message}")
    assert not (tmp_path / "o").exists()


def test_a_cache_variable_that_names_a_file(places, no_training, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HQNN_CACHE_DIR", places[FILE])
    argv = places[CARS].split()
    argv = argv[: argv.index("--cache-dir")]
    error = refused(argv, tmp_path, capsys)
    assert error == (
        f"error: HQNN_CACHE_DIR={places[FILE]} in the environment: is a file, not a directory; "
        "point it at a directory, or give --cache-dir"
    )
