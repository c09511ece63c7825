"""`make run` shows a hybrid that learns: its config, against the controls of the same shape."""

import json
from pathlib import Path

import numpy as np
import pytest

from hqnn_lightning.run.cli import main

CONFIG = Path(__file__).resolve().parents[2] / "experiments" / "configs" / "digits_hybrid.yaml"


def accuracies(tmp_path: Path, model: str) -> tuple[np.ndarray, list[dict]]:
    out = tmp_path / model
    main(["--config", str(CONFIG), "--model", model, "--logger", "csv", "--output-dir", str(out)])
    results = [json.loads(path.read_text()) for path in sorted(out.glob("*/results.json"))]
    assert sorted(result["seed"] for result in results) == [0, 1, 2]
    return np.array([result["test/acc_top1"] for result in results]), results


@pytest.mark.slow
def test_the_default_hybrid_learns_and_keeps_up_with_its_control(tmp_path):
    hybrid, runs = accuracies(tmp_path, "hybrid")
    control, _ = accuracies(tmp_path, "hybrid_control")
    # Measured (docs/trainability.md): 81.1 +- 2.9 % against 63.8 +- 12.6 %; the issue asks for
    # at most 5 points below the control, and the study's setting gave 22.5 % here.
    assert hybrid.mean() >= control.mean() - 0.05
    assert hybrid.mean() > 0.6
    assert all(run["trainability"]["learned"] for run in runs)
