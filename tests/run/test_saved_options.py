"""Run directories from before ``identity_blocks`` was an option: their ``q_init`` says whether
the circuit has identity blocks, so they resume, evaluate and report as before."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from hqnn_lightning.models import create_model
from hqnn_lightning.report.runs import experiment_key, load_run
from hqnn_lightning.run.build import build
from hqnn_lightning.run.options import build_parser
from hqnn_lightning.run.resume import check_resumption, resumed_config
from hqnn_lightning.run.saved_options import parse_saved_options

OLD_OPTIONS = {
    "model": "hybrid_tiny",
    "data": "digits",
    "seed": 0,
    "max_epochs": 2,
    "logger": "csv",
    "encoding": "ry",
}
"""A ``config.yaml`` as the runner wrote it before ``identity_blocks`` (``q_init`` added)."""


def old_run(tmp_path: Path, q_init: str) -> Path:
    """A run directory of hybrid_tiny whose config.yaml predates identity_blocks, with the
    checkpoint of the circuit its q_init built then (identity blocks for ``identity``)."""
    run_dir = tmp_path / "runs" / "hybrid_tiny-digits-seed0-20250101-000000"
    (run_dir / "checkpoints").mkdir(parents=True)
    (run_dir / "config.yaml").write_text(yaml.safe_dump({**OLD_OPTIONS, "q_init": q_init}))
    (run_dir / "results.json").write_text('{"epochs": 2, "test/acc_top1": 0.5}')
    model = create_model(
        "hybrid_tiny",
        num_classes=10,
        in_channels=1,
        image_size=8,
        encoding="ry",
        identity_blocks=q_init == "identity",
        q_init=q_init,
    )
    torch.save({"state_dict": model.state_dict()}, run_dir / "checkpoints" / "last.ckpt")
    return run_dir


@pytest.mark.parametrize(
    ("q_init", "blocks"), [("uniform", False), ("normal", False), ("identity", True)]
)
def test_an_old_configs_q_init_says_whether_it_has_identity_blocks(tmp_path, q_init, blocks):
    run_dir = old_run(tmp_path, q_init)
    parser = build_parser()
    assert parse_saved_options(parser, run_dir / "config.yaml").identity_blocks is blocks
    assert load_run(run_dir).config["identity_blocks"] is blocks
    # The command line over it wins; a new run's options are today's.
    over = parse_saved_options(parser, run_dir / "config.yaml", ["--identity-blocks", "true"])
    assert over.identity_blocks is True
    assert parser.parse_args(["--q-init", q_init]).identity_blocks is None


def test_an_old_run_without_identity_blocks_resumes_from_its_checkpoint(tmp_path):
    run_dir = old_run(tmp_path, "uniform")
    argv = ["--resume", str(run_dir), "--output-dir", str(tmp_path / "runs")]
    parser = build_parser()
    config, resumption = resumed_config(parser, argv, parser.parse_args(argv))
    assert config.identity_blocks is False and config.q_init == "uniform"
    datamodule, model = build(config)
    check_resumption(resumption, datamodule, model)  # its weights fit: no mirror expected
    assert not model.quantum.circuit.identity_blocks


def test_an_old_run_groups_with_a_new_run_of_the_same_circuit(tmp_path):
    old = load_run(old_run(tmp_path / "old", "identity"))
    new_options = ["--model", "hybrid_tiny", "--encoding", "ry", "--q-init", "identity"]
    new_options += ["--max-epochs", "2", "--logger", "csv"]
    written = yaml.safe_load(build_parser().dump(build_parser().parse_args(new_options)))
    assert written["identity_blocks"] is True  # resolved, never read as an old one
    assert experiment_key(old.config) == experiment_key(written)
