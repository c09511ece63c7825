"""The code of docs/contributing.md's "Adding a model" and "Your own circuit in a model", run as
the page shows it."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import lightning as L
import pytest
import torch

from hqnn_lightning.data import SyntheticImageDataModule
from hqnn_lightning.models import MODELS, create_model
from hqnn_lightning.run.signatures import registered_arguments

PAGE = Path(__file__).parents[2] / "docs" / "contributing.md"


def example_code(heading: str = "Adding a model") -> str:
    """The first Python block of the page's section ``heading``, unindented."""
    section = PAGE.read_text().split(f"## {heading}", 1)[1]
    block = re.search(r"```python\n(.*?)\n\s*```", section, re.DOTALL)
    assert block is not None, f"{PAGE} has no Python block under {heading!r}"
    return textwrap.dedent(block.group(1))


@pytest.fixture
def registered_example(monkeypatch):
    """Runs the example; the registry gets its old entries back afterwards."""
    for attribute in ("_constructors", "_defaults", "_controls"):
        monkeypatch.setattr(MODELS, attribute, dict(getattr(MODELS, attribute)))
    namespace: dict = {"__name__": "contributing_example"}
    exec(compile(example_code(), str(PAGE), "exec"), namespace)
    return namespace["MyModel"]


def test_the_example_model_builds_records_its_arguments_and_trains(registered_example):
    model = create_model("my_model_tiny", num_classes=3, in_channels=3, image_size=8)
    assert isinstance(model, registered_example)
    assert model(torch.rand(2, 3, 8, 8)).shape == (2, 3)
    assert model.hparams["hidden"] == 4 and model.hparams["image_size"] == 8
    assert model.hparams["lr"] == 1e-3
    trainer = L.Trainer(
        fast_dev_run=1,
        accelerator="cpu",
        logger=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )
    trainer.fit(model, datamodule=SyntheticImageDataModule(seed=0))
    assert trainer.state.finished


def test_the_runner_finds_the_examples_options_with_their_help(registered_example):
    # What the runner's constructor_options() derives, from the model registry alone.
    options = registered_arguments(((MODELS, frozenset()),), frozenset())
    hidden = next(option for option in options if option.name == "hidden")
    assert hidden.help.startswith("Width of the hidden layer. [model: my_model, my_model_tiny;")


def test_the_circuit_example_builds_the_models_around_its_circuits():
    namespace: dict = {}
    exec(compile(example_code("Your own circuit in a model"), str(PAGE), "exec"), namespace)
    hybrid, quanv = namespace["hybrid"], namespace["quanv"]
    assert hybrid.quantum.circuit is namespace["circuit"]
    assert hybrid.projection.out_features == hybrid.classifier.in_features == 4
    assert quanv.quanvolution.kernel_size == 3
    assert hybrid.hparams["circuit"] == repr(namespace["circuit"])
