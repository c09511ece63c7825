"""``braket.aws.qubit`` with its quantum tasks recorded by ARN (a `JobClient`).

The Amazon Braket plugin creates each circuit's task in ``BraketAwsQubitDevice._run_task``
and then waits on ``task.result()``. `RecordedBraketAwsQubitDevice` overrides that one method:
the task's ARN is recorded in the active `JobJournal` before the plugin waits, and a task
already recorded is fetched by ARN (``AwsQuantumTask(arn)``) instead of created again. The
hook is a private method of amazon-braket-pennylane-plugin (1.36); tasks the plugin submits
as a batch (``parallel=True``, program sets) do not go through it and are not recorded.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError
from braket.aws import AwsQuantumTask
from braket.pennylane_plugin import BraketAwsQubitDevice

from hqnn_lightning.quantum.jobs import JobLostError, JobStatus, submit_or_fetch

_STATUS = {
    "COMPLETED": JobStatus.DONE,
    "FAILED": JobStatus.FAILED,
    "CANCELLING": JobStatus.CANCELLED,
    "CANCELLED": JobStatus.CANCELLED,
}


class _RecordedTask:
    """What the plugin reads of a task after ``_run_task``: its ARN, state and result (the
    latter through `RecordedBraketAwsQubitDevice.result`, which raises instead of returning
    ``None``)."""

    def __init__(self, device: RecordedBraketAwsQubitDevice, arn: str) -> None:
        self.device = device
        self.id = arn

    def state(self) -> str:
        return self.device.fetch_task(self.id).state()

    def result(self) -> Any:
        return self.device.result(self.id)


class RecordedBraketAwsQubitDevice(BraketAwsQubitDevice):
    """``braket.aws.qubit`` whose tasks are recorded by ARN; the payload of a job is the
    plugin's ``(circuit, inputs, shots)``."""

    def fetch_task(self, arn: str) -> AwsQuantumTask:
        """The task ``arn``, polled with this device's timeout and interval."""
        return AwsQuantumTask(
            arn,
            aws_session=self._device.aws_session,
            poll_timeout_seconds=self._poll_timeout_seconds,
            poll_interval_seconds=self._poll_interval_seconds,
        )

    def submit(self, payload: tuple[Any, dict[str, float] | None, int]) -> str:
        """Creates the task at Braket and returns its ARN, without waiting."""
        circuit, inputs, shots = payload
        return super()._run_task(circuit, inputs, shots).id

    def status(self, job_id: str) -> JobStatus:
        """The task's state; `JobStatus.UNKNOWN` when Braket does not know the ARN."""
        try:
            state = self.fetch_task(job_id).state()
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                return JobStatus.UNKNOWN
            raise
        return _STATUS.get(state, JobStatus.PENDING)

    def result(self, job_id: str) -> Any:
        """Waits for the task (``poll_timeout_seconds``) and returns its Braket result.

        Raises:
            JobLostError: the task failed or was cancelled.
            TimeoutError: it gave no result within the poll timeout; it may still run.
        """
        task = self.fetch_task(job_id)
        result = task.result()
        if result is not None:
            return result
        state = task.state()
        if state in AwsQuantumTask.NO_RESULT_TERMINAL_STATES:
            raise JobLostError(f"Braket task {job_id} is {state}")
        raise TimeoutError(
            f"Braket task {job_id} gave no result within {self._poll_timeout_seconds} s "
            f"(state {state}); it may still run"
        )

    def _run_task(self, circuit: Any, inputs: dict[str, float] | None = None, shots: int = 0):
        return _RecordedTask(self, submit_or_fetch(self, (circuit, inputs, shots)))
