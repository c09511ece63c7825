"""``braket.aws.qubit`` with its quantum tasks recorded by ARN (a `JobClient`), through what
the Braket SDK and its PennyLane plugin expose.

The plugin's device takes an ``aws_session`` (the SDK's ``AwsSession``), and each task it
creates for a circuit goes through ``AwsSession.create_quantum_task``, which returns the new
task's ARN without waiting; the plugin then polls the task by that ARN. `RecordingAwsSession`
routes that call through the active `JobJournal`: the ARN is recorded before the plugin
waits, and a recorded task that Braket has not failed, cancelled or forgotten is returned
instead of created again, so that the plugin polls, and so fetches, the task already paid
for. `RecordedBraketAwsQubitDevice` is the plugin's device with such a session in the
device's region, and reports a task that gave no result as `TimeoutError` (it may still run)
or `JobLostError` (failed or cancelled). Tasks the plugin sends as a batch (``parallel=True``,
or a program set split over several tasks), and a QPU found in another region than its ARN
names, go through a copy of the session that the SDK makes, and are not recorded.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.exceptions import ClientError
from braket.aws import AwsDevice, AwsQuantumTask, AwsSession
from braket.pennylane_plugin import BraketAwsQubitDevice

from hqnn_lightning.hardware.jobs import JobLostError, JobStatus, submit_or_fetch

_STATUS = {
    "COMPLETED": JobStatus.DONE,
    "FAILED": JobStatus.FAILED,
    "CANCELLING": JobStatus.CANCELLED,
    "CANCELLED": JobStatus.CANCELLED,
}


def task_without_result(arn: str, state: str) -> Exception:
    """`JobLostError` for a task Braket failed or cancelled, else `TimeoutError`: the client
    stopped waiting and the task may still run."""
    if state in AwsQuantumTask.NO_RESULT_TERMINAL_STATES:
        return JobLostError(f"Braket task {arn} is {state}")
    return TimeoutError(
        f"Braket task {arn} gave no result in time (state {state}); it may still run"
    )


class RecordingAwsSession(AwsSession):
    """An ``AwsSession`` whose quantum tasks are recorded in the active `JobJournal`: a
    `JobClient` whose payload is the ``CreateQuantumTask`` request."""

    def create_quantum_task(self, **boto3_kwargs: Any) -> str:
        """The ARN of the task that runs this request: recorded, or created now."""
        return submit_or_fetch(self, boto3_kwargs)

    def submit(self, payload: dict[str, Any]) -> str:
        """Creates the task at Braket and returns its ARN, without waiting."""
        return super().create_quantum_task(**payload)

    def status(self, job_id: str) -> JobStatus:
        """The task's state; `JobStatus.UNKNOWN` when Braket does not know the ARN."""
        try:
            state = self.get_quantum_task(job_id)["status"]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return JobStatus.UNKNOWN
            raise
        return _STATUS.get(state, JobStatus.PENDING)

    def result(self, job_id: str) -> Any:
        """Waits for the task (the SDK's default poll timeout) and returns its result.

        Raises:
            JobLostError: the task failed or was cancelled.
            TimeoutError: it gave no result within the poll timeout; it may still run.
        """
        task = AwsQuantumTask(job_id, aws_session=self)
        result = task.result()
        if result is None:
            raise task_without_result(job_id, task.state())
        return result


def recording_session(device_arn: str) -> RecordingAwsSession:
    """A `RecordingAwsSession` in the region the ARN names (the default region for an ARN
    without one, such as the on-demand simulators'), so that the SDK uses it as it is."""
    region = AwsDevice.get_device_region(device_arn)
    return RecordingAwsSession(boto3.Session(region_name=region) if region else None)


class RecordedBraketAwsQubitDevice(BraketAwsQubitDevice):
    """``braket.aws.qubit`` whose tasks are recorded by ARN: the plugin's device on a
    `RecordingAwsSession` (unless given another ``aws_session``).

    Args:
        wires: Number of qubits.
        device_arn: The Braket device's ARN.
        **options: The plugin's other options (``shots``, ``poll_timeout_seconds``, ...).
    """

    def __init__(self, wires: int, device_arn: str, **options: Any) -> None:
        options.setdefault("aws_session", recording_session(device_arn))
        super().__init__(wires, device_arn, **options)

    def execute(self, circuits: Any, execution_config: Any = None) -> Any:
        """The plugin's ``execute``; a task of this call that gave no result raises
        `task_without_result`'s error instead of the plugin's."""
        last_task = self.task
        try:
            return super().execute(circuits, execution_config)
        except Exception as error:
            task = self.task
            if task is None or task is last_task or task.state() == "COMPLETED":
                raise
            raise task_without_result(task.id, task.state()) from error
