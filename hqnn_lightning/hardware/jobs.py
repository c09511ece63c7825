"""Jobs at a quantum provider, recorded by id so that none is paid for twice.

A job that timed out on the client may still run, and be billed, at the provider. A device
that implements `JobClient` (submit a payload and get the job's id; ask a job's status; wait
for its result) has each job's id written to the active `JobJournal` before it is waited on.
A later attempt at the same work (a retry after a client timeout, or the same command after
a crash) takes the jobs recorded in the journal in the order they were submitted and fetches
their results instead of submitting again; it submits again only a job that the provider
reports failed or cancelled, or no longer knows.

Without an active journal (training, or a simulator), jobs are submitted and waited on as
usual. ``is_transient`` tells errors worth retrying (timeouts, lost connections, throttling,
a job the provider failed) from those a retry cannot fix (an invalid circuit, authentication,
quota, a diff method that refuses the batch).
"""

from __future__ import annotations

import json
import logging
import re
from contextvars import ContextVar
from enum import Enum
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pennylane.exceptions import DeviceError, QuantumFunctionError

from hqnn_lightning.utils.files import write_text_atomically

logger = logging.getLogger(__name__)


class JobStatus(Enum):
    """A job's state as its provider reports it."""

    PENDING = "pending"
    """Queued or running: its result is still to come."""
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"
    """The provider does not know the id (expired, or another account's)."""


RESUBMITTED = frozenset({JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.UNKNOWN})
"""Statuses whose job gives no result, so its work is submitted again."""


@runtime_checkable
class JobClient(Protocol):
    """A provider's jobs, by id: what a device implements so that its jobs are recorded."""

    def submit(self, payload: Any) -> str:
        """Sends ``payload`` (whatever the device runs as one job) and returns the job's id,
        without waiting for it."""

    def status(self, job_id: str) -> JobStatus:
        """The job's state at the provider."""

    def result(self, job_id: str) -> Any:
        """Waits for the job and returns its result.

        Raises:
            TimeoutError: the client stopped waiting; the job may still run.
            JobLostError: the provider failed or cancelled the job.
        """


class JobLostError(RuntimeError):
    """The provider reports a job failed or cancelled: a retry submits its work again."""


class JobJournal:
    """The ids of one unit of work's jobs (one batch of an evaluation), in submission order,
    in a JSON file: ``{"jobs": [[id, ...], ...]}``, one list per job in the order the work
    submits them, holding every id submitted for it (the last is current; earlier ones were
    failed or cancelled by the provider).

    Use it as a context manager around each attempt at the work: inside, `submit_or_fetch`
    takes the recorded jobs in order.

    Args:
        path: The journal file; read if it exists.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.jobs: list[list[str]] = (
            json.loads(self.path.read_text())["jobs"] if self.path.is_file() else []
        )
        self._next = 0

    def __enter__(self) -> JobJournal:
        self._next = 0
        self._token = _ACTIVE_JOURNAL.set(self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        _ACTIVE_JOURNAL.reset(self._token)

    def submit_or_fetch(self, client: JobClient, payload: Any) -> str:
        """The id of this attempt's next job: the recorded one, unless the provider reports
        it `RESUBMITTED`; else ``payload`` submitted now, its id recorded before returning."""
        slot = self._next
        self._next += 1
        if slot < len(self.jobs):
            job_id = self.jobs[slot][-1]
            status = client.status(job_id)
            if status not in RESUBMITTED:
                return job_id
            logger.warning(
                "job %s is %s at the provider; submitting it again", job_id, status.value
            )
        job_id = client.submit(payload)
        if slot < len(self.jobs):
            self.jobs[slot].append(job_id)
        else:
            self.jobs.append([job_id])
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomically(self.path, json.dumps({"jobs": self.jobs}, indent=1))
        return job_id


_ACTIVE_JOURNAL: ContextVar[JobJournal | None] = ContextVar("job_journal", default=None)


def submit_or_fetch(client: JobClient, payload: Any) -> str:
    """The id of the job that runs ``payload``: inside a `JobJournal`'s block, see
    `JobJournal.submit_or_fetch`; without one, ``payload`` submitted now."""
    journal = _ACTIVE_JOURNAL.get()
    if journal is None:
        return client.submit(payload)
    return journal.submit_or_fetch(client, payload)


class JobDevice:
    """Mixin for a PennyLane device that implements `JobClient` with the payload
    ``(circuits, execution_config)``: each ``execute`` call is one job, recorded inside a
    `JobJournal`'s block."""

    def execute(self, circuits: Any, execution_config: Any = None) -> Any:
        """Runs ``circuits`` as one recorded job and returns its result."""
        return self.result(submit_or_fetch(self, (circuits, execution_config)))


_PERMANENT_TYPES = (
    ValueError,
    TypeError,
    NotImplementedError,
    PermissionError,
    DeviceError,
    QuantumFunctionError,
)
_PERMANENT_WORDS = re.compile(
    r"validation|invalid|auth|accessdenied|forbidden|quota|unrecognizedclient|expiredtoken",
    re.IGNORECASE,
)
_TRANSIENT_WORDS = re.compile(
    r"throttl|timeout|timedout|connection|unavailable|toomanyrequests|internalserver",
    re.IGNORECASE,
)


def _http_status(error: BaseException) -> int | None:
    response = getattr(error, "response", None)
    status = getattr(response, "status_code", None)
    if status is None and isinstance(response, dict):
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return status if isinstance(status, int) else None


def is_transient(error: BaseException) -> bool:
    """Whether a retry of the job that raised ``error`` may succeed.

    Not transient: an invalid circuit or option (``ValueError``, ``TypeError``, PennyLane's
    ``DeviceError`` and ``QuantumFunctionError``), a diff method that refuses the batch
    (``NotImplementedError``), authentication (``PermissionError``), and provider errors
    whose type or code names validation, authentication, access or a quota (botocore's
    ``ValidationException``, ``ServiceQuotaExceededException``, ...), or an HTTP 4xx status
    but 408 and 429. Transient: ``TimeoutError``, ``ConnectionError``, `JobLostError`,
    throttling, HTTP 408, 429 and 5xx, and anything unknown (a retry first fetches the jobs
    already recorded, so it does not pay for them again).
    """
    if isinstance(error, TimeoutError | ConnectionError | JobLostError):
        return True
    if isinstance(error, _PERMANENT_TYPES):
        return False
    code = getattr(error, "response", None)
    code = code.get("Error", {}).get("Code", "") if isinstance(code, dict) else ""
    name = f"{type(error).__name__} {code}"
    if _TRANSIENT_WORDS.search(name):
        return True
    if _PERMANENT_WORDS.search(name):
        return False
    status = _http_status(error)
    return status is None or status in (408, 429) or status >= 500
