"""The job service: creates, cancels and retries jobs, and owns every state change.

Every state change goes through `transition()`, which refuses illegal transitions and
updates the module's badge in the same transaction; the worker side of a job's life is
in lifecycle.py. What differs between kinds of job (checks, what runs, what completion
says) is asked of the job's kind (kinds.py); this module names no kind.
"""

from __future__ import annotations

import contextlib
import json
import logging
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from flask import current_app
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from webapp import access, audit
from webapp.errors import Conflict, NotFound, Unavailable
from webapp.extensions import db, ingestion_queue, redis_connection
from webapp.jobs import kinds
from webapp.jobs.queries import check_visible, get_job
from webapp.jobs.requests import Checked, SyncRequest, get_module
from webapp.jobs.states import ACTIVE, RETRYABLE, STATUS_CODES, JobStatus, check_transition
from webapp.models import DataIngestionJob, FactorType, User
from webapp.text import clip_message

log = logging.getLogger("webapp.jobs")
RUNNER = "webapp.jobs.runner.run_job"  # what RQ runs, by dotted name


def now() -> datetime:
    return datetime.now(UTC)


def rq_job_id(job_id: int) -> str:
    return f"ingestion-{job_id}"


# -- creating jobs ---------------------------------------------------------------------

def create_job(request: SyncRequest, user: User | None) -> DataIngestionJob:
    """Check a request with its kind, store the job (pending), commit, then enqueue it.

    Raises:
        NotFound, BadRequest, Invalid, Conflict (an active job exists), Unavailable.
    """
    require_change_of(request)
    kind = kinds.for_request(request)
    checked = kind.check(request)
    if checked.exclusive:
        _refuse_if_busy(_module_id(checked), request.target_type, checked.factor_type)
    ensure_queue_reachable()
    checked = kind.prepare(request, checked, user)
    job = insert_job(kind, request, checked, user)
    links = {"retried_by": request.retry_of, "applied_by": request.preview_of,
             "undone_by": request.undo_of}
    for key, old_id in links.items():
        if old_id is not None:
            link(old_id, key, job.id)
    action = ("job.applied" if request.preview_of else "job.retried" if request.retry_of
              else kind.audit_action)
    audit.record(action, target_type="job", target_id=job.id, user=user, details={
                     "provider_type": job.provider_type, "target_type": job.target_type,
                     "module_id": job.module_id, "retry_of": request.retry_of,
                     "preview_of": request.preview_of, "undo_of": request.undo_of})
    db.session.commit()
    try:
        enqueue(job.id)
    except Exception:  # noqa: BLE001 - the row is committed: the caller must learn its id
        # Redis went away between the check above and here. The job stays pending and
        # the reaper (any worker, or a read of its status) puts it on the queue later.
        log.warning("job %s stored but not queued (Redis unreachable); the reaper will "
                    "queue it", job.id, extra={"job_id": job.id})
    log.info("job %s created: %s %s for module %s", job.id, job.provider_type,
             job.target_type, job.module_id, extra={"job_id": job.id})
    return job


def require_change_of(request: SyncRequest) -> None:
    """Whether the caller may ask for this job, before anything else is checked: who may
    not change the module hears that, not what is wrong with the request.

    Raises:
        NotFound (the module is out of the caller's sight), Forbidden.
    """
    target = str(request.target_type)
    if request.module_id is None:  # the unit tree's, or every unit's (institution-wide)
        access.require_admin(f"a {target.replace('_', ' ')} job of no single unit")
        return
    module = get_module(request.module_id)
    access.require(access.unit_of(module), access.role_to_change(target),
                   f"a {target.replace('_', ' ')} job")


def check_request(request: SyncRequest) -> Checked:
    """The request's own checks, without creating anything (schedules use it); whether
    the target is busy is only known when a job is due."""
    return kinds.for_request(request).check(request)


def insert_job(kind: kinds.JobKind, request: SyncRequest, checked: Checked,
               user: User | None) -> DataIngestionJob:
    """Add the pending job in the current transaction, its badge updated; the database's
    one-active-job index refuses a second one (409). Committing and enqueueing are the
    caller's (create_job, or a follow-up created inside another job's completion)."""
    job = _new_job(kind, request, checked, user)
    db.session.add(job)
    try:
        db.session.flush()
    except IntegrityError as error:
        db.session.rollback()
        if "uq_jobs_one_active" not in str(error.orig):
            raise
        active = _active_job_id(_module_id(checked), job.target_type, checked.factor_type)
        raise _busy(active) from None
    update_badge(job)
    return job


def _new_job(kind: kinds.JobKind, request: SyncRequest, checked: Checked,
             user: User | None) -> DataIngestionJob:
    meta: dict[str, Any] = {"kind": kind.name, "request": checked.stored_request,
                            "progress": {}, "counts": {}, "errors": [], "errors_total": 0}
    if not checked.exclusive:
        meta["dry_run"] = True  # the one-active-job index leaves these out
    for key in ("retry_of", "schedule_id", "preview_of", "undo_of"):
        if getattr(request, key) is not None:
            meta[key] = getattr(request, key)
    module, factor_type = checked.module, checked.factor_type
    return DataIngestionJob(
        inventory_id=module.inventory_id if module else None,
        module_id=module.id if module else None,
        factor_type_id=factor_type.id if factor_type else None,
        provider_type=request.provider_type, target_type=request.target_type,
        year=checked.year, status=JobStatus.PENDING,
        status_code=STATUS_CODES[JobStatus.PENDING], message="Sync initiated", meta=meta,
        created_by=user.id if user else None,
        started_at=now())  # the plan's column: when the job was created


def _module_id(checked: Checked) -> int | None:
    return checked.module.id if checked.module else None


def _refuse_if_busy(module_id: int | None, target_type: str,
                    factor_type: FactorType | None) -> None:
    """The 409 before anything is stored, so a large upload is not written only to be
    refused. The one-active-job index still settles two requests that race past here."""
    active = _active_job_id(module_id, target_type, factor_type)
    if active is not None:
        raise _busy(active)


def _busy(active: int | None) -> Conflict:
    if active is None:  # it ended between the refused insert and this look
        return Conflict("another job was just started for this target; try again")
    return Conflict(f"job {active} is already {_status_of(active)} for this target; "
                    "wait for it or cancel it", active_job_id=active)


def ensure_queue_reachable() -> None:
    try:
        redis_connection().ping()
    except Exception:  # noqa: BLE001 - any Redis failure means we cannot run jobs
        raise Unavailable("the job queue (Redis) is unreachable; try again shortly") from None


def _active_job_id(module_id: int | None, target_type: str,
                   factor_type: FactorType | None) -> int | None:
    # COALESCE as in the one-active index: a job without a module is module 0.
    return db.session.execute(text(
        "SELECT id FROM data_ingestion_jobs WHERE COALESCE(module_id, 0) = :m "
        "AND target_type = :t "
        "AND COALESCE(factor_type_id, 0) = :f AND status IN ('pending', 'processing') "
        "AND (metadata->>'dry_run') IS NULL ORDER BY id LIMIT 1"),
        {"m": module_id or 0, "t": target_type, "f": factor_type.id if factor_type else 0}
    ).scalar()


def _status_of(job_id: int) -> str:
    return db.session.execute(text("SELECT status FROM data_ingestion_jobs WHERE id = :i"),
                              {"i": job_id}).scalar_one()


def enqueue(job_id: int) -> None:
    """Put the job on the RQ queue. Called only after the job row is committed."""
    config = current_app.config
    ingestion_queue().enqueue(
        RUNNER, job_id, job_id=rq_job_id(job_id),
        job_timeout=config["JOB_TIMEOUT_S"], result_ttl=3600, failure_ttl=7 * 86400,
        description=f"ingestion job {job_id}")


# -- transitions -----------------------------------------------------------------------

def lock(job_id: int) -> DataIngestionJob:
    """The job, locked for a state change, if the caller may see it.

    Raises:
        NotFound: no such job, or one out of the caller's sight (the same sentence).
    """
    job = db.session.execute(
        db.select(DataIngestionJob).where(DataIngestionJob.id == job_id).with_for_update()
        .execution_options(populate_existing=True)).scalar_one_or_none()
    if job is None:
        raise NotFound(f"job {job_id} does not exist")
    check_visible(job)
    return job


def require_change(job: DataIngestionJob, action: str) -> None:
    """Acting on a job (cancel, retry, load a preview, undo) needs what creating it did.

    Raises:
        Forbidden (403).
    """
    if job.module_id is None:  # the unit tree's, or every unit's (institution-wide)
        access.require_admin(action)
        return
    access.require(access.unit_of(job.module), access.role_to_change(job.target_type),
                   action)


def transition(job: DataIngestionJob, status: JobStatus, *, message: str,
                status_code: int | None = None, meta: dict[str, Any] | None = None) -> None:
    """Change a locked job's state in the current transaction (raises IllegalTransition)."""
    check_transition(job.id, job.status, status)
    job.status = status
    job.status_code = status_code if status_code is not None else STATUS_CODES[status]
    job.message = clip_message(message)
    if meta:
        job.meta = {**(job.meta or {}), **meta}
    if status not in ACTIVE:
        job.completed_at = now()
    update_badge(job)


def update_badge(job: DataIngestionJob) -> None:
    """modules.last_sync_status[key] := this job's state, so badges need no history query.
    Previews leave it alone: they sync nothing (and so never lock the module's row); so
    do jobs of no module (a units import)."""
    if job.info.dry_run or job.module_id is None:
        return
    factor_slug = job.factor_type.slug if job.factor_type_id and job.factor_type else None
    key = ":".join(filter(None, [job.provider_type, job.target_type, factor_slug]))
    badge = {"provider": job.provider_type, "target": job.target_type,
             "factor_type": factor_slug, "status": str(job.status),
             "status_code": job.status_code, "last_run": now().isoformat(timespec="seconds"),
             "last_job_id": job.id}
    db.session.execute(text(
        "UPDATE modules SET last_sync_status = COALESCE(last_sync_status, '{}'::jsonb) "
        "|| jsonb_build_object(CAST(:key AS text), CAST(:badge AS jsonb)) WHERE id = :m"),
        {"key": key, "badge": json.dumps(badge), "m": job.module_id})


def cancel_job(job_id: int, user: User | None) -> DataIngestionJob:
    """pending|processing → cancelled. A pending job never starts; a processing job stops
    at its next batch and writes nothing.

    Raises:
        NotFound, Forbidden, Conflict (the job already ended).
    """
    job = lock(job_id)
    require_change(job, "cancelling this job")
    if job.status not in ACTIVE:
        db.session.rollback()
        raise Conflict(f"job {job_id} is {job.status}; only pending or processing jobs "
                       "can be cancelled", status=str(job.status))
    who = user.email if user else "an operator"
    transition(job, JobStatus.CANCELLED, message=f"Cancelled by {who}; nothing was written",
                meta={"cancelled_by": user.id if user else None})
    audit.record("job.cancelled", target_type="job", target_id=job.id, user=user)
    db.session.commit()
    _drop_from_queue(job_id)
    return job


def _drop_from_queue(job_id: int) -> None:
    from rq.job import Job

    # The row is the truth (a worker that dequeues it anyway will not start it); removing
    # the queue entry only saves that worker a trip, so any Redis error is ignored.
    with contextlib.suppress(Exception):
        Job.fetch(rq_job_id(job_id), connection=redis_connection()).cancel()


def retry_job(job_id: int, user: User | None, *,
              config: dict[str, Any] | None = None) -> DataIngestionJob:
    """A new job from a failed or cancelled job's stored request (and file), linked both ways.
    `config` is merged into the stored config (e.g. confirm_replace, for "Replace them").

    Raises:
        NotFound, Conflict (the job is not failed/cancelled, or was already retried).
    """
    old = get_job(job_id)
    require_change(old, "retrying this job")
    if old.status not in RETRYABLE:
        raise Conflict(f"job {job_id} is {old.status}; only failed or cancelled jobs can be "
                       "retried", status=str(old.status))
    if old.info.retried_by:
        raise Conflict(f"job {job_id} was already retried by job {old.info.retried_by}",
                       retried_by=old.info.retried_by)
    request = SyncRequest.retry_of_job(old)
    if config:
        request = replace(request, config={**(request.config or {}), **config})
    return create_job(request, user)


def link(old_id: int, key: str, new_id: int) -> None:
    """old.metadata[key] := new (retried_by, applied_by, undone_by)."""
    db.session.execute(text(
        "UPDATE data_ingestion_jobs SET metadata = COALESCE(metadata, '{}'::jsonb) "
        "|| jsonb_build_object(CAST(:key AS text), CAST(:new AS int)) WHERE id = :old"),
        {"key": key, "new": new_id, "old": old_id})
