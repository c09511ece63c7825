"""The runner gives the DataModule what a pretrained backbone expects, unless told otherwise."""

from __future__ import annotations

from jsonargparse import Namespace

from hqnn_lightning.run.build import backbone_preprocessing


def preprocessing(model: str, data: str, **given):
    model_arguments = {k: v for k, v in given.items() if k in ("arch", "backbone_weights")}
    data_arguments = {k: v for k, v in given.items() if k not in model_arguments}
    return backbone_preprocessing(
        Namespace(model=model, data=data), model_arguments, data_arguments
    )


def test_pretrained_weights_set_the_backbones_statistics_and_size():
    chosen = preprocessing(
        "hybrid", "stanford_cars", arch="efficientnet_lite2", backbone_weights="imagenet"
    )
    assert chosen == {
        "normalize_mean": [0.485, 0.456, 0.406],
        "normalize_std": [0.229, 0.224, 0.225],
        "image_size": 260,
    }
    # A variant's or the constructor's default arch counts: hybrid's is resnet50.
    assert preprocessing("hybrid", "stanford_cars", backbone_weights="x.pth")["image_size"] == 224


def test_options_given_win_and_no_weights_change_nothing():
    given = preprocessing(
        "classical",
        "stanford_cars",
        arch="efficientnet_lite2",
        backbone_weights="imagenet",
        image_size=224,
        normalize_std=[0.5, 0.5, 0.5],
    )
    assert given == {"normalize_mean": [0.485, 0.456, 0.406]}
    assert preprocessing("hybrid", "stanford_cars", arch="efficientnet_lite2") == {}
    assert preprocessing("hybrid", "stanford_cars", backbone_weights="none") == {}


def test_a_datamodule_that_does_not_take_them_gets_none():
    # digits normalises with its own pixel statistics and has no normalize_mean.
    chosen = preprocessing("hybrid", "digits", arch="resnet18", backbone_weights="imagenet")
    assert chosen == {"image_size": 224}
