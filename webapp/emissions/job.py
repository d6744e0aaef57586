"""A recalculation as a job (`target_type` emissions, `provider_type` recalculation).

The job service creates, cancels, retries and finishes it like any load; the runner
hands it to `run_recalculation` instead of a provider pipeline, since there is no
source to fetch and nothing to stage: `recalculate_module` is one set-based
transaction, and the job's completion commits in it.
"""

from __future__ import annotations

import logging
import time

from webapp.emissions.recalculation import recalculate_module
from webapp.errors import JobCancelled, JobFailure
from webapp.extensions import db


class RecalculationJob:
    """What the job service asks of a provider class, for recalculation jobs (which are
    not a source, so not in the provider REGISTRY and its contract)."""

    provider_name = "recalculation"
    target_type = "emissions"
    label = "Recalculation"
    needs_upload = False
    filters = ()

    @classmethod
    def unavailable_reason(cls, settings) -> str | None:
        return None


def run_recalculation(job_id: int, job_log: logging.LoggerAdapter,
                      attempt: str | None = None) -> None:
    """Recalculate the job's module and complete the job in the same transaction.

    Cancelled or lost (checked before each statement) or failed, everything rolls back: the
    module keeps its previous figures. A follow-up run asked for while this one ran is
    created by the completion and queued once it is committed.
    """
    from webapp.jobs import service
    from webapp.models import DataIngestionJob

    module_id = db.session.get(DataIngestionJob, job_id).module_id
    started = time.monotonic()

    def progress(step: str, done: int, steps: int) -> None:
        service.ensure_owned(job_id, attempt)  # cancelled, or failed as lost: stop
        service.record_progress(job_id, {
            "phase": "recalculating", "step": step, "processed": done, "total": steps,
            "percent": int(100 * done / steps),
            "elapsed_s": round(time.monotonic() - started, 1)}, attempt=attempt)

    try:
        conn = db.session.connection().connection.driver_connection
        result = recalculate_module(conn, module_id, job_id=job_id, progress=progress)
        follow_up = service.complete_recalculation(job_id, result.as_metadata(), attempt)
        db.session.commit()
    except JobCancelled:  # or lost (JobLost): another attempt owns the job now
        db.session.rollback()
        job_log.info("recalculation cancelled or taken away; the previous figures stay")
        return
    except Exception as error:  # noqa: BLE001 - every failure must end the job
        db.session.rollback()
        if isinstance(error, JobFailure):
            message, code = error.message, error.status_code
        else:
            job_log.exception("recalculation crashed")
            message = (f"Internal error ({type(error).__name__}); the worker log has the "
                       f"details for job {job_id}")
            code = 500
        service.fail_job(job_id, message, code, attempt=attempt)
        return
    job_log.info("recalculation completed: %s", result.as_metadata())
    if follow_up is not None:
        service.enqueue(follow_up)
