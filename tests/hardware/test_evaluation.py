"""Resumable evaluation of a checkpoint on another quantum device (``--evaluate``)."""

import errno
import json
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any, ClassVar

import pennylane as qml
import pytest
import torch
from pennylane.devices import DefaultQubit

from hqnn_lightning.data.synthetic import SyntheticImageDataModule
from hqnn_lightning.hardware import (
    EvaluationPlan,
    JobFailedError,
    RetryPolicy,
    call_with_retries,
    confirm_on_terminal,
    count_circuits,
    evaluate_checkpoint,
    load_on_device,
    summarize,
)
from hqnn_lightning.hardware.jobs import JobDevice, JobLostError, JobStatus, is_transient
from hqnn_lightning.hardware.journal import (
    JOBS_DIR,
    PREDICTIONS_FILE,
    RESULTS_FILE,
    read_finished_batches,
)
from hqnn_lightning.quantum import KNOWN_DEVICES
from hqnn_lightning.run.cli import main
from tests.run.test_resume import Payload
from tests.small_disk import needs_small_disks, run_on_small_disk

ROOT = Path(__file__).resolve().parents[2]
SYNTHETIC = {"image_size": 4, "batch_size": 8}
"""The synthetic dataset's 96 images of 3 classes at 4x4 px: 24 in the test split, 3 batches."""


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A finished run of hybrid_tiny on synthetic images: config.yaml and checkpoints."""
    output = tmp_path_factory.mktemp("runs")
    args = [f"--{key.replace('_', '-')}={value}" for key, value in SYNTHETIC.items()]
    main(
        [
            "--model=hybrid_tiny",
            "--data=synthetic",
            *args,
            "--max-epochs=1",
            "--logger=csv",
            f"--output-dir={output}",
        ]
    )
    (run,) = output.iterdir()
    return run


def datamodule(batch_size=8):
    return SyntheticImageDataModule(**{**SYNTHETIC, "batch_size": batch_size})


class FlakyQubit(JobDevice, DefaultQubit):
    """default.qubit behind a fake provider whose jobs fail on command. Each ``execute`` is
    one job; the provider runs it when it is submitted (``executed`` records each paid job's
    tape count, ``calls`` every submission request).

    ``fail_on`` maps a request's 1-based number to the exception the request raises (nothing
    is submitted); ``wait_fails`` maps a job's number to the exception the first wait on it
    raises while the job completes at the provider (a client timeout, a crash); ``ends``
    maps a job's number to the status it ends in instead of done (failed, cancelled)."""

    fail_on: ClassVar[dict[int, BaseException]] = {}
    wait_fails: ClassVar[dict[int, BaseException]] = {}
    ends: ClassVar[dict[int, JobStatus]] = {}
    calls: ClassVar[int] = 0
    executed: ClassVar[list[int]] = []
    jobs: ClassVar[dict[str, tuple[JobStatus, Any]]] = {}

    def submit(self, payload):
        circuits, execution_config = payload
        type(self).calls += 1
        error = self.fail_on.get(type(self).calls)
        if error is not None:
            raise error
        self.executed.append(len(circuits))
        number = len(self.executed)
        status = self.ends.get(number, JobStatus.DONE)
        result = DefaultQubit.execute(self, circuits, execution_config)
        self.jobs[f"job-{number}"] = (status, result)
        return f"job-{number}"

    def status(self, job_id):
        return self.jobs[job_id][0] if job_id in self.jobs else JobStatus.UNKNOWN

    def result(self, job_id):
        error = self.wait_fails.pop(int(job_id.removeprefix("job-")), None)
        if error is not None:
            raise error
        status, result = self.jobs[job_id]
        if status is not JobStatus.DONE:
            raise JobLostError(f"{job_id} is {status.value}")
        return result


class _EntryPoint:
    def load(self):
        return FlakyQubit


@pytest.fixture
def flaky(monkeypatch):
    """Registers ``test.flaky`` (a FlakyQubit) as a device of the library."""
    FlakyQubit.fail_on, FlakyQubit.wait_fails, FlakyQubit.ends = {}, {}, {}
    FlakyQubit.calls, FlakyQubit.executed, FlakyQubit.jobs = 0, [], {}
    monkeypatch.setitem(qml.plugin_devices, "test.flaky", _EntryPoint())
    monkeypatch.setitem(KNOWN_DEVICES, "test.flaky", KNOWN_DEVICES["default.qubit"])
    return FlakyQubit


def evaluate(run_dir, device, tmp_path, **kwargs):
    return evaluate_checkpoint(
        run_dir / "checkpoints" / "last.ckpt",
        run_dir.name.split("-")[0],  # runs are named <model>-<data>-seed<seed>-...
        kwargs.pop("data", None) or datamodule(),
        device,
        kwargs.pop("shots", 100),
        output_dir=kwargs.pop("output_dir", tmp_path / "eval"),
        confirm=kwargs.pop("confirm", lambda message: True),
        retry=kwargs.pop("retry", RetryPolicy(sleep=lambda seconds: None)),
        log=lambda message: None,
        **kwargs,
    )


class TestRetries:
    def test_delays_grow_exponentially_up_to_the_cap(self):
        policy = RetryPolicy(initial_delay=10, backoff=2, max_delay=50)
        assert [policy.delay(k) for k in range(4)] == [10, 20, 40, 50]

    def test_a_job_that_fails_twice_succeeds_on_the_third_attempt(self):
        outcomes = iter([TimeoutError("queue"), RuntimeError("502"), "done"])
        slept = []

        def job():
            outcome = next(outcomes)
            if isinstance(outcome, Exception):
                raise outcome
            return outcome

        policy = RetryPolicy(max_retries=3, initial_delay=1, sleep=slept.append)
        assert call_with_retries(job, policy, "job", log=lambda m: None) == ("done", 3)
        assert slept == [1, 2]

    def test_gives_up_after_the_last_retry(self):
        attempts = []

        def job():
            attempts.append(1)
            raise TimeoutError("no answer")

        policy = RetryPolicy(max_retries=2, sleep=lambda s: None)
        with pytest.raises(JobFailedError, match="failed 3 times.*TimeoutError: no answer"):
            call_with_retries(job, policy, "batch 1/2", log=lambda m: None)
        assert len(attempts) == 3

    def test_an_interrupt_is_not_retried(self):
        def job():
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            call_with_retries(job, RetryPolicy(sleep=pytest.fail), "job", log=lambda m: None)


class TestConfirmation:
    def test_without_a_terminal_it_refuses_unless_yes(self, monkeypatch, capsys):
        monkeypatch.setattr("sys.stdin.isatty", lambda: False)
        with pytest.raises(PermissionError, match="--yes"):
            confirm_on_terminal("cost", assume_yes=False)
        assert confirm_on_terminal("cost", assume_yes=True)
        assert capsys.readouterr().out.count("cost") == 2

    @pytest.mark.parametrize(("answer", "expected"), [("y", True), ("", False), ("no", False)])
    def test_on_a_terminal_it_asks(self, monkeypatch, answer, expected):
        monkeypatch.delenv("CI", raising=False)
        monkeypatch.setattr("sys.stdin.isatty", lambda: True)
        monkeypatch.setattr("builtins.input", lambda prompt: answer)
        assert confirm_on_terminal("cost", assume_yes=False) is expected

    def test_the_plan_states_circuits_and_shots(self):
        plan = EvaluationPlan(
            samples=100,
            batches=4,
            done_batches=1,
            remaining_samples=75,
            circuits_per_sample=2,
            shots=1000,
        )
        text = plan.describe("qiskit.remote")
        assert "150 circuit executions" in text
        assert "150,000 shots in total" in text
        assert "1 of 4 batches done earlier" in text
        assert "cloud service" in text and "cloud service" not in plan.describe("qiskit.aer")
        # qiskit's plugin hides its job ids; Braket's tasks are recorded by ARN.
        assert "billed again" in text and "billed again" not in plan.describe("braket.aws.qubit")


class TestCountCircuits:
    def test_one_circuit_per_head_of_a_hybrid(self, run_dir):
        model = load_on_device(run_dir / "checkpoints" / "last.ckpt", "hybrid_tiny", "torch")
        assert count_circuits(model, torch.rand(5, 3, 4, 4)) == 5

    def test_one_circuit_per_patch_and_channel_of_a_quanvolution(self):
        from hqnn_lightning.models import create_model

        model = create_model("quanv_tiny", num_classes=3, in_channels=3, image_size=8)
        # 8x8 images, 2x2 patches with stride 2: 16 patches x 3 channels per image.
        assert count_circuits(model, torch.rand(2, 3, 8, 8)) == 2 * 3 * 16


class TestPredictionsFile:
    def test_a_line_cut_short_by_a_crash_is_dropped(self, tmp_path):
        path = tmp_path / PREDICTIONS_FILE
        whole = json.dumps({"batch": 0, "labels": [1]}) + "\n"
        path.write_text(whole + '{"batch": 1, "lab')
        assert list(read_finished_batches(path)) == [0]
        assert path.read_text() == whole


class TestEvaluate:
    def test_every_test_sample_is_predicted_once(self, run_dir, tmp_path):
        summary = evaluate(run_dir, "default.qubit", tmp_path)
        records = read_finished_batches(tmp_path / "eval" / PREDICTIONS_FILE)
        assert sorted(records) == [0, 1, 2]
        logits = torch.tensor([row for r in records.values() for row in r["logits"]])
        labels = torch.tensor([label for r in records.values() for label in r["labels"]])
        assert summary["samples"] == len(labels) == 24
        accuracy = (logits.argmax(1) == labels).float().mean().item()
        assert summary["test/acc_top1"] == pytest.approx(accuracy)
        assert summary["circuits"] == 24 and summary["total_shots"] == 2400
        assert json.loads((tmp_path / "eval" / RESULTS_FILE).read_text()) == summary

    def test_exact_evaluation_reproduces_the_trained_model(self, run_dir, tmp_path):
        summary = evaluate(run_dir, "default.qubit", tmp_path, shots=None)
        model = load_on_device(run_dir / "checkpoints" / "last.ckpt", "hybrid_tiny")
        data = datamodule()
        data.setup("test")
        images, labels = map(torch.cat, zip(*data.test_dataloader(), strict=True))
        with torch.no_grad():
            accuracy = (model(images).argmax(1) == labels).float().mean().item()
        assert summary["test/acc_top1"] == pytest.approx(accuracy)

    def test_torch_with_shots_evaluates_the_same_for_the_same_seed(self, run_dir, tmp_path):
        logits = {}
        for name, seed in (("a", 1), ("b", 1), ("c", 2)):
            out = tmp_path / name
            evaluate(run_dir, "torch", tmp_path, device_options={"seed": seed}, output_dir=out)
            records = read_finished_batches(out / PREDICTIONS_FILE)
            logits[name] = [row for index in sorted(records) for row in records[index]["logits"]]
        assert logits["a"] == logits["b"] and logits["a"] != logits["c"]

    def test_failed_jobs_are_retried_and_only_the_failed_batch_reruns(
        self, run_dir, tmp_path, flaky
    ):
        flaky.fail_on = {2: TimeoutError("job timed out"), 3: RuntimeError("HTTP 503")}
        slept = []
        evaluate(run_dir, "test.flaky", tmp_path, retry=RetryPolicy(sleep=slept.append))
        records = read_finished_batches(tmp_path / "eval" / PREDICTIONS_FILE)
        assert [records[i]["attempts"] for i in range(3)] == [1, 3, 1]
        assert slept == [10.0, 20.0]
        # shots: one tape per sample, 8 samples per batch, each batch executed once.
        assert flaky.executed == [8, 8, 8]

    def test_a_batch_that_keeps_failing_stops_with_the_rest_saved(self, run_dir, tmp_path, flaky):
        flaky.fail_on = {n: RuntimeError("device offline") for n in range(2, 10)}
        with pytest.raises(JobFailedError, match="batch 2/3 failed 2 times"):
            evaluate(run_dir, "test.flaky", tmp_path, retry=RetryPolicy(1, sleep=lambda s: 0))
        assert list(read_finished_batches(tmp_path / "eval" / PREDICTIONS_FILE)) == [0]

    def test_an_interrupted_evaluation_resumes_without_running_a_batch_twice(
        self, run_dir, tmp_path, flaky
    ):
        flaky.fail_on = {3: KeyboardInterrupt()}
        with pytest.raises(KeyboardInterrupt):
            evaluate(run_dir, "test.flaky", tmp_path)
        assert list(read_finished_batches(tmp_path / "eval" / PREDICTIONS_FILE)) == [0, 1]
        assert flaky.executed == [8, 8]
        messages = []
        summary = evaluate(
            run_dir,
            "test.flaky",
            tmp_path,
            confirm=lambda message: messages.append(message) or True,
        )
        assert flaky.executed == [8, 8, 8]  # only the third batch ran again
        assert "1 batches (2 of 3 batches done earlier)" in messages[0]
        assert "8 test samples x 1 circuits = 8 circuit executions" in messages[0]
        assert summary["samples"] == 24

    def test_a_finished_evaluation_submits_nothing(self, run_dir, tmp_path, flaky):
        evaluate(run_dir, "test.flaky", tmp_path)
        calls = flaky.calls
        evaluate(run_dir, "test.flaky", tmp_path, confirm=pytest.fail)
        assert flaky.calls == calls

    def test_not_confirmed_submits_nothing(self, run_dir, tmp_path, flaky):
        summary = evaluate(run_dir, "test.flaky", tmp_path, confirm=lambda message: False)
        assert summary["cancelled"] and flaky.calls == 0

    def test_other_settings_in_the_same_directory_are_refused(self, run_dir, tmp_path):
        evaluate(run_dir, "default.qubit", tmp_path, shots=50)
        with pytest.raises(FileExistsError, match="other settings"):
            evaluate(run_dir, "default.qubit", tmp_path, shots=60)

    def test_qiskit_aer_with_a_fake_backends_noise(self, run_dir, tmp_path):
        pytest.importorskip("qiskit_aer")
        pytest.importorskip("qiskit_ibm_runtime")
        summary = evaluate(
            run_dir,
            "qiskit.aer",
            tmp_path,
            shots=200,
            data=datamodule(batch_size=24),
            device_options={"fake_backend": "FakeManilaV2"},
        )
        assert summary["samples"] == 24 and summary["total_shots"] == 4800

    def test_braket_local_simulator(self, run_dir, tmp_path):
        pytest.importorskip("braket.pennylane_plugin")
        summary = evaluate(
            run_dir, "braket.local.qubit", tmp_path, shots=200, data=datamodule(batch_size=6)
        )
        assert summary["samples"] == 24 and summary["total_shots"] == 4800


def journal(tmp_path, batch):
    return json.loads((tmp_path / "eval" / JOBS_DIR / f"batch-{batch:05d}.json").read_text())


class TestJobsArePaidOnce:
    """Issue 16 item 7: a job's id is recorded before it is waited on, and fetched, not
    submitted again, after a client timeout or a restart."""

    def test_a_timed_out_job_whose_result_arrives_later_is_fetched(self, run_dir, tmp_path, flaky):
        flaky.wait_fails = {2: TimeoutError("no result after 3600 s")}
        evaluate(run_dir, "test.flaky", tmp_path)
        records = read_finished_batches(tmp_path / "eval" / PREDICTIONS_FILE)
        assert [records[i]["attempts"] for i in range(3)] == [1, 2, 1]
        assert flaky.executed == [8, 8, 8]  # three jobs paid for three batches
        assert journal(tmp_path, 1) == {"jobs": [["job-2"]]}

    def test_a_restart_after_a_crash_during_the_wait_fetches_the_recorded_job(
        self, run_dir, tmp_path, flaky
    ):
        flaky.wait_fails = {2: KeyboardInterrupt()}
        with pytest.raises(KeyboardInterrupt):
            evaluate(run_dir, "test.flaky", tmp_path)
        assert journal(tmp_path, 1) == {"jobs": [["job-2"]]}  # recorded before the wait
        summary = evaluate(run_dir, "test.flaky", tmp_path)
        assert flaky.executed == [8, 8, 8] and summary["samples"] == 24

    @pytest.mark.parametrize("status", [JobStatus.FAILED, JobStatus.CANCELLED])
    def test_a_job_the_provider_failed_or_cancelled_is_submitted_again(
        self, run_dir, tmp_path, flaky, status
    ):
        flaky.ends = {2: status}
        evaluate(run_dir, "test.flaky", tmp_path)
        assert flaky.executed == [8, 8, 8, 8]
        assert journal(tmp_path, 1) == {"jobs": [["job-2", "job-3"]]}

    @pytest.mark.parametrize(
        "error",
        [
            PermissionError("invalid API key"),
            ValueError("the circuit needs 7 qubits, the backend has 5"),
            NotImplementedError("parameter-shift cannot differentiate\na broadcast batch"),
        ],
    )
    def test_an_error_a_retry_cannot_fix_fails_at_once(self, run_dir, tmp_path, flaky, error):
        flaky.fail_on = {2: error}
        slept = []
        with pytest.raises(JobFailedError) as failure:
            evaluate(run_dir, "test.flaky", tmp_path, retry=RetryPolicy(sleep=slept.append))
        assert slept == [] and flaky.calls == 2
        message = str(failure.value)
        assert message.startswith("batch 2/3 failed and was not retried, since a retry cannot fix")
        assert type(error).__name__ in message and "\n" not in message

    def test_the_command_line_prints_it_on_one_line_and_exits_1(
        self, run_dir, tmp_path, flaky, capsys
    ):
        flaky.fail_on = {1: PermissionError("invalid API key")}
        with pytest.raises(SystemExit) as exit_info:
            main(
                [
                    "--evaluate",
                    str(run_dir / "checkpoints" / "last.ckpt"),
                    "--q-device=test.flaky",
                    "--shots=100",
                    f"--eval-dir={tmp_path / 'eval'}",
                    "--yes",
                ]
            )
        assert exit_info.value.code == 1
        assert capsys.readouterr().err.strip().splitlines()[-1] == (
            "error: batch 1/3 failed and was not retried, since a retry cannot fix "
            "PermissionError: invalid API key; rerun the same command to resume"
        )


class _ClientError(Exception):
    """botocore's ClientError: the service's error code in ``response``."""

    def __init__(self, code, status):
        super().__init__(code)
        self.response = {"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (TimeoutError("poll timed out"), True),
        (ConnectionResetError("reset by peer"), True),
        (JobLostError("job-1 is failed"), True),
        (_ClientError("ThrottlingException", 400), True),
        (_ClientError("InternalServerException", 500), True),
        (RuntimeError("device offline"), True),
        (_ClientError("ValidationException", 400), False),
        (_ClientError("ServiceQuotaExceededException", 402), False),
        (_ClientError("AccessDeniedException", 403), False),
        (PermissionError("bad token"), False),
        (ValueError("invalid circuit"), False),
        (NotImplementedError("broadcast batch"), False),
    ],
)
def test_which_errors_are_retried(error, transient):
    assert is_transient(error) is transient


def test_a_quanvolutional_checkpoint_runs_one_circuit_per_patch(tmp_path):
    output = tmp_path / "runs"
    args = ["--model=quanv_tiny", "--data=synthetic", "--image-size=4", "--batch-size=8"]
    main([*args, "--max-epochs=1", "--logger=csv", f"--output-dir={output}"])
    (run,) = output.iterdir()
    summary = evaluate(run, "default.qubit", tmp_path, shots=50)
    # 4x4 images, 2x2 patches with stride 2: 4 patches x 3 channels = 12 circuits per image.
    assert summary["samples"] == 24 and summary["circuits"] == 24 * 12
    assert 0 <= summary["test/acc_top1"] <= 1


class TestCommandLine:
    def test_evaluate_refuses_without_yes_when_no_one_can_answer(
        self, run_dir, tmp_path, monkeypatch, capsys
    ):
        monkeypatch.setattr("sys.stdin.isatty", lambda: False)
        argv = [
            "--evaluate",
            str(run_dir / "checkpoints" / "last.ckpt"),
            "--q-device",
            "default.qubit",
            "--shots",
            "100",
            "--eval-dir",
            str(tmp_path / "e"),
        ]
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2
        captured = capsys.readouterr()
        assert "24 circuit executions, 100 shots per circuit, 2,400 shots in total" in captured.out
        assert "rerun with --yes" in captured.err
        assert not (tmp_path / "e" / PREDICTIONS_FILE).exists()
        (summary,) = main([*argv, "--yes"])
        assert summary["samples"] == 24
        assert (tmp_path / "e" / RESULTS_FILE).is_file()

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["--q-device", "qiskit.aer"], "give shots"),
            (
                ["--q-device", "default.qubit", "--q-device-options", '{"noise": "bit_flip"}'],
                "mixed-state",
            ),
            ([], "needs --q-device"),
        ],
    )
    def test_bad_device_options_stop_before_anything_runs(self, run_dir, args, message, capsys):
        with pytest.raises(SystemExit) as exit_info:
            main(["--evaluate", str(run_dir / "checkpoints" / "last.ckpt"), "--yes", *args])
        assert exit_info.value.code == 2
        assert re.search(message, capsys.readouterr().err)

    def test_a_checkpoint_outside_a_run_is_named(self, tmp_path, capsys):
        checkpoint = tmp_path / "model.ckpt"
        checkpoint.write_bytes(b"")
        with pytest.raises(SystemExit):
            main(["--evaluate", str(checkpoint), "--q-device", "default.qubit"])
        assert "config.yaml not found" in capsys.readouterr().err


def test_summary_has_the_training_metrics_on_known_logits():
    # Three classes; sample 0 right, sample 1 wrong (true class second), sample 2 wrong
    # (true class third).
    records = [
        {"logits": [[3.0, 2.0, 1.0], [1.0, 3.0, 2.0]], "labels": [0, 2]},
        {"logits": [[3.0, 1.0, 2.0]], "labels": [1]},
    ]
    summary = summarize(records, num_classes=3)
    assert summary["samples"] == 3
    assert summary["test/acc_top1"] == pytest.approx(1 / 3)
    assert summary["test/acc_top5"] == pytest.approx(1.0)  # top-5 clipped to 3 classes
    # Per class F1: class 0: precision 1/2, recall 1 -> 2/3; classes 1 and 2: 0.
    assert summary["test/f1_macro"] == pytest.approx((2 / 3) / 3)


def evaluate_command(checkpoint, tmp_path):
    return [
        "--evaluate",
        str(checkpoint),
        "--q-device=default.qubit",
        "--shots=100",
        f"--eval-dir={tmp_path / 'eval'}",
        "--yes",
    ]


def command_error(argv, capsys, status):
    """Runs the CLI on ``argv``, checks it exits with ``status`` and no traceback, and returns
    its last line on stderr."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == status
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err.strip().splitlines()[-1]


class TestLoadingRunsNoCode:
    """``--evaluate`` reads its checkpoint as ``--resume`` does: ``weights_only=True``, passed
    explicitly, so ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` does not turn it off."""

    @pytest.fixture
    def crafted(self, run_dir, tmp_path, monkeypatch):
        """A copy of the run whose last.ckpt would create ``tmp_path/code-ran`` if unpickled,
        with the variable set."""
        monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
        copy = shutil.copytree(run_dir, tmp_path / run_dir.name)
        path = copy / "checkpoints" / "last.ckpt"
        checkpoint = torch.load(path, weights_only=True)
        torch.save({**checkpoint, "payload": Payload(tmp_path / "code-ran")}, path)
        return path

    def test_the_command_refuses_a_crafted_checkpoint_in_one_line(self, crafted, tmp_path, capsys):
        error = command_error(evaluate_command(crafted, tmp_path), capsys, status=2)
        assert error.startswith(
            f"error: {crafted} holds objects other than tensors and plain values, so it was not "
            "written by this library and is not loaded ("
        )
        assert not (tmp_path / "code-ran").exists()
        assert not (tmp_path / "eval").exists()

    def test_the_api_refuses_it_too(self, crafted, tmp_path):
        with pytest.raises(ValueError, match="holds objects other than tensors"):
            load_on_device(crafted, "hybrid_tiny")
        assert not (tmp_path / "code-ran").exists()


def test_a_full_disk_while_recording_a_batch_ends_with_one_line(
    run_dir, tmp_path, monkeypatch, capsys
):
    fsync = os.fsync

    def disk_full_for_predictions(descriptor):
        if os.readlink(f"/proc/self/fd/{descriptor}").endswith(PREDICTIONS_FILE):
            raise OSError(errno.ENOSPC, "No space left on device")  # as write() does: no name
        fsync(descriptor)

    monkeypatch.setattr(os, "fsync", disk_full_for_predictions)
    argv = evaluate_command(run_dir / "checkpoints" / "last.ckpt", tmp_path)
    error = command_error(argv, capsys, status=1)
    assert error == (
        f"error: no space left on device writing {tmp_path / 'eval' / PREDICTIONS_FILE}; the "
        "batches finished so far are kept. Free space and rerun the same command to resume"
    )


@needs_small_disks
@pytest.mark.slow
def test_an_evaluation_directory_on_a_real_full_disk_ends_with_one_line(run_dir, tmp_path):
    disk, after = tmp_path / "disk", tmp_path / "after"
    disk.mkdir()
    after.mkdir()
    command = [sys.executable, str(ROOT / "experiments" / "run.py")]
    command += evaluate_command(run_dir / "checkpoints" / "last.ckpt", tmp_path)[:-2]
    command += [f"--eval-dir={disk}", "--yes"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_WAIT_POLICY": "PASSIVE"}
    result = run_on_small_disk(command, disk, 4096, after=after, env=env)  # evaluation.json
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: no space left on device writing {disk / PREDICTIONS_FILE}; the batches "
        "finished so far are kept. Free space and rerun the same command to resume"
    )
    assert sorted(path.name for path in after.iterdir()) == ["evaluation.json", PREDICTIONS_FILE]
