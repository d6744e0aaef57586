"""Letting the session worker finish before the next test wipes the database."""

from __future__ import annotations

import contextlib
import time


def wait_until_idle(worker, timeout: float = 30.0) -> None:
    """Wait until `worker` (tests/conftest.py WorkerProcess) has no work horse running.

    A cancelled job stops at its next check, not at once. Until then its data
    transaction is open, the next test's TRUNCATE queues behind it, and the job's own
    progress updates queue behind the TRUNCATE: a deadlock PostgreSQL cannot see.
    """
    deadline = time.monotonic() + timeout
    while worker.horse_pids():
        if time.monotonic() > deadline:
            raise AssertionError(f"worker {worker.name} still busy after {timeout} s")
        time.sleep(0.1)


def settle(app, worker) -> None:
    """Cancel the jobs a test left pending or processing, and let the worker finish."""
    from webapp.ingestion.jobs import queries, service
    from webapp.ingestion.refusals import ServiceError

    with app.app_context():
        for job in queries.active_jobs():
            with contextlib.suppress(ServiceError):  # it may have ended meanwhile
                service.cancel_job(job.id, None)
    wait_until_idle(worker)
