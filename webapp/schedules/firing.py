"""Firing schedules: each due time creates exactly one job, whatever number of workers
and web processes try at once, because the database decides.

`fire_due()` claims due schedules with `SELECT ... FOR UPDATE SKIP LOCKED`, records the
due time in schedule_runs (UNIQUE (schedule_id, due_at)) and advances `next_run_at` in
the same transaction; only the process whose insert won goes on to create the job,
through the job service. However many due times were missed (every worker down for a
night), the latest one at or before now is the one recorded: it runs once.

`follow_up()` copies finished jobs' outcomes to their runs and schedules and sends the
failure webhooks; the same row locks make each notice go out once.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from flask import Flask, current_app
from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert

from webapp.errors import Conflict, Refusal
from webapp.extensions import db
from webapp.jobs import service as jobs
from webapp.jobs.periodic import Periodic
from webapp.jobs.requests import SyncRequest
from webapp.models import DataIngestionJob, ScheduleRun, SyncSchedule, User
from webapp.schedules import cron
from webapp.schedules.webhook import notifier
from webapp.text import clip_message

log = logging.getLogger("webapp.schedules")
BATCH = 50  # schedules claimed per round; the rest wait for the next one
LOST_AFTER_S = 300  # a claim whose process died before creating the job


def fire_due(now: datetime | None = None) -> list[int]:
    """Fire every enabled schedule due at `now` (default: the clock). Returns the ids of
    the runs this call won (each then got a job, or was recorded skipped or refused)."""
    now = now or jobs.now()
    due = db.session.execute(
        select(SyncSchedule).where(SyncSchedule.enabled, SyncSchedule.next_run_at <= now)
        .order_by(SyncSchedule.next_run_at).limit(BATCH)
        .with_for_update(skip_locked=True)).scalars().all()
    won = []
    for schedule in due:
        due_at = cron.latest_due(schedule.cron, schedule.timezone, now)
        schedule.next_run_at = cron.next_after(schedule.cron, schedule.timezone, now)
        run_id = _claim(schedule.id, due_at, manual=False)
        if run_id is not None:
            won.append(run_id)
    db.session.commit()
    for run_id in won:
        _start(run_id)
    return won


def run_now(schedule: SyncSchedule, user: User | None) -> DataIngestionJob:
    """Run a schedule at once, as if a due time had come (POST /schedules/{id}/run);
    the job is `user`'s.

    Raises:
        Conflict (recorded as skipped), or the service's other refusals (recorded).
    """
    from webapp.schedules.service import require_change

    require_change(schedule)  # before a run is recorded: a refusal of the caller is no run
    run_id = _claim(schedule.id, jobs.now(), manual=True)
    db.session.commit()
    job, error = _start(run_id, user)
    if error is not None:
        raise error
    return job


def _claim(schedule_id: int, due_at: datetime, *, manual: bool) -> int | None:
    """Record the due time; None when another process already recorded it."""
    return db.session.execute(
        insert(ScheduleRun).values(schedule_id=schedule_id, due_at=due_at, manual=manual)
        .on_conflict_do_nothing(constraint="uq_schedule_runs_due")
        .returning(ScheduleRun.id)).scalar_one_or_none()


def _start(run_id: int, user: User | None = None
           ) -> tuple[DataIngestionJob | None, Refusal | None]:
    """Create the run's job through the service (as `user`, else the schedule's creator
    while active); record what came of it."""
    run = db.session.get(ScheduleRun, run_id)
    schedule = db.session.get(SyncSchedule, run.schedule_id) if run else None
    if schedule is None:  # deleted meanwhile: its runs went with it
        return None, None
    if user is None and schedule.creator and schedule.creator.active:
        user = schedule.creator
    request = SyncRequest(
        module_id=schedule.module_id, provider_type=schedule.provider_type,
        target_type=schedule.target_type, year=schedule.year, filters=schedule.filters,
        config=schedule.config, factor_type_id=schedule.factor_type_id,
        schedule_id=schedule.id, module_type=schedule.module_type)
    job, error = None, None
    try:
        job = jobs.create_job(request, user)
        outcome, message = "created", job.message
    except Refusal as refused:
        db.session.rollback()
        error = refused
        outcome = "skipped" if isinstance(refused, Conflict) else "refused"
        message = refused.message
    _record(run_id, outcome, message, job.id if job else None)
    log.info("schedule %s run %s: %s", run.schedule_id, run_id, outcome,
             extra={"job_id": job.id if job else None})
    return job, error


def _record(run_id: int, outcome: str, message: str | None, job_id: int | None) -> None:
    run = db.session.get(ScheduleRun, run_id)
    schedule = db.session.get(SyncSchedule, run.schedule_id) if run else None
    if schedule is None:
        db.session.rollback()
        return
    run.outcome, run.message, run.job_id = outcome, clip_message(message or ""), job_id
    schedule.last_run_at, schedule.last_outcome = run.due_at, outcome
    schedule.last_message = run.message
    if job_id is not None:
        schedule.last_job_id = job_id
    db.session.commit()


# -- after the job -------------------------------------------------------------------------

def follow_up() -> int:
    """Runs whose job ended take its status; failed ones with a webhook are announced.
    Returns the number of runs updated."""
    ended = db.session.execute(text(
        "SELECT r.id, j.id, j.status FROM schedule_runs r JOIN data_ingestion_jobs j "
        "ON j.id = r.job_id WHERE r.outcome = 'created' "
        "AND j.status IN ('completed', 'failed', 'cancelled') "
        "ORDER BY r.id LIMIT 100 FOR UPDATE OF r SKIP LOCKED")).all()
    notices = []
    for run_id, job_id, status in ended:
        run = db.session.get(ScheduleRun, run_id)
        run.outcome = status
        schedule = db.session.get(SyncSchedule, run.schedule_id)
        if schedule.last_job_id == job_id:
            schedule.last_outcome = status
        if status == "failed" and schedule.webhook_url:
            notices.append((schedule.webhook_url, _notice(db.session.get(DataIngestionJob,
                                                                          job_id))))
    _forget_lost_claims()
    db.session.commit()
    allow_private = current_app.config.get("WEBHOOK_ALLOW_PRIVATE", False)
    for url, payload in notices:
        notifier.send(url, payload, allow_private)
    return len(ended)


def _forget_lost_claims() -> None:
    """A claim whose process died before creating the job is recorded as lost (not run
    again: a later due time will come, and a second job for it could be a duplicate)."""
    db.session.execute(text(
        "UPDATE schedule_runs SET outcome = 'lost', message = 'the process that claimed "
        "this due time stopped before creating its job' WHERE outcome = 'claimed' "
        "AND created_at < now() - make_interval(secs => :s)"), {"s": LOST_AFTER_S})


def _notice(job: DataIngestionJob) -> dict[str, Any]:
    base = current_app.config.get("PUBLIC_URL") or ""
    path = current_app.url_map.bind("localhost").build("jobs.detail", {"job_id": job.id})
    return {"job_id": job.id, "module": job.module.name if job.module else None,
            "module_id": job.module_id, "schedule_id": job.info.schedule_id,
            "status": job.status, "status_code": job.status_code, "message": job.message,
            "url": base.rstrip("/") + path}


class Scheduler(Periodic):
    """Runs in every worker process: as long as one worker lives, schedules fire."""

    def __init__(self, app: Flask):
        super().__init__(app, app.config.get("SCHEDULER_INTERVAL_S", 15), self.round,
                         name="scheduler")

    @staticmethod
    def round() -> None:
        fire_due()
        follow_up()
