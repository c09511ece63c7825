from pathlib import Path

import pytest

from hqnn_lightning.cli import build, build_parser

CONFIGS = sorted((Path(__file__).resolve().parents[2] / "experiments" / "configs").glob("*.yaml"))


def test_there_are_configs():
    assert {path.stem for path in CONFIGS} >= {"digits_hybrid", "digits_classical", "digits_quanv"}


@pytest.mark.parametrize("path", CONFIGS, ids=lambda path: path.stem)
def test_config_builds_its_data_and_model(path):
    config = build_parser().parse_args(["--config", str(path)])
    datamodule, model = build(config)
    assert type(model).__name__ in {"ClassicalResNet", "HybridVQC", "QuanvNet"}
    assert model.hparams.num_classes == datamodule.num_classes


def test_quanv_config_keeps_pixels_in_the_unit_interval():
    config = build_parser().parse_args(["--config", str(CONFIGS[0].parent / "digits_quanv.yaml")])
    datamodule, _ = build(config)
    images, _ = next(iter(datamodule.train_dataloader()))
    assert images.min() >= 0 and images.max() <= 1
