"""Finds jobs whose worker died (SIGKILL, OOM, lost machine) and fails them, and puts
back on the queue pending jobs whose queue entry was lost (e.g. Redis restarted empty).

Failing a lost job also ends its PostgreSQL session: a frozen process keeps its open
transaction and row locks otherwise, and the retry would wait on them."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from flask import Flask, current_app
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy import text

from webapp.extensions import db, redis_connection
from webapp.jobs import lifecycle, service, signals
from webapp.jobs.periodic import Periodic

log = logging.getLogger("webapp.jobs")


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
        end_lost_job(job_id, worker_lost_message(seconds))
    return lost


def end_lost_job(job_id: int, message: str) -> None:
    """Fail a job whose process is gone or frozen: first end its database session, so
    its locks go and a stale process that wakes up fails at its next statement."""
    session = db.session.execute(text(
        "SELECT metadata->'data_session' FROM data_ingestion_jobs WHERE id = :i "
        "AND status = 'processing'"), {"i": job_id}).scalar_one_or_none()
    if session:
        # pid and start time together: a pid PostgreSQL reused is someone else's session.
        ended = db.session.execute(text(
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
            "WHERE pid = :p AND backend_start::text = :s"),
            {"p": session["pid"], "s": session["started"]}).scalar()
        if ended:
            log.warning("ended the lost job's database session %s", session["pid"],
                        extra={"job_id": job_id})
    db.session.rollback()
    lifecycle.fail_job(job_id, message, 500)
    log.warning("job failed: worker lost", extra={"job_id": job_id})


STARTED_STALE_AFTER = timedelta(seconds=90)  # RQ heartbeats a running job every 30 s


def _queue_entry_lost(job_id: int) -> bool:
    """True when no worker will ever run this job: its RQ entry is gone, or RQ gave up on
    it before our code could start it (e.g. the database was down at that moment), or
    it is off the queue without a live worker on it (Redis lost while it was handed out)."""
    connection = redis_connection()
    try:
        rq_job = Job.fetch(service.rq_job_id(job_id), connection=connection)
    except NoSuchJobError:
        return True
    status = rq_job.get_status(refresh=False)
    if status == JobStatus.QUEUED:
        return connection.lpos(f"rq:queue:{rq_job.origin}", rq_job.id) is None
    if status == JobStatus.STARTED:  # a worker took it but never marked the row started
        beat = rq_job.last_heartbeat
        return beat is None or datetime.now(UTC) - beat.replace(tzinfo=UTC) > STARTED_STALE_AFTER
    return status in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED,
                      JobStatus.FINISHED)


ORPHAN_AFTER_S = 10  # a younger pending job may be between its commit and its enqueue


def requeue_orphans(min_age_s: int = ORPHAN_AFTER_S, only_job_id: int | None = None) -> list[int]:
    """Pending jobs older than `min_age_s` whose queue entry was lost go back on the queue.
    (Younger ones may be between their commit and their enqueue. Queuing one twice is
    harmless: a worker starts only a pending job.)"""
    sql = ("SELECT id FROM data_ingestion_jobs WHERE status = 'pending' "
           "AND started_at < now() - make_interval(secs => :s)")
    params: dict = {"s": min_age_s}
    if only_job_id is not None:
        sql += " AND id = :i"
        params["i"] = only_job_id
    pending = list(db.session.execute(text(sql), params).scalars())
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
        # Features' own upkeep (e.g. purging what loads kept for undo), after the jobs'.
        signals.reaper_round.send(None)
