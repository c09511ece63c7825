"""The hyperparameter search: its space, its record, equal candidates for every model, the
final runs with the chosen values."""

from __future__ import annotations

import csv
import json
import logging
import sys
from pathlib import Path

import optuna
import pytest
import yaml
from torch.utils.data import DataLoader

from hqnn_lightning.data.base import ImageClassificationDataModule
from hqnn_lightning.report.predictions import PREDICTIONS_FILE
from hqnn_lightning.report.runs import find_runs
from hqnn_lightning.run.callbacks import NonFiniteLossError, StopOnNonFiniteLoss
from hqnn_lightning.run.pruning import PRUNING_CALLBACK
from hqnn_lightning.run.search_space import PRUNERS, SearchParameter, parse_space
from hqnn_lightning.run.search_study import open_storage
from hqnn_lightning.run.seeds import format_results
from hqnn_lightning.run.tuning import tune, tuning_name

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "experiments"))
from tune import main as tune_main  # noqa: E402

TINY = ["--arch", "small_cnn", "--max-epochs", "1", "--logger", "csv", "--progress-bar", "false"]
SPACE = parse_space(["lr=1e-4:3e-2:log", "weight_decay=1e-6:1e-1:log"])


@pytest.fixture(scope="module")
def classical(tmp_path_factory: pytest.TempPathFactory) -> dict:
    tuning_dir = tmp_path_factory.mktemp("classical")
    return tune(["--model", "classical_tiny", *TINY], SPACE, 3, tuning_dir, seed=0)


class TestSpace:
    def test_spellings_are_read(self) -> None:
        space = parse_space(["lr=1e-4:3e-2:log", "max-epochs=10:40:int", "q_lr=0.1:0.5"])
        assert space == (
            SearchParameter("lr", 1e-4, 3e-2, log=True),
            SearchParameter("max_epochs", 10, 40, integer=True),
            SearchParameter("q_lr", 0.1, 0.5),
        )
        assert [parameter.spelling for parameter in space] == [
            "lr=0.0001:0.03:log",
            "max_epochs=10:40:int",
            "q_lr=0.1:0.5",
        ]

    @pytest.mark.parametrize(
        ("item", "message"),
        [
            ("lr", "'lr': expected NAME=LOW:HIGH[:log][:int]"),
            ("lr=1e-4", "'lr=1e-4': expected NAME=LOW:HIGH"),
            ("lr=1e-4:1e-2:lg", "'lr=1e-4:1e-2:lg': expected NAME=LOW:HIGH"),
            ("lrr=1e-4:1e-2", "'lrr=1e-4:1e-2': experiments/run.py has no option --lrr"),
            ("lr=a:1e-2", "'lr=a:1e-2': LOW and HIGH must be numbers"),
            ("lr=1e-2:1e-4", "'lr=1e-2:1e-4': LOW must be below HIGH"),
            ("lr=0:1e-2:log", "'lr=0:1e-2:log': a log scale needs LOW > 0"),
            ("max_epochs=1.5:4:int", "'max_epochs=1.5:4:int': :int needs integer bounds"),
        ],
    )
    def test_bad_items_are_named(self, item: str, message: str) -> None:
        with pytest.raises(ValueError, match="^--space " + message.replace("[", r"\[")) as error:
            parse_space([item])
        assert "\n" not in str(error.value)

    def test_an_option_searched_twice_is_refused(self) -> None:
        with pytest.raises(ValueError, match="lr is searched twice"):
            parse_space(["lr=1e-4:1e-2", "lr=1e-3:1e-2:log"])


def test_the_record_holds_every_trial_and_the_best_on_validation(classical: dict) -> None:
    record = classical
    assert record["metric"] == "val/acc_top1" and record["n_trials"] == 3
    assert record["sampler"] == {
        "name": "QMCSampler",
        "qmc_type": "sobol",
        "scramble": True,
        "seed": 0,
    }
    assert [trial["number"] for trial in record["trials"]] == [0, 1, 2]
    for trial in record["trials"]:
        assert 1e-4 <= trial["params"]["lr"] <= 3e-2
        assert 1e-6 <= trial["params"]["weight_decay"] <= 1e-1
        results = json.loads((Path(trial["run_dir"]) / "results.json").read_text())
        assert trial["value"] == results["val/acc_top1"] and not trial["diverged"]
        saved = yaml.safe_load((Path(trial["run_dir"]) / "config.yaml").read_text())
        assert saved["lr"] == trial["params"]["lr"] and saved["seed"] == 0
    best = max(record["trials"], key=lambda trial: trial["value"])
    assert record["best"] == {key: best[key] for key in ("number", "params", "value")}
    # test metrics are neither read nor stored
    assert all(
        set(trial) == {"number", "params", "value", "diverged", "pruned", "run_dir"}
        for trial in record["trials"]
    )
    assert record["pruner"] == "none" and record["failed"] == 0
    assert not any(trial["pruned"] for trial in record["trials"])

    tuning_dir = Path(record["trials"][0]["run_dir"]).parents[2]
    assert json.loads((tuning_dir / "tuning.json").read_text()) == record
    assert record["argv"][:2] == ["--model", "classical_tiny"]
    assert record["config"]["arch"] == "small_cnn"


def test_a_trial_skips_the_test_set_and_only_the_final_runs_are_tested(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    test_loaders: list[ImageClassificationDataModule] = []
    build_test_loader = ImageClassificationDataModule.test_dataloader

    def recorded(self: ImageClassificationDataModule) -> DataLoader:
        test_loaders.append(self)
        return build_test_loader(self)

    monkeypatch.setattr(ImageClassificationDataModule, "test_dataloader", recorded)
    run_options = ["--model", "classical_tiny", *TINY, "--output-dir", str(tmp_path)]
    [(record, (final,))] = tune_main(
        ["--trials", "1", "--space", "lr=1e-4:3e-2:log", "--", *run_options]
    )

    (trial,) = record["trials"]
    trial_dir = Path(trial["run_dir"])
    results = json.loads((trial_dir / "results.json").read_text())
    assert results["val/acc_top1"] == trial["value"]
    assert not [key for key in results if key.startswith("test")]
    assert {"confusion_matrix.csv", "confusion_matrix.png", PREDICTIONS_FILE}.isdisjoint(
        path.name for path in trial_dir.iterdir()
    )
    assert yaml.safe_load((trial_dir / "config.yaml").read_text())["test"] is False
    assert "| - | - |" in format_results(results)  # the runner's table: no test columns
    # the final run, alone, loaded the test set and wrote what a test writes
    assert len(test_loaders) == 1 and "test/acc_top1" in final
    final_dir = Path(final["run_dir"])
    assert (final_dir / "confusion_matrix.csv").is_file() and (
        final_dir / PREDICTIONS_FILE
    ).is_file()
    # the report counts the final run only, and reads the trial's validation when asked
    assert [run.run_dir for run in find_runs([tmp_path])] == [final_dir]
    (trial_run,) = find_runs([trial_dir.parent])
    assert trial_run.results.get("test/acc_top1") is None


def test_every_model_is_offered_the_same_candidates(classical: dict, tmp_path: Path) -> None:
    hybrid = tune(["--model", "hybrid_tiny", *TINY], SPACE, 3, tmp_path, seed=0)
    assert [trial["params"] for trial in hybrid["trials"]] == [
        trial["params"] for trial in classical["trials"]
    ]
    assert [trial["value"] for trial in hybrid["trials"]] != [
        trial["value"] for trial in classical["trials"]
    ]


def test_another_search_seed_gives_other_candidates(classical: dict, tmp_path: Path) -> None:
    other = tune(["--model", "classical_tiny", *TINY], SPACE, 2, tmp_path, seed=1)
    first = [trial["params"] for trial in classical["trials"][:2]]
    assert all(a != b for a, b in zip(first, [t["params"] for t in other["trials"]], strict=True))


def test_a_diverged_trial_counts_with_the_epochs_it_validated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def diverge_in_second_epoch(self, trainer, pl_module, loss) -> None:
        if trainer.current_epoch == 1:
            raise NonFiniteLossError("the training loss is nan")

    monkeypatch.setattr(StopOnNonFiniteLoss, "on_before_backward", diverge_in_second_epoch)
    argv = ["--model", "classical_tiny", *TINY, "--max-epochs", "2"]
    record = tune(argv, parse_space(["lr=1e-3:1e-2:log"]), 1, tmp_path)
    (trial,) = record["trials"]
    assert trial["diverged"]
    with (Path(trial["run_dir"]) / "csv" / "metrics.csv").open() as file:
        validated = [
            float(row["val/acc_top1"]) for row in csv.DictReader(file) if row["val/acc_top1"]
        ]
    assert len(validated) == 1 and trial["value"] == validated[0] > 0


def test_a_refused_option_stops_the_search(tmp_path: Path, capsys) -> None:
    argv = ["--model", "classical_tiny", *TINY]
    with pytest.raises(SystemExit) as exit_info:
        tune(argv, parse_space(["n_qubits=2:4:int"]), 3, tmp_path)
    assert exit_info.value.code == 2
    assert "does not take n_qubits" in capsys.readouterr().err
    record = json.loads((tmp_path / "tuning.json").read_text())
    assert record["trials"] == [] and record["best"] is None


def test_tuning_names_depend_on_the_experiment_not_on_seeds_or_outputs() -> None:
    base = ["--model", "hybrid", "--max-epochs", "3"]
    name = tuning_name(base, SPACE, 8, 0)
    assert name.startswith("hybrid-") and len(name) == len("hybrid-") + 8
    assert tuning_name([*base, "--seeds", "[0,1]", "--output-dir", "x"], SPACE, 8, 0) == name
    assert tuning_name([*base, "--n-qubits", "4"], SPACE, 8, 0) != name
    assert tuning_name(base, SPACE[:1], 8, 0) != name
    assert tuning_name(base, SPACE, 4, 0) != name
    assert tuning_name(base, SPACE, 8, 1) != name


def test_tune_then_train_the_final_runs_with_the_chosen_values(
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    optuna_records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = optuna_records.append
    monkeypatch.setattr(logging.getLogger("optuna"), "handlers", [handler])
    run_options = ["--model", "classical_tiny", *TINY, "--output-dir", str(tmp_path)]
    argv = ["--trials", "2", "--space", "lr=1e-4:3e-2:log", "--", *run_options, "--seeds", "[1,2]"]
    [(record, finals)] = tune_main(argv)
    chosen = record["best"]["params"]["lr"]
    assert [results["seed"] for results in finals] == [1, 2]
    for results in finals:
        assert Path(results["run_dir"]).parent == tmp_path
        saved = yaml.safe_load((Path(results["run_dir"]) / "config.yaml").read_text())
        assert saved["lr"] == chosen
    (tuning_dir,) = (tmp_path / "tuning").iterdir()
    assert tuning_dir.name == tuning_name(
        [*run_options, "--seeds", "[1,2]"], parse_space(["lr=1e-4:3e-2:log"]), 2, 0
    )
    printed = capsys.readouterr()
    assert f"--lr {chosen!r}" in printed.out and "trial1 (2/2): lr=" in printed.out
    assert [entry.levelno for entry in optuna_records] == []  # its line per trial: silenced
    assert optuna.logging.get_verbosity() == optuna.logging.INFO  # and restored

    [(again, _)] = tune_main([*argv[:-1], "[3]"])  # the same search, other final seeds: reused
    assert again == record and len(list((tuning_dir / "trials").iterdir())) == 2


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--space", "lr=1e-4:3e-2:lg", "--", "--model", "classical_tiny"],
            "--space 'lr=1e-4:3e-2:lg'",
        ),
        (["--space", "lr=1e-4:3e-2:log"], "give the options of experiments/run.py after --"),
        (["--trials", "0", "--space", "lr=1e-4:3e-2", "--", "--model", "x"], "--trials 0"),
        (
            ["--space", "lr=1e-4:3e-2", "--", "--model", "classical_tiny", "--test", "false"],
            "--test false: the final runs of a search are its tested results",
        ),
    ],
)
def test_bad_tune_options_are_usage_errors(argv, message, capsys, tmp_path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        tune_main([*argv, "--output-dir", str(tmp_path)] if "--" in argv else argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


class PruneOddTrials(optuna.pruners.BasePruner):
    """Prunes trials 1, 3, ... at their first report: a pruner whose choice a test knows."""

    def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
        return trial.number % 2 == 1


def test_a_pruned_trial_stops_after_the_epoch_it_reported_and_is_never_chosen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(PRUNERS, "median", PruneOddTrials)
    argv = ["--model", "classical_tiny", *TINY, "--max-epochs", "3"]
    record = tune(argv, SPACE, 3, tmp_path, pruner="median")
    assert [trial["pruned"] for trial in record["trials"]] == [False, True, False]
    assert record["best"]["number"] != 1 and record["pruner"] == "median"
    study = optuna.load_study(study_name=tmp_path.name, storage=open_storage(None, tmp_path))
    reported = [trial.intermediate_values for trial in study.trials]
    for trial, values in zip(record["trials"], reported, strict=True):
        with (Path(trial["run_dir"]) / "csv" / "metrics.csv").open() as file:
            rows = [row for row in csv.DictReader(file) if row["val/acc_top1"]]
        *epochs, best = [(int(row["epoch"]), float(row["val/acc_top1"])) for row in rows]
        # every epoch's validation top-1 was reported, not the best checkpoint's validated
        # again at the end; the pruned run stopped after its first epoch
        assert values == dict(epochs) and len(values) == (1 if trial["pruned"] else 3)
        assert best[1] == max(values.values()) == trial["value"]
    assert study.trials[1].state == optuna.trial.TrialState.PRUNED
    saved = yaml.safe_load((Path(record["trials"][1]["run_dir"]) / "config.yaml").read_text())
    assert saved["callbacks"] == [{"class_path": PRUNING_CALLBACK}]
    assert tuning_name(argv, SPACE, 3, 0, "median") != tuning_name(argv, SPACE, 3, 0)


def test_a_search_whose_every_trial_was_pruned_chooses_nothing_and_says_so(
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(PRUNERS, "hyperband", lambda: optuna.pruners.ThresholdPruner(lower=2.0))
    run_options = ["--model", "classical_tiny", *TINY, "--output-dir", str(tmp_path)]
    with pytest.raises(SystemExit) as exit_info:
        tune_main(
            [
                "--trials",
                "1",
                "--space",
                "lr=1e-4:3e-2:log",
                "--pruner",
                "hyperband",
                "--",
                *run_options,
            ]
        )
    assert exit_info.value.code == 2
    assert "was pruned, so none is chosen" in capsys.readouterr().err
    assert not [path for path in tmp_path.iterdir() if path.name.startswith("classical")]
