import pickle

import lightning as L
import numpy as np
import pytest
import torch
from torch.utils.data import Subset, TensorDataset

from hqnn_lightning.data import AugmentationConfig, DigitsDataModule
from hqnn_lightning.data.feature_cache import FeatureCacheDataModule
from hqnn_lightning.data.feature_cache_key import dataset_fingerprint
from hqnn_lightning.data.feature_store import build_feature_cache, collate_feature_batch
from hqnn_lightning.models import ConvControlNet, QuanvNet
from hqnn_lightning.quantum import QuanvolutionLayer


def image_dataset(n=10, size=6, seed=0):
    generator = torch.Generator().manual_seed(seed)
    images = torch.rand(n, 2, size, size, generator=generator)
    return TensorDataset(images, torch.arange(n) % 3)


def cache_dirs(root):
    return sorted(p.name for p in root.iterdir() if p.name.startswith("quanv-"))


class TestFeatureCache:
    def test_equals_the_features_computed_on_the_fly(self, tmp_path):
        dataset = image_dataset()
        layer = QuanvolutionLayer(kernel_size=2, stride=1, n_layers=2, seed=3)
        cached = build_feature_cache(layer, dataset, tmp_path, batch_size=4)
        images, labels = dataset.tensors
        assert len(cached) == len(dataset)
        features = torch.stack([cached[i][0] for i in range(len(cached))])
        torch.testing.assert_close(features, layer(images), atol=0, rtol=0)
        assert torch.equal(torch.stack([cached[i][1] for i in range(len(cached))]), labels)

    def test_second_build_reads_the_cache(self, tmp_path):
        dataset = image_dataset()
        layer = QuanvolutionLayer()
        build_feature_cache(layer, dataset, tmp_path)
        calls = []
        layer.register_forward_hook(lambda *args: calls.append(1))
        again = build_feature_cache(layer, dataset, tmp_path)
        assert calls == [] and len(cache_dirs(tmp_path)) == 1
        torch.testing.assert_close(again[3][0], layer(dataset.tensors[0][3:4])[0])

    @pytest.mark.parametrize(
        "change",
        [
            {"seed": 1},
            {"n_layers": 2},
            {"stride": 1},
            {"padding": 1},
            {"kernel_size": 3},
            "pixel",
            "samples",
            "size",
        ],
    )
    def test_any_change_builds_a_new_cache(self, tmp_path, change):
        dataset, layer = image_dataset(), QuanvolutionLayer()
        build_feature_cache(layer, dataset, tmp_path)
        images, labels = dataset.tensors
        if isinstance(change, dict):
            layer = QuanvolutionLayer(**change)
        elif change == "pixel":
            images = images.clone()
            images[4, 1, 2, 2] += 0.01
            dataset = TensorDataset(images, labels)
        elif change == "samples":
            dataset = Subset(dataset, range(9))
        else:
            dataset = image_dataset(size=8)
        rebuilt = build_feature_cache(layer, dataset, tmp_path)
        assert len(cache_dirs(tmp_path)) == 2
        index = 4 if change == "pixel" else 0
        sample = torch.as_tensor(dataset[index][0])[None]
        torch.testing.assert_close(rebuilt[index][0], layer(sample)[0], atol=0, rtol=0)

    def test_fingerprint_follows_the_data_not_the_object(self):
        assert dataset_fingerprint(image_dataset()) == dataset_fingerprint(image_dataset())
        assert dataset_fingerprint(image_dataset()) != dataset_fingerprint(image_dataset(seed=1))

    def test_refuses_a_trainable_filter(self, tmp_path):
        with pytest.raises(ValueError, match="trainable QuanvolutionLayer"):
            build_feature_cache(QuanvolutionLayer(trainable=True), image_dataset(), tmp_path)

    def test_dataset_pickles_for_loader_workers(self, tmp_path):
        cached = build_feature_cache(QuanvolutionLayer(), image_dataset(), tmp_path)
        cached[0]
        restored = pickle.loads(pickle.dumps(cached))
        torch.testing.assert_close(restored[5][0], cached[5][0])


class AugmentingDigits(DigitsDataModule):
    augmentation = AugmentationConfig(image_size=8)


class TestQuanvNetWithCachedFeatures:
    def model(self, **kwargs):
        return QuanvNet(num_classes=10, in_channels=1, image_size=8, head_width=4, **kwargs)

    def test_trains_on_cached_features_like_on_images(self, tmp_path):
        images = DigitsDataModule(normalize=False, batch_size=32)
        model = self.model(precompute_features=True)
        data = FeatureCacheDataModule(images, model.quanvolution, tmp_path)
        data.setup("fit")
        features, labels = next(iter(data.val_dataloader()))
        pixels, same_labels = next(iter(images.val_dataloader()))
        assert torch.equal(labels, same_labels)
        model.eval()
        torch.testing.assert_close(model._batch_logits(features), model(pixels))
        model.train()
        trainer = L.Trainer(
            fast_dev_run=2, logger=False, enable_progress_bar=False, enable_model_summary=False
        )
        trainer.fit(model, datamodule=data)
        assert len(cache_dirs(tmp_path)) == 3

    def test_images_in_a_precomputed_step_are_refused(self):
        model = self.model(precompute_features=True)
        with pytest.raises(ValueError, match="FeatureCacheDataModule"):
            model._batch_logits(torch.rand(2, 1, 8, 8))

    def test_features_passed_as_images_are_refused(self):
        with pytest.raises(ValueError, match="classify_features"):
            self.model()(torch.rand(2, 4, 4, 4))

    def test_refuses_augmentation(self, tmp_path):
        with pytest.raises(ValueError, match="augment=False"):
            FeatureCacheDataModule(AugmentingDigits(), QuanvolutionLayer(), tmp_path)

    def test_refuses_a_trainable_filter(self):
        with pytest.raises(ValueError, match="fixed filter"):
            self.model(precompute_features=True, trainable_filter=True)


class TestFrozenBackboneFeatures:
    @pytest.mark.parametrize("name", ["classical_tiny", "hybrid_tiny", "hybrid_control_tiny"])
    def test_cached_features_give_the_logits_of_images(self, name, tmp_path):
        from hqnn_lightning.models import create_model

        images = DigitsDataModule(batch_size=16)
        options = {"num_classes": 10, "in_channels": 1, "image_size": 8, "arch": "small_cnn"}
        model = create_model(name, freeze_backbone=True, precompute_features=True, **options)
        data = FeatureCacheDataModule(images, model.feature_extractor(), tmp_path)
        data.setup("fit")
        features, _ = next(iter(data.val_dataloader()))
        pixels, _ = next(iter(images.val_dataloader()))
        assert features.shape == (16, model.backbone.num_features)
        model.eval()
        torch.testing.assert_close(model._batch_logits(features), model(pixels))
        with pytest.raises(ValueError, match="expects batches of \\(B, F\\) features"):
            model._batch_logits(pixels)
        assert data.class_names == images.class_names

    def test_new_backbone_weights_build_a_new_cache(self, tmp_path):
        from hqnn_lightning.models import SmallCNN

        backbone = SmallCNN(2, width=4).requires_grad_(False)
        build_feature_cache(backbone, image_dataset(), tmp_path)
        build_feature_cache(backbone, image_dataset(), tmp_path)
        assert len(list(tmp_path.glob("features-*"))) == 1
        with torch.no_grad():
            backbone[0].weight.mul_(2)
        rebuilt = build_feature_cache(backbone, image_dataset(), tmp_path)
        assert len(list(tmp_path.glob("features-*"))) == 2
        backbone.eval()
        torch.testing.assert_close(rebuilt[3][0], backbone(image_dataset().tensors[0][3:4])[0])

    def test_a_backbone_that_trains_is_refused(self, tmp_path):
        from hqnn_lightning.models import SmallCNN, create_model

        with pytest.raises(ValueError, match="trainable SmallCNN"):
            build_feature_cache(SmallCNN(2, width=4), image_dataset(), tmp_path)
        with pytest.raises(ValueError, match="needs freeze_backbone=True"):
            create_model("classical_tiny", num_classes=3, precompute_features=True)


class TestConvControlNetWithCachedFeatures:
    def model(self, **kwargs):
        return ConvControlNet(num_classes=10, in_channels=1, image_size=8, head_width=4, **kwargs)

    def test_cached_convolution_gives_the_logits_of_images(self, tmp_path):
        images = DigitsDataModule(normalize=False, batch_size=16)
        model = self.model(precompute_features=True)
        data = FeatureCacheDataModule(images, model.feature_extractor(), tmp_path)
        data.setup("fit")
        features, _ = next(iter(data.val_dataloader()))
        pixels, _ = next(iter(images.val_dataloader()))
        assert features.shape == (16, 4, 4, 4)
        model.eval()
        torch.testing.assert_close(model._batch_logits(features), model(pixels))
        assert len(list(tmp_path.glob("features-*"))) == 3

    def test_refuses_a_trainable_filter(self):
        with pytest.raises(ValueError, match="fixed filter"):
            self.model(precompute_features=True, trainable_filter=True)


def test_an_extractor_that_does_not_describe_itself_is_refused(tmp_path):
    with pytest.raises(TypeError, match="describe"):
        build_feature_cache(torch.nn.Identity(), image_dataset(), tmp_path)


@pytest.mark.slow
def test_runner_trains_a_frozen_hybrid_on_cached_features(tmp_path):
    from hqnn_lightning.run.cli import main

    argv = ["--model", "hybrid_tiny", "--freeze-backbone", "true", "--precompute-features", "true"]
    argv += ["--cache-dir", str(tmp_path / "cache"), "--max-epochs", "2", "--logger", "csv"]
    (results,) = main([*argv, "--output-dir", str(tmp_path / "runs")])
    assert len(list((tmp_path / "cache").glob("features-*"))) == 3  # train, val, test
    assert 0 <= results["test/acc_top1"] <= 1 and results["epochs"] == 2


def test_every_seed_and_split_reads_one_cache_of_the_decoded_images(tmp_path):
    from hqnn_lightning.data import StanfordCarsDataModule
    from hqnn_lightning.models import SmallCNN
    from tests.data.car_files import write_folders

    root = write_folders(tmp_path / "cars", per_class=6, test_per_class=2)
    backbone = SmallCNN(3, width=4).requires_grad_(False).eval()
    splits = {}
    for seed in (0, 1):
        images = StanfordCarsDataModule(
            str(root),
            image_size=16,
            augment=False,
            cache_images=True,
            val_fraction=0.5,
            cache_dir=str(tmp_path / "cache"),
            seed=seed,
            check_images=False,
        )
        data = FeatureCacheDataModule(images, backbone, tmp_path / "features")
        data.setup("fit")
        splits[seed] = data.splits
        for split in ("train", "val", "test"):
            dataset = getattr(images, f"{split}_set")
            loader = getattr(data, f"{split}_dataloader")()
            assert loader.collate_fn is collate_feature_batch  # batches passed on as read
            features, labels = next(iter(loader))
            pixels, expected = next(iter(getattr(images, f"{split}_dataloader")()))
            torch.testing.assert_close(labels, expected)
            torch.testing.assert_close(features, backbone(images.batch_transform(pixels, False)))
            assert len(data.splits[split]) == len(dataset)
    assert len(list((tmp_path / "features").glob("features-*"))) == 1
    assert not np.array_equal(splits[0]["val"].rows, splits[1]["val"].rows)
