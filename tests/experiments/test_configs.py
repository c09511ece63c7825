from pathlib import Path

import pytest

from hqnn_lightning.run.build import build
from hqnn_lightning.run.options import build_parser
from tests.data.car_files import CLASS_NAMES, write_folders, write_image, write_vmmrdb

CONFIGS = sorted((Path(__file__).resolve().parents[2] / "experiments" / "configs").glob("*.yaml"))
STUDY = {
    "combined_classical",
    "combined_hybrid_frozen",
    "combined_hybrid_finetuned",
    "combined_hybrid_control",
    "combined_hybrid_heads",
    "combined_hybrid_residual",
    "combined_hybrid_12qubits",
    "combined_hybrid_reupload",
    *(f"subset{k}_{model}" for k in (3, 5, 10) for model in ("quanv", "quanv_control")),
}
MAX_SUBSET = 10


def test_there_is_a_config_per_experiment_of_the_study():
    assert {path.stem for path in CONFIGS} >= STUDY | {"digits_hybrid", "digits_classical"}


@pytest.fixture(scope="module")
def car_data(tmp_path_factory) -> Path:
    """Stanford Cars (folder layout, 10 classes) and a VMMRdb sharing some cars, as files."""
    root = tmp_path_factory.mktemp("cars")
    write_folders(root / "stanford_cars", per_class=10, test_per_class=2)
    for index in range(len(CLASS_NAMES), MAX_SUBSET):  # enough classes for the 10-class subset
        for split, count in (("train", 10), ("test", 2)):
            for image in range(count):
                folder = root / "stanford_cars" / split / f"Make{index} Model Sedan 2012"
                write_image(folder / f"{image}.jpg", seed=100 * index + image)
    write_vmmrdb(
        root / "vmmrdb",
        {"am_general_hummer_2000": 10, "mercedes_benz_c_class_2012": 10, "volvo_240_1993": 10},
    )
    return root


@pytest.mark.parametrize("path", CONFIGS, ids=lambda path: path.stem)
def test_config_builds_its_data_and_model(path, car_data, tmp_path):
    """Every config builds; car configs on generated files, with small images and no download
    of ImageNet weights (what they would change is tested in tests/models)."""
    overrides = []
    if path.stem.startswith("combined"):
        overrides = [
            "--data-dir",
            str(car_data),
            "--backbone-weights",
            "none",
            "--arch",
            "resnet18",
        ]
    elif path.stem.startswith("subset"):
        overrides = ["--data-dir", str(car_data / "stanford_cars")]
    if overrides:
        overrides += ["--image-size", "16", "--cache-dir", str(tmp_path / "cache")]
    config = build_parser().parse_args(["--config", str(path), *overrides])
    datamodule, model = build(config)
    known = {"ClassicalResNet", "HybridVQC", "HybridControl", "QuanvNet", "ConvControlNet"}
    assert type(model).__name__ in known
    assert model.hparams.num_classes == datamodule.num_classes
    if path.stem.startswith("subset"):
        k = int(path.stem.removeprefix("subset").split("_")[0])
        assert datamodule.num_classes == k
        assert model.hparams.in_channels == 3


def test_quanv_config_keeps_pixels_in_the_unit_interval():
    config = build_parser().parse_args(["--config", str(CONFIGS[0].parent / "digits_quanv.yaml")])
    datamodule, _ = build(config)
    images, _ = next(iter(datamodule.train_dataloader()))
    assert images.min() >= 0 and images.max() <= 1


def test_reupload_config_builds_a_reuploading_circuit(car_data, tmp_path):
    path = CONFIGS[0].parent / "combined_hybrid_reupload.yaml"
    overrides = ["--data-dir", str(car_data), "--backbone-weights", "none", "--arch", "resnet18"]
    overrides += ["--image-size", "16", "--cache-dir", str(tmp_path / "cache")]
    _, model = build(build_parser().parse_args(["--config", str(path), *overrides]))
    assert model.quantum.circuit.reupload and model.quantum.circuit.q_depth == 3
