"""A search that stops (the state ``kill -9`` leaves, Ctrl-C, SIGTERM, a full disk) is
continued by the same command, which never trains a trial or a final seed twice (issue 26
item 4); `test_search_processes` runs searches as processes."""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import sys
from pathlib import Path

import pytest
import yaml

from hqnn_lightning.report import find_runs
from hqnn_lightning.run import training
from hqnn_lightning.run.callbacks import StopOnNonFiniteLoss
from hqnn_lightning.run.search_space import parse_space
from hqnn_lightning.run.search_study import JOURNAL_FILE
from hqnn_lightning.run.seeds import SIGTERM_EXIT_CODE
from hqnn_lightning.run.tuning import SearchRecordError, tune, tuning_name
from tests.run.test_option_space import read_only  # noqa: F401 (a fixture)

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "experiments"))
from tune import main as tune_main  # noqa: E402

TINY = ["--model", "classical_tiny", "--arch", "small_cnn", "--max-epochs", "1"]
TINY += ["--logger", "csv", "--progress-bar", "false"]
SPACE = parse_space(["lr=1e-3:1e-1:log"])


def runs_of(tuning_dir: Path) -> dict[str, list[Path]]:
    """The run directories of each trial, ``{"trial0": [RUN], ...}``."""
    return {
        trial.name: sorted(path for path in trial.iterdir() if path.is_dir())
        for trial in sorted((tuning_dir / "trials").iterdir())
    }


def error_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("error:")]


@pytest.fixture
def finished(tmp_path: Path) -> tuple[Path, dict]:
    """A finished search of 2 trials, and its record."""
    return tmp_path, tune(TINY, SPACE, 2, tmp_path)


def stop_in_trial1(
    tuning_dir: Path, record: dict, *, finished: bool, checkpoint: bool, kept_in: str = "journal"
) -> Path:
    """Leaves ``tuning_dir`` as a search killed during trial1 leaves it: its study holds
    trial0 finished and trial1 running (the journal cut where trial1's run ended), and
    ``tuning.json`` records trial0 only; trial1's run lacks ``results.json`` (unless
    ``finished``) and its checkpoints (unless ``checkpoint``). With ``kept_in="record"``, as
    a search stopped before searches kept their study in storage leaves it: ``tuning.json``
    alone. Returns trial1's run directory."""
    (run_dir,) = runs_of(tuning_dir)["trial1"]
    journal = tuning_dir / JOURNAL_FILE
    if kept_in == "journal":
        lines = journal.read_text().splitlines(keepends=True)
        ended = next(
            number
            for number, line in enumerate(lines)
            if json.loads(line).get("trial_id") == 1 and "user_attr" in json.loads(line)
        )
        journal.write_text("".join(lines[:ended]))
    else:
        journal.unlink()
    trial0 = record["trials"][0]
    best = {key: trial0[key] for key in ("number", "params", "value")}
    (tuning_dir / "tuning.json").write_text(
        json.dumps({**record, "trials": [trial0], "best": best})
    )
    if not finished:
        (run_dir / "results.json").unlink()
    if not checkpoint:
        shutil.rmtree(run_dir / "checkpoints")
    return run_dir


ENDED = "trial1, left running by a process that ended, marked failed and run again; "


class TestContinuedAfterKill:
    """The state ``kill -9`` leaves during trial1; the same command again."""

    @pytest.mark.parametrize("kept_in", ["journal", "record"])
    def test_an_unfinished_trial_resumes_and_finished_trials_are_not_run_again(
        self, finished, capsys, kept_in
    ) -> None:
        tuning_dir, record = finished
        trial0 = runs_of(tuning_dir)["trial0"][0] / "results.json"
        before = trial0.stat().st_mtime_ns
        run_dir = stop_in_trial1(
            tuning_dir, record, finished=False, checkpoint=True, kept_in=kept_in
        )
        capsys.readouterr()
        again = tune(TINY, SPACE, 2, tuning_dir)
        out = capsys.readouterr().out
        assert (
            f"Continuing the search in {tuning_dir}: 1 of 2 trials finished before this "
            f"command and count as recorded, not run again; {ENDED * (kept_in == 'journal')}"
            f"trial1's unfinished run {run_dir} resumes from its checkpoint"
        ) in out
        assert again["failed"] == (kept_in == "journal")
        assert runs_of(tuning_dir) == {"trial0": [trial0.parent], "trial1": [run_dir]}
        assert trial0.stat().st_mtime_ns == before  # trial0 did not run again
        assert [trial["params"] for trial in again["trials"]] == [
            trial["params"] for trial in record["trials"]
        ]
        assert again["trials"][1]["value"] == record["trials"][1]["value"]
        assert json.loads((tuning_dir / "tuning.json").read_text()) == again

    def test_an_unfinished_trial_without_a_checkpoint_is_replaced_and_named(
        self, finished, capsys
    ) -> None:
        tuning_dir, record = finished
        run_dir = stop_in_trial1(tuning_dir, record, finished=False, checkpoint=False)
        capsys.readouterr()
        again = tune(TINY, SPACE, 2, tuning_dir)
        assert (
            f"trial1's unfinished run without a checkpoint was removed ({run_dir})"
            in capsys.readouterr().out
        )
        (new_run,) = runs_of(tuning_dir)["trial1"]
        # The new run may take the removed one's name (run names are timestamped to the
        # second): it is the new one when it finished.
        assert (new_run / "results.json").is_file() and again["trials"][1]["run_dir"] == str(
            new_run
        )
        assert again["trials"][1]["value"] == record["trials"][1]["value"]

    def test_a_trial_started_by_code_that_tested_trials_resumes_as_it_started(
        self, finished
    ) -> None:
        tuning_dir, record = finished
        run_dir = stop_in_trial1(tuning_dir, record, finished=False, checkpoint=True)
        config = yaml.safe_load((run_dir / "config.yaml").read_text())
        del config["test"]  # the options that code wrote
        (run_dir / "config.yaml").write_text(yaml.safe_dump(config))
        again = tune(TINY, SPACE, 2, tuning_dir)
        assert runs_of(tuning_dir)["trial1"] == [run_dir]
        assert again["trials"][1]["value"] == record["trials"][1]["value"]
        assert "test/acc_top1" in json.loads((run_dir / "results.json").read_text())

    def test_a_finished_trial_not_yet_recorded_counts_once(self, finished, capsys) -> None:
        tuning_dir, record = finished
        run_dir = stop_in_trial1(tuning_dir, record, finished=True, checkpoint=True)
        capsys.readouterr()
        again = tune(TINY, SPACE, 2, tuning_dir)
        assert f"trial1's finished run {run_dir} is counted as it is" in capsys.readouterr().out
        assert runs_of(tuning_dir)["trial1"] == [run_dir]
        assert again["trials"] == record["trials"]

    def test_a_record_the_sampler_does_not_offer_again_is_named(self, finished) -> None:
        tuning_dir, record = finished
        stop_in_trial1(tuning_dir, record, finished=True, checkpoint=True, kept_in="record")
        edited = json.loads((tuning_dir / "tuning.json").read_text())
        edited["trials"][0]["params"]["lr"] = 0.05
        (tuning_dir / "tuning.json").write_text(json.dumps(edited))
        with pytest.raises(SearchRecordError, match=r"tuning.json: trial0 ran with \{'lr': 0.05\}"):
            tune(TINY, SPACE, 2, tuning_dir)

    def test_another_search_in_the_directory_is_refused(self, finished) -> None:
        tuning_dir, _ = finished
        with pytest.raises(FileExistsError, match=f"^{tuning_dir} holds another search"):
            tune(TINY, SPACE, 3, tuning_dir)


def signal_in_trial(monkeypatch: pytest.MonkeyPatch, number: int, signum: int) -> None:
    """Sends ``signum`` to this process in trial ``number``'s first training step."""
    steps = []

    def send(self, trainer, pl_module, loss) -> None:
        if trainer.global_step == 0:
            steps.append(trainer)
        if len(steps) == number + 1 and trainer.global_step == 0:
            os.kill(os.getpid(), signum)

    monkeypatch.setattr(StopOnNonFiniteLoss, "on_before_backward", send)


@pytest.mark.parametrize(
    ("signum", "status", "name"),
    [(signal.SIGINT, 130, "Ctrl-C"), (signal.SIGTERM, SIGTERM_EXIT_CODE, "SIGTERM")],
)
def test_a_signal_stops_the_search_with_one_line_and_the_same_command_continues(
    signum, status, name, tmp_path, capsys, monkeypatch
) -> None:
    signal_in_trial(monkeypatch, 1, signum)
    with pytest.raises(SystemExit) as exit_info:
        tune(TINY, SPACE, 2, tmp_path)
    assert exit_info.value.code == status
    assert error_lines(capsys.readouterr().err) == [
        f"error: {name} stopped the search in {tmp_path} during trial1 (1 of 2 trials "
        "finished, recorded in tuning.json); run the same command again to continue it"
    ]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    assert len(json.loads((tmp_path / "tuning.json").read_text())["trials"]) == 1

    monkeypatch.undo()
    record = tune(TINY, SPACE, 2, tmp_path)
    assert [trial["number"] for trial in record["trials"]] == [0, 1]
    assert not any(trial["diverged"] for trial in record["trials"])
    assert [len(runs) for runs in runs_of(tmp_path).values()] == [1, 1]


def disk_full_at(monkeypatch: pytest.MonkeyPatch, module, file_name: str) -> None:
    """Makes ``module``'s ``write_text_atomically`` of ``file_name`` meet a full disk."""
    write = module.write_text_atomically

    def full(path, text) -> None:
        if Path(path).name == file_name:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        write(path, text)

    monkeypatch.setattr(module, "write_text_atomically", full)


def test_a_full_disk_in_a_trial_stops_the_search_and_is_not_a_diverged_trial(
    tmp_path, capsys, monkeypatch
) -> None:
    disk_full_at(monkeypatch, training, "results.json")
    with pytest.raises(SystemExit) as exit_info:
        tune(TINY, SPACE, 2, tmp_path)
    assert exit_info.value.code == 1
    (run_dir,) = runs_of(tmp_path)["trial0"]
    assert error_lines(capsys.readouterr().err) == [
        f"error: no space left on device writing {run_dir / 'results.json'} stopped the "
        f"search in {tmp_path} during trial0 (0 of 2 trials finished, recorded in "
        "tuning.json); free space, then run the same command again to continue it"
    ]
    assert json.loads((tmp_path / "tuning.json").read_text())["trials"] == []


def test_a_full_disk_writing_the_record_is_one_line(tmp_path, capsys, monkeypatch) -> None:
    from hqnn_lightning.run import search_worker

    disk_full_at(monkeypatch, search_worker, "tuning.json")
    with pytest.raises(SystemExit) as exit_info:
        tune(TINY, SPACE, 2, tmp_path)
    assert exit_info.value.code == 1
    assert error_lines(capsys.readouterr().err) == [
        f"error: no space left on device writing {tmp_path / 'tuning.json'}; no file was "
        "left half-written. Free space and rerun the command"
    ]


def test_a_read_only_output_directory_is_refused_before_the_search(
    read_only: Path,  # noqa: F811 (the fixture imported above)
    capsys,
) -> None:
    argv = ["--space", "lr=1e-3:1e-1:log", "--", *TINY, "--output-dir", str(read_only / "o")]
    with pytest.raises(SystemExit) as exit_info:
        tune_main(argv)
    assert exit_info.value.code == 2
    assert error_lines(capsys.readouterr().err) == [
        f"error: --output-dir {read_only / 'o'}: {read_only} is read-only to this user "
        "(no permission to write in it) (see --help)"
    ]
    assert not any(read_only.iterdir())


def test_the_same_command_again_reuses_the_final_runs_that_finished(tmp_path, capsys) -> None:
    argv = ["--trials", "1", "--space", "lr=1e-3:1e-1:log", "--", *TINY]
    argv += ["--output-dir", str(tmp_path), "--seeds", "[1,2]"]
    [(_, finals)] = tune_main(argv)
    first, second = (Path(results["run_dir"]) for results in finals)
    (second / "results.json").unlink()  # stopped during the final run of seed 2
    capsys.readouterr()
    [(_, again)] = tune_main(argv)
    assert (
        f"Reusing the finished final run(s) of this search (seed 1: {first}); leaving the "
        "unfinished final run(s) as they are, which the report does not count "
        f"({second}); training seed(s) [2]" in capsys.readouterr().out
    )
    assert [results["seed"] for results in again] == [1, 2]
    assert again[0] == finals[0] and Path(again[1]["run_dir"]) not in (first, second)
    assert sorted(run.config["seed"] for run in find_runs([tmp_path])) == [1, 2]


def test_a_truncated_search_record_is_named(tmp_path: Path, capsys) -> None:
    options = [*TINY, "--output-dir", str(tmp_path)]
    tuning_dir = tmp_path / "tuning" / tuning_name(options, SPACE, 2, 0)
    tuning_dir.mkdir(parents=True)
    (tuning_dir / "tuning.json").write_text('{"metric": "val/acc')
    with pytest.raises(SystemExit) as exit_info:
        tune_main(["--trials", "2", "--space", "lr=1e-3:1e-1:log", "--", *options])
    assert exit_info.value.code == 2
    (line,) = error_lines(capsys.readouterr().err)
    assert line.startswith(f"error: {tuning_dir / 'tuning.json'} is truncated or corrupt: ")
