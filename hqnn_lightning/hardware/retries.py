"""Job submission with retries: a failed batch is run again after exponentially growing
delays, unless its error is one a retry cannot fix (`hqnn_lightning.hardware.jobs.is_transient`).
A retry inside a `JobJournal`'s block fetches the jobs the failed attempt recorded instead of
paying for them again."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from hqnn_lightning.hardware.jobs import is_transient

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How failed jobs are retried: after ``initial_delay * backoff**k`` seconds (at most
    ``max_delay``) for the k-th retry, up to ``max_retries`` retries.

    Args:
        max_retries: Retries after the first attempt (0: none).
        initial_delay: Seconds before the first retry.
        backoff: Factor between consecutive delays.
        max_delay: Longest wait, seconds.
        sleep: Waits the given seconds (``time.sleep``; tests pass a recorder).
    """

    max_retries: int = 3
    initial_delay: float = 10.0
    backoff: float = 2.0
    max_delay: float = 600.0
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)

    def __post_init__(self) -> None:
        """Refuses a policy no evaluation can follow, before any job is submitted.

        Raises:
            ValueError: fewer than 0 retries, a negative delay, or a backoff below 1.
        """
        if self.max_retries < 0:
            raise ValueError(f"max_retries {self.max_retries}: give 0 or more (0: no retry)")
        if not 0 <= self.initial_delay <= self.max_delay:
            raise ValueError(
                f"initial_delay {self.initial_delay} s and max_delay {self.max_delay} s: give "
                "0 <= initial_delay <= max_delay"
            )
        if not self.backoff >= 1:
            raise ValueError(f"backoff {self.backoff}: give 1 or more (1: equal delays)")

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (0-based)."""
        return min(self.initial_delay * self.backoff**retry, self.max_delay)


class JobFailedError(RuntimeError):
    """A batch failed on every attempt, or with an error a retry cannot fix; the finished
    batches are saved."""


def call_with_retries(
    job: Callable[[], T],
    policy: RetryPolicy,
    name: str,
    log: Callable[[str], None] = print,
    retryable: Callable[[BaseException], bool] = is_transient,
) -> tuple[T, int]:
    """Runs ``job`` until it succeeds, retrying an ``Exception`` that ``retryable`` accepts
    (a timed-out job, a lost connection, throttling) after the policy's delays; any other
    error, ``KeyboardInterrupt`` and other ``BaseException``\\ s stop at once.

    Returns:
        ``(result, attempts)``.

    Raises:
        JobFailedError: every attempt failed, or one failed with an error ``retryable``
            refuses; one line, chained to the error.
    """
    for attempt in range(policy.max_retries + 1):
        try:
            return job(), attempt + 1
        except Exception as error:
            reason = f"{type(error).__name__}: {' '.join(str(error).split())}"
            if not retryable(error):
                raise JobFailedError(
                    f"{name} failed and was not retried, since a retry cannot fix {reason}"
                ) from error
            if attempt == policy.max_retries:
                raise JobFailedError(
                    f"{name} failed {attempt + 1} times; last error: {reason}"
                ) from error
            delay = policy.delay(attempt)
            log(f"{name} failed ({reason}); retrying in {delay:.0f} s")
            policy.sleep(delay)
    raise AssertionError("unreachable")
