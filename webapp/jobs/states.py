"""Job states, their status codes, and the only transitions allowed between them."""

from __future__ import annotations

from enum import StrEnum


class JobStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.PENDING: frozenset({JobStatus.PROCESSING, JobStatus.CANCELLED}),
    JobStatus.PROCESSING: frozenset({JobStatus.COMPLETED, JobStatus.FAILED,
                                     JobStatus.CANCELLED}),
    JobStatus.COMPLETED: frozenset(),
    JobStatus.FAILED: frozenset(),
    JobStatus.CANCELLED: frozenset(),
}

ACTIVE = frozenset({JobStatus.PENDING, JobStatus.PROCESSING})
FINAL = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED})
RETRYABLE = frozenset({JobStatus.FAILED, JobStatus.CANCELLED})

# HTTP-like codes recorded in status_code (failed jobs carry their cause's code instead).
STATUS_CODES = {
    JobStatus.PENDING: 102,
    JobStatus.PROCESSING: 103,
    JobStatus.COMPLETED: 200,
    JobStatus.CANCELLED: 499,
}
COMPLETED_WITH_SKIPS = 207


class IllegalTransition(Exception):
    """A state change the machine forbids; nothing is stored."""

    def __init__(self, job_id: int, current: str, wanted: str):
        super().__init__(f"job {job_id} cannot go from {current} to {wanted}")
        self.current = current
        self.wanted = wanted


def check_transition(job_id: int, current: str, wanted: str) -> None:
    """Raise IllegalTransition unless `current → wanted` is in TRANSITIONS."""
    if JobStatus(wanted) not in TRANSITIONS[JobStatus(current)]:
        raise IllegalTransition(job_id, current, wanted)
