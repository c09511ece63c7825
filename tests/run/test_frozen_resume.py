"""``--resume`` and ``--evaluate`` of a run whose checkpoints leave out its frozen pretrained
backbone (`hqnn_lightning.models.frozen_state`)."""

from __future__ import annotations

from pathlib import Path

import pytest
import timm
import torch

from hqnn_lightning.models.frozen_state import FINGERPRINT_KEY
from hqnn_lightning.run.cli import main
from tests.run.test_resume import MID_EPOCH, TINY_FIT, assert_same_as_uninterrupted, kill_after


@pytest.fixture(scope="module")
def frozen_fit(tmp_path_factory) -> list[str]:
    """`TINY_FIT` with timm's tiny ``test_efficientnet``, frozen, its weights from a file."""
    weights = tmp_path_factory.mktemp("weights") / "backbone.pt"
    torch.manual_seed(0)
    torch.save(timm.create_model("test_efficientnet", num_classes=0).state_dict(), weights)
    backbone = ["--arch", "test_efficientnet", "--backbone-weights", str(weights)]
    return [*TINY_FIT, *backbone, "--freeze-backbone", "true", "--image-size", "8"]


@pytest.fixture(scope="module")
def uninterrupted(frozen_fit, tmp_path_factory) -> dict:
    (results,) = main([*frozen_fit, "--output-dir", str(tmp_path_factory.mktemp("whole"))])
    return results


def killed_and_resumed(fit: list[str], uninterrupted: dict, tmp_path: Path) -> dict:
    """Runs ``fit``, kills it mid-epoch, resumes it to the ``uninterrupted`` run's result and
    returns the checkpoint it was killed after; checks that it left out the frozen tensors."""
    argv = [*fit, "--output-dir", str(tmp_path / "killed")]
    killed_dir, _ = kill_after(MID_EPOCH, argv, tmp_path)
    step_checkpoint = torch.load(killed_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert FINGERPRINT_KEY in step_checkpoint
    (resumed,) = main([*argv, "--resume", "last"])
    assert_same_as_uninterrupted(resumed, killed_dir, uninterrupted)
    return step_checkpoint


def assert_evaluates_as_tested(uninterrupted: dict, tmp_path: Path) -> None:
    """``--evaluate`` of the ``uninterrupted`` run's best checkpoint, which leaves out its
    frozen tensors, gives its test top-1."""
    run_dir = Path(uninterrupted["run_dir"])
    best = run_dir / uninterrupted["best_checkpoint"]
    assert FINGERPRINT_KEY in torch.load(best, weights_only=True)
    argv = ["--evaluate", str(best), "--q-device", "default.qubit", "--yes"]
    (summary,) = main([*argv, "--eval-dir", str(tmp_path / "eval")])
    assert summary["samples"] > 0
    assert summary["test/acc_top1"] == pytest.approx(uninterrupted["test/acc_top1"])


@pytest.mark.slow
def test_a_killed_frozen_run_resumes_to_the_uninterrupted_result(
    frozen_fit, uninterrupted, tmp_path
):
    step_checkpoint = killed_and_resumed(frozen_fit, uninterrupted, tmp_path)
    assert not any(name.startswith("backbone.") for name in step_checkpoint["state_dict"])


@pytest.mark.slow
def test_evaluate_loads_a_checkpoint_without_its_frozen_backbone(uninterrupted, tmp_path):
    assert_evaluates_as_tested(uninterrupted, tmp_path)
