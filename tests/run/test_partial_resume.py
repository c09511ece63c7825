"""``--resume`` and ``--evaluate`` of a partially fine-tuned run (``--train-last-stages 1``)
that trains from cached activations, its checkpoints without the frozen prefix."""

from __future__ import annotations

import pytest
import timm
import torch

from hqnn_lightning.models.frozen_state import FINGERPRINT_KEY
from hqnn_lightning.run.cli import main
from tests.run.test_frozen_resume import assert_evaluates_as_tested, killed_and_resumed
from tests.run.test_resume import TINY_FIT


@pytest.fixture(scope="module")
def partial_fit(tmp_path_factory) -> list[str]:
    """`TINY_FIT` with timm's tiny ``test_efficientnet`` (5 stages, its weights from a file),
    the last one training on cached activations."""
    weights = tmp_path_factory.mktemp("weights") / "backbone.pt"
    torch.manual_seed(0)
    torch.save(timm.create_model("test_efficientnet", num_classes=0).state_dict(), weights)
    backbone = ["--arch", "test_efficientnet", "--backbone-weights", str(weights)]
    cache = ["--precompute-features", "true", "--cache-dir", str(tmp_path_factory.mktemp("c"))]
    return [*TINY_FIT, *backbone, "--train-last-stages", "1", *cache, "--image-size", "8"]


@pytest.fixture(scope="module")
def uninterrupted(partial_fit, tmp_path_factory) -> dict:
    (results,) = main([*partial_fit, "--output-dir", str(tmp_path_factory.mktemp("whole"))])
    return results


@pytest.mark.slow
def test_a_killed_partial_run_resumes_to_the_uninterrupted_result(
    partial_fit, uninterrupted, tmp_path
):
    step_checkpoint = killed_and_resumed(partial_fit, uninterrupted, tmp_path)
    assert step_checkpoint[FINGERPRINT_KEY]["source"]["train_last_stages"] == 1
    saved = {name for name in step_checkpoint["state_dict"] if name.startswith("backbone.")}
    assert saved and not any(".conv_stem." in name or ".blocks.0." in name for name in saved)


@pytest.mark.slow
def test_evaluate_runs_the_whole_model_on_images(uninterrupted, tmp_path):
    assert_evaluates_as_tested(uninterrupted, tmp_path)
