"""Finds jobs whose worker died (SIGKILL, OOM, lost machine) and fails them, and puts
back on the queue pending jobs whose queue entry was lost (e.g. Redis restarted empty)."""

from __future__ import annotations

import logging

from flask import Flask, current_app
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy import text

from webapp.extensions import db, redis_connection
from webapp.ingestion.jobs import service
from webapp.ingestion.jobs.periodic import Periodic

log = logging.getLogger("webapp.ingestion")


def worker_lost_message(seconds: int) -> str:
    return (f"Worker lost: no heartbeat for over {seconds} s (the worker was killed or its "
            "machine went away); nothing was written. Retry the job.")


def reap_lost_workers(only_job_id: int | None = None) -> list[int]:
    """Fail processing jobs whose heartbeat is older than WORKER_LOST_AFTER_S."""
    seconds = current_app.config["WORKER_LOST_AFTER_S"]
    sql = ("SELECT id FROM data_ingestion_jobs WHERE status = 'processing' AND "
           "COALESCE((metadata->>'heartbeat_at')::timestamptz, started_at) "
           "< now() - make_interval(secs => :s)")
    params = {"s": seconds}
    if only_job_id is not None:
        sql += " AND id = :i"
        params["i"] = only_job_id
    lost = list(db.session.execute(text(sql), params).scalars())
    db.session.rollback()
    for job_id in lost:
        service.fail_job(job_id, worker_lost_message(seconds), 500)
        log.warning("job failed: worker lost", extra={"job_id": job_id})
    return lost


def _queue_entry_lost(job_id: int) -> bool:
    """True when no worker will ever run this job: its RQ entry is gone, or RQ gave up on
    it before our code could start it (e.g. the database was down at that moment)."""
    try:
        rq_job = Job.fetch(service.rq_job_id(job_id), connection=redis_connection())
    except NoSuchJobError:
        return True
    return rq_job.get_status(refresh=False) in (JobStatus.FAILED, JobStatus.STOPPED,
                                                JobStatus.CANCELED)


def requeue_orphans(min_age_s: int = 30) -> list[int]:
    """Pending jobs older than `min_age_s` whose queue entry was lost go back on the queue."""
    pending = list(db.session.execute(text(
        "SELECT id FROM data_ingestion_jobs WHERE status = 'pending' "
        "AND started_at < now() - make_interval(secs => :s)"), {"s": min_age_s}).scalars())
    db.session.rollback()
    requeued = []
    for job_id in pending:
        if _queue_entry_lost(job_id):
            service.enqueue(job_id)
            requeued.append(job_id)
            log.warning("pending job had no queue entry; requeued", extra={"job_id": job_id})
    return requeued


class Reaper(Periodic):
    """Runs in every worker process, so as long as one worker lives, lost jobs end."""

    def __init__(self, app: Flask):
        super().__init__(app, app.config["REAPER_INTERVAL_S"], self.round, name="reaper")

    @staticmethod
    def round() -> None:
        reap_lost_workers()
        requeue_orphans()
        from webapp.ingestion.jobs.undo import purge_expired

        purge_expired()
