"""The runner's training recipe: ``--optimizer``, ``--lr-scheduler``, ``--callbacks``,
``--precision`` and ``--accumulate-grad-batches``, from the command line and YAML in the
``class_path``/``init_args`` form; recorded in ``config.yaml``, compared by ``--resume``,
grouped by the report."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import lightning as L
import pytest
import torch
import yaml

from hqnn_lightning.models import HybridVQC
from hqnn_lightning.report import RunRecord, group_runs
from hqnn_lightning.run.cli import main
from hqnn_lightning.run.options import build_parser, resolved_options
from hqnn_lightning.run.recipe import extra_callbacks, trainer_arguments, training_recipe
from hqnn_lightning.run.resume import read_run_config
from tests.models.test_recipe import configured, tiny
from tests.run.test_resume import FINISHED

SGD = ["--optimizer", "torch.optim.SGD", "--optimizer.momentum", "0.9"]
STEP_LR = ["--lr-scheduler", "torch.optim.lr_scheduler.StepLR", "--lr-scheduler.step_size", "5"]


class FitRecorder(L.Callback):
    """Records, at the start of each fit, what the Trainer trains with."""

    fits: ClassVar[list[dict]] = []

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        optimizer = trainer.optimizers[0]
        FitRecorder.fits.append(
            {
                "optimizer": type(optimizer),
                "lr": [group["lr"] for group in optimizer.param_groups],
                "momentum": [group.get("momentum") for group in optimizer.param_groups],
                "scheduler": type(trainer.lr_scheduler_configs[0].scheduler),
                "precision": trainer.precision,
                "accumulate_grad_batches": trainer.accumulate_grad_batches,
            }
        )


def parsed(argv: list[str]):
    return build_parser().parse_args(["--model", "hybrid_tiny", *argv])


def test_sgd_from_the_command_line_and_from_yaml_reaches_the_optimizer(tmp_path):
    path = tmp_path / "recipe.yaml"
    path.write_text(
        yaml.safe_dump(
            {"optimizer": {"class_path": "torch.optim.SGD", "init_args": {"momentum": 0.9}}}
        )
    )
    for config in (parsed(SGD), parsed(["--config", str(path)])):
        model = tiny(lr=2e-3, q_lr=0.05)
        optimizer = configured(model, callbacks=[training_recipe(config)])["optimizer"]
        assert type(optimizer) is torch.optim.SGD
        # The circuit's weights keep their own group and learning rate under SGD.
        assert [group["lr"] for group in optimizer.param_groups] == [2e-3, 0.05]
        assert [group["momentum"] for group in optimizer.param_groups] == [0.9, 0.9]


def test_a_scheduler_from_the_command_line():
    recipe = training_recipe(parsed([*SGD, *STEP_LR, "--lr-scheduler.gamma", "0.5"]))
    scheduler = configured(tiny(), callbacks=[recipe])["lr_scheduler"]["scheduler"]
    assert type(scheduler) is torch.optim.lr_scheduler.StepLR
    assert (scheduler.step_size, scheduler.gamma) == (5, 0.5)


def test_the_default_recipe_is_left_to_the_model():
    config = parsed([])
    assert config.optimizer is None and config.lr_scheduler is None
    recipe = training_recipe(config)
    assert recipe.optimizer is None and recipe.lr_scheduler is None
    assert extra_callbacks(config) == []
    assert trainer_arguments(config) == {"precision": "32-true", "accumulate_grad_batches": 1}


def test_a_run_from_before_the_recipe_options_resolves_to_the_default_recipe(tmp_path):
    (tmp_path / "config.yaml").write_text("model: hybrid_tiny\ndata: digits\nmax_epochs: 1\n")
    old = read_run_config(build_parser(), tmp_path)
    assert resolved_options(old) == resolved_options(parsed(["--max-epochs", "1"]))
    assert trainer_arguments(old) == {"precision": "32-true", "accumulate_grad_batches": 1}


def test_callbacks_precision_and_accumulation_from_the_command_line():
    config = parsed(
        [
            "--callbacks+",
            "lightning.pytorch.callbacks.LearningRateMonitor",
            "--callbacks.logging_interval",
            "epoch",
            "--precision",
            "bf16-mixed",
            "--accumulate-grad-batches",
            "4",
        ]
    )
    (monitor,) = extra_callbacks(config)
    assert isinstance(monitor, L.pytorch.callbacks.LearningRateMonitor)
    assert monitor.logging_interval == "epoch"
    assert trainer_arguments(config) == {"precision": "bf16-mixed", "accumulate_grad_batches": 4}


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (
            ["--optimizer", "torch.optim.Bogus"],
            "--optimizer torch.optim.Bogus: module 'torch.optim' has no attribute 'Bogus'; give",
        ),
        (
            ["--optimizer", "torch.nn.Linear"],
            "--optimizer torch.nn.Linear: Import path does not correspond to a subclass of "
            "Optimizer",
        ),
        (
            [*SGD, "--optimizer.lr", "0.1"],
            "--optimizer.lr 0.1: Option 'lr' is not accepted; give a torch.optim class and its "
            "arguments (--optimizer.momentum 0.9); the learning rate and weight decay are --lr",
        ),
        (
            ["--lr-scheduler", "torch.optim.lr_scheduler.CosineAnnealingLR"],
            "--lr-scheduler torch.optim.lr_scheduler.CosineAnnealingLR: the following arguments "
            "are required: T_max",
        ),
        (
            [*STEP_LR[:2], "--lr-scheduler.step_size", "x"],
            "--lr-scheduler.step_size x: Expected a <class 'int'>",
        ),
        (
            ["--callbacks+", "lightning.pytorch.callbacks.Bogus"],
            "--callbacks lightning.pytorch.callbacks.Bogus: module 'lightning.pytorch.callbacks' "
            "has no attribute 'Bogus'",
        ),
    ],
)
def test_a_bad_class_path_or_argument_is_refused_while_parsing_in_one_line(
    argv, line, tmp_path, capsys
):
    with pytest.raises(SystemExit) as exit_info:
        main([*argv, "--output-dir", str(tmp_path)])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    (refused,) = [text for text in error.splitlines() if text.startswith("error: ")]
    assert refused.startswith(f"error: {line}"), refused
    assert error.rstrip().endswith(refused)  # nothing after it: one line


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--optimizer", "torch.optim.Rprop"],
            "--optimizer torch.optim.Rprop(",
        ),
        (
            ["--optimizer", "torch.optim.Rprop"],
            "Rprop has no weight decay and the model's is 0.0001; give --weight-decay 0",
        ),
        (
            ["--lr-scheduler", "torch.optim.lr_scheduler.OneCycleLR", "--lr-scheduler.max_lr", "1"],
            "--lr-scheduler torch.optim.lr_scheduler.OneCycleLR(max_lr=1.0",
        ),
    ],
)
def test_a_recipe_that_cannot_be_built_is_refused_before_anything_runs(
    argv, message, tmp_path, capsys
):
    with pytest.raises(SystemExit) as exit_info:
        main(["--model", "hybrid_tiny", *argv, "--output-dir", str(tmp_path)])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_an_optimizer_without_weight_decay_runs_with_none(tmp_path):
    config = parsed(["--optimizer", "torch.optim.Rprop", "--weight-decay", "0"])
    optimizer = configured(tiny(weight_decay=0.0), callbacks=[training_recipe(config)])
    assert type(optimizer["optimizer"]) is torch.optim.Rprop


def run_record(seed: int, **options) -> RunRecord:
    config = {"model": "hybrid_tiny", "data": "digits", "seed": seed, **options}
    return RunRecord(Path(f"run-{seed}"), config, {"test/acc_top1": 0.5})


def sgd(momentum: float) -> dict:
    return {"class_path": "torch.optim.SGD", "init_args": {"momentum": momentum, "nesterov": False}}


def test_the_report_groups_runs_by_their_recipe():
    before = run_record(0)  # a run from before the recipe options were recorded
    default = run_record(1, precision="32-true", accumulate_grad_batches=1)
    runs = [
        before,
        default,
        run_record(0, optimizer=sgd(0.9)),
        run_record(1, optimizer=sgd(0.9)),
        run_record(0, optimizer=sgd(0.5)),
        run_record(0, precision="bf16-mixed"),
        run_record(0, accumulate_grad_batches=4),
        run_record(
            0, callbacks=[{"class_path": "lightning.pytorch.callbacks.LearningRateMonitor"}]
        ),
    ]
    groups = group_runs(runs)
    assert [len(group.runs) for group in groups] == [2, 2, 1, 1, 1, 1]
    assert groups[0].runs == [before, default]
    assert [group.label for group in groups] == [
        "hybrid_tiny",
        "hybrid_tiny optimizer=SGD(momentum=0.9)",
        "hybrid_tiny optimizer=SGD(momentum=0.5)",
        "hybrid_tiny precision=bf16-mixed",
        "hybrid_tiny accumulate_grad_batches=4",
        "hybrid_tiny callbacks=[LearningRateMonitor]",
    ]


def test_one_optimizer_against_the_default_is_labelled_by_its_class():
    groups = group_runs([run_record(0), run_record(0, optimizer=sgd(0.9))])
    assert [group.label for group in groups] == ["hybrid_tiny", "hybrid_tiny optimizer=SGD"]


# The one-epoch run of test_resume.py (FINISHED), with another recipe.
RECIPE_RUN = [
    *FINISHED,
    "--q-lr",
    "0.05",
    *SGD,
    *STEP_LR,
    "--callbacks+",
    "tests.run.test_recipe.FitRecorder",
    "--precision",
    "bf16-mixed",
    "--accumulate-grad-batches",
    "2",
]


@pytest.mark.slow
def test_a_run_with_another_recipe_records_it_and_resumes_only_with_it(tmp_path, capsys):
    FitRecorder.fits.clear()
    (results,) = main([*RECIPE_RUN, "--output-dir", str(tmp_path)])
    assert FitRecorder.fits == [
        {
            "optimizer": torch.optim.SGD,
            "lr": [1e-3, 0.05],
            "momentum": [0.9, 0.9],
            "scheduler": torch.optim.lr_scheduler.StepLR,
            "precision": "bf16-mixed",
            "accumulate_grad_batches": 2,
        }
    ]
    run_dir = Path(results["run_dir"])
    recorded = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert recorded["optimizer"]["class_path"] == "torch.optim.SGD"
    assert recorded["optimizer"]["init_args"]["momentum"] == 0.9
    assert recorded["lr_scheduler"]["init_args"]["step_size"] == 5
    assert recorded["callbacks"][0]["class_path"] == "tests.run.test_recipe.FitRecorder"
    assert (recorded["precision"], recorded["accumulate_grad_batches"]) == ("bf16-mixed", 2)

    # 20 batches of digits, accumulated by 2: 10 optimizer steps.
    last = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert last["global_step"] == 10
    assert all(
        "momentum_buffer" in state for state in last["optimizer_states"][0]["state"].values()
    )
    model = HybridVQC.load_from_checkpoint(run_dir / results["best_checkpoint"], weights_only=True)
    assert "optimizer" not in model.hparams

    with pytest.raises(SystemExit) as exit_info:
        main(["--resume", str(run_dir), "--optimizer", "torch.optim.Adam"])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert "changes optimizer='torch.optim.Adam' (run: 'torch.optim.SGD')" in error
    (resumed,) = main(["--resume", str(run_dir)])
    assert resumed["test/acc_top1"] == results["test/acc_top1"]
