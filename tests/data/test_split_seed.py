"""``split_seed``: the data's split stays fixed while the training seed varies."""

import pytest
import torch

from hqnn_lightning.data.digits import DigitsDataModule
from hqnn_lightning.data.feature_cache import FeatureCacheDataModule
from hqnn_lightning.data.synthetic import SyntheticImageDataModule
from hqnn_lightning.data.vmmrdb import VMMRdbDataModule
from hqnn_lightning.models import SmallCNN
from tests.data.car_files import write_vmmrdb


def split_tensors(data):
    """Every split's images and labels, set up."""
    data.setup()
    return [dataset.tensors for dataset in (data.train_set, data.val_set, data.test_set)]


def same_splits(first, second) -> bool:
    return all(
        torch.equal(a, b)
        for split_a, split_b in zip(first, second, strict=True)
        for a, b in zip(split_a, split_b, strict=True)
    )


@pytest.mark.parametrize("make", [DigitsDataModule, SyntheticImageDataModule])
class TestInMemoryDatasets:
    def test_a_fixed_split_seed_keeps_the_split_across_training_seeds(self, make):
        first = split_tensors(make(seed=0, split_seed=5))
        second = split_tensors(make(seed=3, split_seed=5))
        assert same_splits(first, second)

    def test_another_split_seed_draws_another_split(self, make):
        first = split_tensors(make(seed=0, split_seed=5))
        second = split_tensors(make(seed=0, split_seed=6))
        assert not torch.equal(first[1][0], second[1][0])

    def test_unset_the_split_follows_the_seed_as_before(self, make):
        assert same_splits(split_tensors(make(seed=4)), split_tensors(make(seed=4, split_seed=4)))
        assert not same_splits(split_tensors(make(seed=4)), split_tensors(make(seed=5)))

    def test_the_train_order_still_follows_the_seed(self, make):
        orders = []
        for seed in (0, 1):
            data = make(seed=seed, split_seed=5, batch_size=8)
            data.setup()
            orders.append(list(data.train_dataloader().sampler))
        assert orders[0] != orders[1]


def test_vmmrdb_test_and_val_splits_follow_the_split_seed(tmp_path):
    root = write_vmmrdb(tmp_path / "v")

    def paths(seed, split_seed):
        data = VMMRdbDataModule(
            str(root),
            image_size=16,
            test_fraction=0.2,
            cache_dir=str(tmp_path / "cache"),
            seed=seed,
            split_seed=split_seed,
        )
        data.setup()
        return [[str(s.path) for s in d.samples] for d in (data.val_set, data.test_set)]

    assert paths(0, 2) == paths(1, 2)
    assert paths(0, 2) != paths(0, 3)


def test_cached_features_read_the_wrapped_split(tmp_path):
    """The feature cache keeps the split the wrapped DataModule drew."""

    backbone = SmallCNN(3, width=4).requires_grad_(False).eval()

    def val_features(seed):
        images = SyntheticImageDataModule(image_size=8, seed=seed, split_seed=9)
        data = FeatureCacheDataModule(images, backbone, tmp_path)
        data.setup()
        return next(iter(data.val_dataloader()))

    first, second = val_features(0), val_features(1)
    assert torch.equal(first[0], second[0]) and torch.equal(first[1], second[1])


def test_the_runner_records_split_seed_and_an_old_config_reads_as_before(tmp_path):
    import yaml

    from hqnn_lightning.report.runs import experiment_key
    from hqnn_lightning.run.build import build
    from hqnn_lightning.run.options import build_parser
    from hqnn_lightning.run.saved_options import parse_saved_options

    parser = build_parser()
    options = ["--model", "classical", "--max-epochs", "1", "--seed", "1"]
    config = parser.parse_args([*options, "--split-seed", "7"])
    assert yaml.safe_load(parser.dump(config))["split_seed"] == 7
    datamodule, _ = build(config)
    assert (datamodule.seed, datamodule.data_seed) == (1, 7)
    old = tmp_path / "config.yaml"  # written before the option: no split_seed
    old.write_text(yaml.safe_dump({"model": "classical", "data": "digits", "seed": 1}))
    old_config = parse_saved_options(parser, old)
    assert old_config.split_seed is None
    assert build(old_config)[0].data_seed == 1
    # Runs of a fixed split are another experiment than runs whose split follows the seed.
    assert experiment_key(yaml.safe_load(parser.dump(config))) != experiment_key(
        yaml.safe_load(parser.dump(parser.parse_args(options)))
    )
