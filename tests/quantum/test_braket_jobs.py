"""braket.aws.qubit records its tasks by ARN and fetches them instead of paying twice, against
a fake Braket service (the plugin's device needs AWS to be built, so only what the library
adds to it runs here)."""

import json

import pytest

pytest.importorskip("braket.pennylane_plugin")

from hqnn_lightning.quantum import braket_jobs
from hqnn_lightning.quantum.braket_jobs import RecordedBraketAwsQubitDevice
from hqnn_lightning.quantum.jobs import JobJournal, JobLostError


class FakeBraket:
    """Tasks by ARN: their state and result (``None`` until done, as Braket's SDK returns
    after a poll timeout)."""

    def __init__(self):
        self.tasks = {}
        self.aws_session = object()

    def run(self, circuit, **kwargs):
        arn = f"arn:aws:braket:task/{len(self.tasks) + 1}"
        self.tasks[arn] = {"state": "RUNNING", "result": None}
        return FakeTask(arn)


class FakeTask:
    """AwsQuantumTask by ARN, on the service of the test."""

    NO_RESULT_TERMINAL_STATES = frozenset({"FAILED", "CANCELLED"})
    service: FakeBraket

    def __init__(self, arn, **kwargs):
        self.id = arn

    def state(self):
        return self.service.tasks[self.id]["state"]

    def result(self):
        return self.service.tasks[self.id]["result"]


@pytest.fixture
def braket(monkeypatch):
    service = FakeBraket()
    monkeypatch.setattr(FakeTask, "service", service, raising=False)
    monkeypatch.setattr(braket_jobs, "AwsQuantumTask", FakeTask)
    device = object.__new__(RecordedBraketAwsQubitDevice)
    device._device, device._s3_folder, device._run_kwargs = service, None, {}
    device._poll_timeout_seconds, device._poll_interval_seconds = 3600, 1
    return service, device


def test_a_timed_out_task_is_fetched_by_its_recorded_arn(braket, tmp_path):
    service, device = braket
    path = tmp_path / "batch-00000.json"
    with JobJournal(path), pytest.raises(TimeoutError, match="may still run"):
        device._run_task("circuit", {}, 100).result()
    assert json.loads(path.read_text()) == {"jobs": [["arn:aws:braket:task/1"]]}
    service.tasks["arn:aws:braket:task/1"].update(state="COMPLETED", result="counts")
    with JobJournal(path):
        assert device._run_task("circuit", {}, 100).result() == "counts"
    assert len(service.tasks) == 1


def test_a_failed_task_is_created_again(braket, tmp_path):
    service, device = braket
    path = tmp_path / "batch-00000.json"
    with JobJournal(path):
        task = device._run_task("circuit", {}, 100)
    service.tasks[task.id]["state"] = "FAILED"
    with pytest.raises(JobLostError, match="FAILED"):
        task.result()
    with JobJournal(path):
        assert device._run_task("circuit", {}, 100).id == "arn:aws:braket:task/2"
    assert json.loads(path.read_text())["jobs"] == [[task.id, "arn:aws:braket:task/2"]]
