"""A dataset's model defaults: ``python experiments/run.py --model hybrid`` with nothing else
trains the small CNN on digits (seconds), while an option given, a model variant's own value,
other datasets and older runs' ``config.yaml`` keep what they had."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from hqnn_lightning.data import DATAMODULES
from hqnn_lightning.models import MODELS
from hqnn_lightning.run.cli import main
from hqnn_lightning.run.options import build_parser, constructor_arguments, resolved_options
from hqnn_lightning.run.resume import resumed_config
from hqnn_lightning.run.saved_options import parse_saved_options


@pytest.mark.parametrize("argv", [[], ["--model", "hybrid"], ["--model", "classical"]])
def test_the_default_command_resolves_to_the_fast_setting(argv):
    """The headline command: the small CNN on the 8x8 digits, 10 epochs, one seed; a
    ResNet-50 there took over 10 minutes on 2 cores (issue 27)."""
    resolved = resolved_options(build_parser().parse_args(argv))
    assert resolved["data"] == "digits"
    assert resolved["arch"] == "small_cnn"
    assert resolved["image_size"] == 8
    assert resolved["max_epochs"] == 10
    assert resolved["seeds"] is None
    assert resolved["backbone_weights"] == "none"


def test_config_yaml_records_the_arch_the_dataset_chose():
    saved = yaml.safe_load(build_parser().dump(build_parser().parse_args([])))
    assert saved["arch"] == "small_cnn"


@pytest.mark.parametrize(
    ("argv", "arch"),
    [
        (["--arch", "resnet50"], "resnet50"),  # an option given wins
        (["--model", "classical_tiny"], "resnet18"),  # so does a variant's own value
        (["--model", "hybrid_tiny"], "small_cnn"),
        (["--data", "synthetic"], "resnet50"),  # a dataset without model defaults
        (["--backbone-weights", "imagenet"], "resnet50"),  # a pretrained model's own backbone
    ],
)
def test_what_the_dataset_does_not_choose(argv, arch):
    assert resolved_options(build_parser().parse_args(argv))["arch"] == arch


def test_an_option_from_a_config_file_wins(tmp_path):
    path = tmp_path / "study.yaml"
    path.write_text("arch: resnet50\n")
    assert build_parser().parse_args(["--config", str(path)]).arch == "resnet50"


def test_a_model_without_the_option_is_built_without_it():
    config = build_parser().parse_args(["--model", "quanv"])
    model_arguments, _ = constructor_arguments(config)
    assert "arch" not in MODELS.accepted_arguments("quanv")
    assert "arch" not in model_arguments


def test_only_digits_declares_model_defaults():
    declared = {
        name: getattr(DATAMODULES.get(name), "model_defaults", {}) for name in DATAMODULES.names()
    }
    assert {name: value for name, value in declared.items() if value} == {
        "digits": {"arch": "small_cnn"}
    }


def test_help_names_the_dataset_defaults_and_the_study_setting(capsys):
    main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "digits: --arch small_cnn" in text
    assert "--data stanford_cars --data-dir DIR --backbone-weights imagenet" in text


def old_run(output_dir: Path) -> Path:
    """A run directory of ``--model hybrid`` as written before datasets had model defaults:
    no ``arch``, which built the model's ResNet-50."""
    parser = build_parser()
    run_dir = output_dir / "hybrid-digits-seed0-20260101-000000"
    (run_dir / "checkpoints").mkdir(parents=True)
    (run_dir / "checkpoints" / "last.ckpt").write_bytes(b"")
    config = parser.parse_args(["--output-dir", str(output_dir)], data_defaults=False)
    (run_dir / "config.yaml").write_text(parser.dump(config))
    return run_dir


def test_an_older_run_keeps_its_resnet(tmp_path):
    run_dir = old_run(tmp_path)
    assert "arch" not in yaml.safe_load((run_dir / "config.yaml").read_text())
    saved = parse_saved_options(build_parser(), run_dir / "config.yaml")
    assert resolved_options(saved)["arch"] == "resnet50"


@pytest.mark.parametrize("resume", ["last", "dir"])
def test_resume_finds_an_older_run_with_its_own_command(tmp_path, resume):
    run_dir = old_run(tmp_path)
    target = "last" if resume == "last" else str(run_dir)
    argv = ["--output-dir", str(tmp_path), "--resume", target]
    parser = build_parser()
    merged, resumption = resumed_config(parser, argv, parser.parse_args(argv))
    assert resumption.run_dir == run_dir
    assert resolved_options(merged)["arch"] == "resnet50"


def test_resume_last_tells_an_older_run_from_a_new_one(tmp_path):
    """The bare command resumes the newer run made with the dataset's default; the old one
    is still found when its arch is given."""
    old = old_run(tmp_path)
    new = tmp_path / "hybrid-digits-seed0-20270101-000000"
    (new / "checkpoints").mkdir(parents=True)
    (new / "checkpoints" / "last.ckpt").write_bytes(b"")
    parser = build_parser()
    (new / "config.yaml").write_text(parser.dump(parser.parse_args([])))
    for arch, expected in ((None, new), ("resnet50", old), ("small_cnn", new)):
        argv = ["--output-dir", str(tmp_path), "--resume", "last"]
        argv += ["--arch", arch] if arch else []
        _, resumption = resumed_config(parser, argv, parser.parse_args(argv))
        assert resumption.run_dir == expected


@pytest.mark.slow
def test_the_default_command_learns_and_gives_a_verdict(tmp_path):
    """End to end, what a newcomer's first command prints (about 10 s on 2 cores)."""
    (result,) = main(["--output-dir", str(tmp_path), "--logger", "csv", "--progress-bar", "false"])
    assert result["test/acc_top1"] > 0.5  # chance is 0.1; measured 0.78
    assert result["trainability"]["learned"]
    saved = yaml.safe_load((Path(result["run_dir"]) / "config.yaml").read_text())
    assert saved["arch"] == "small_cnn"
