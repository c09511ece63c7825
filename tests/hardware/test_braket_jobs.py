"""braket.aws.qubit records its tasks by ARN and fetches them instead of paying twice: the
session the plugin's device is given, against Braket's API stubbed with botocore's
``Stubber`` (the plugin's device needs AWS to be built, so only what the library adds runs
here)."""

import json
from datetime import datetime

import pytest

pytest.importorskip("braket.pennylane_plugin")

import boto3
from botocore.stub import Stubber

from hqnn_lightning.hardware.braket_jobs import RecordingAwsSession, task_without_result
from hqnn_lightning.hardware.jobs import JobJournal, JobLostError, is_transient

DEVICE = "arn:aws:braket:us-east-1::device/qpu/ionq/Aria-1"
REQUEST = {
    "deviceArn": DEVICE,
    "action": "{}",
    "outputS3Bucket": "bucket",
    "outputS3KeyPrefix": "tasks",
    "shots": 100,
    "clientToken": "token",
}
"""A ``CreateQuantumTask`` request, as the plugin's device sends it through the session."""


def task_arn(number):
    return f"arn:aws:braket:us-east-1:123456789012:quantum-task/{number}"


@pytest.fixture
def braket():
    """A `RecordingAwsSession` on a stubbed Braket client, and the stubber."""
    client = boto3.client(
        "braket",
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    with Stubber(client) as stubber:
        yield RecordingAwsSession(braket_client=client), stubber
        stubber.assert_no_pending_responses()


def created(stubber, number):
    stubber.add_response("create_quantum_task", {"quantumTaskArn": task_arn(number)}, dict(REQUEST))


def state(stubber, number, status):
    response = {
        "quantumTaskArn": task_arn(number),
        "status": status,
        "deviceArn": DEVICE,
        "deviceParameters": "{}",
        "shots": 100,
        "outputS3Bucket": "bucket",
        "outputS3Directory": "tasks",
        "createdAt": datetime(2026, 1, 1),
    }
    stubber.add_response("get_quantum_task", response, None)


def test_a_task_is_recorded_before_the_wait_and_fetched_by_its_arn(braket, tmp_path):
    session, stubber = braket
    path = tmp_path / "batch-00000.json"
    created(stubber, 1)
    with JobJournal(path):
        assert session.create_quantum_task(**REQUEST) == task_arn(1)
    assert json.loads(path.read_text()) == {"jobs": [[task_arn(1)]]}
    state(stubber, 1, "RUNNING")  # a retry after a client timeout: Braket still runs it
    with JobJournal(path):
        assert session.create_quantum_task(**REQUEST) == task_arn(1)  # created once


@pytest.mark.parametrize("status", ["FAILED", "CANCELLED"])
def test_a_failed_or_cancelled_task_is_created_again(braket, tmp_path, status):
    session, stubber = braket
    path = tmp_path / "batch-00000.json"
    created(stubber, 1)
    with JobJournal(path):
        session.create_quantum_task(**REQUEST)
    state(stubber, 1, status)
    created(stubber, 2)
    with JobJournal(path):
        assert session.create_quantum_task(**REQUEST) == task_arn(2)
    assert json.loads(path.read_text())["jobs"] == [[task_arn(1), task_arn(2)]]


def test_a_task_braket_no_longer_knows_is_created_again(braket, tmp_path):
    session, stubber = braket
    path = tmp_path / "batch-00000.json"
    path.write_text(json.dumps({"jobs": [[task_arn(1)]]}))
    for _ in range(3):  # the SDK asks three times, since a new task may not be visible yet
        stubber.add_client_error(
            "get_quantum_task", "ResourceNotFoundException", http_status_code=404
        )
    created(stubber, 2)
    with JobJournal(path):
        assert session.create_quantum_task(**REQUEST) == task_arn(2)


def test_without_a_journal_every_request_creates_a_task(braket):
    session, stubber = braket
    created(stubber, 1)
    created(stubber, 2)
    assert session.create_quantum_task(**REQUEST) == task_arn(1)
    assert session.create_quantum_task(**REQUEST) == task_arn(2)


@pytest.mark.parametrize(("status", "error"), [("FAILED", JobLostError), ("RUNNING", TimeoutError)])
def test_a_task_without_result_is_lost_or_still_running_and_retried(status, error):
    reported = task_without_result(task_arn(1), status)
    assert isinstance(reported, error) and task_arn(1) in str(reported)
    assert is_transient(reported)
