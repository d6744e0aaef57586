"""Read side of the job engine: a job, its status body, a module's history, the active
jobs. (Modules, entries and factors: webapp/catalog.py.)"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import cast, func, select
from sqlalchemy.dialects.postgresql import JSONPATH

from webapp import access
from webapp.errors import NotFound
from webapp.extensions import db
from webapp.jobs.requests import get_module
from webapp.jobs.states import ACTIVE, JobStatus
from webapp.models import DataIngestionJob


def iso(value) -> str | None:
    return value.isoformat() if value else None


def get_job(job_id: int) -> DataIngestionJob:
    """The job, if the caller may see its module (a job of no module: admins only).

    Raises:
        NotFound: no such job, or one out of the caller's sight (the same sentence).
    """
    job = db.session.get(DataIngestionJob, job_id)
    if job is None:
        raise NotFound(f"job {job_id} does not exist")
    check_visible(job)
    return job


def check_visible(job: DataIngestionJob) -> None:
    """Raises NotFound, worded as for a missing job, unless the caller sees `job`: its
    module, or for an institution-wide load one of the units it changed."""
    if job.module_id is None and _units_share(job):
        return
    access.check_inventory(job.inventory_id, f"job {job.id} does not exist")


def _units_share(job: DataIngestionJob) -> dict[str, Any] | None:
    """An institution-wide load's counts.by_unit as the caller may see it: the units of
    theirs it changed (None: not such a job, or none of theirs; admins see every unit)."""
    by_unit = job.info.counts.get("by_unit")
    if not by_unit:
        return None
    shown = access.visible_codes(list(by_unit))
    if not shown or not access.year_visible(job.year):
        return None
    return {code: by_unit[code] for code in by_unit if code in shown}


def current_job(job_id: int) -> DataIngestionJob:
    """The job as it is now: failed first if its worker was lost, so a page or poll
    watching a job on a dead worker sees it end even when no worker is left to reap it;
    put back on the queue if its entry was lost (Redis restarted empty), so the next
    worker to start finds it."""
    from webapp.jobs.reaper import reap_lost_workers, requeue_orphans

    job = get_job(job_id)
    if _may_be_lost(job) and reap_lost_workers(only_job_id=job_id):
        db.session.expire_all()
        job = get_job(job_id)
    elif _waited_long(job):
        with contextlib.suppress(Exception):  # Redis away: the reapers try again later
            requeue_orphans(only_job_id=job_id)
    return job


def _waited_long(job: DataIngestionJob) -> bool:
    """A pending job old enough that its queue entry may have been lost: only then is
    Redis asked (see reaper.requeue_orphans, whose query decides)."""
    from webapp.jobs.reaper import ORPHAN_AFTER_S

    created = job.started_at  # the plan's column: when the job was created
    return (job.status == JobStatus.PENDING and created is not None
            and datetime.now(UTC) - created > timedelta(seconds=ORPHAN_AFTER_S - 1))


def _may_be_lost(job: DataIngestionJob) -> bool:
    """Whether the heartbeat the row already carries is old enough to ask the reaper, whose
    query (on the database's clock) decides. Saves a query on nearly every poll."""
    if job.status != JobStatus.PROCESSING:
        return False
    heartbeat = job.info.heartbeat_at
    try:
        beat = datetime.fromisoformat(heartbeat) if heartbeat else job.started_at
    except (TypeError, ValueError):
        return True
    if beat is None:
        return True
    slack = timedelta(seconds=current_app.config["WORKER_LOST_AFTER_S"] - 2)  # clock skew
    return datetime.now(UTC) - beat > slack


def status_body(job: DataIngestionJob) -> dict[str, Any]:
    """The plan's status body plus the fields SPEC §7 adds. An institution-wide load
    shows someone who does not see every unit their units' share: their units' counts,
    and no row errors (a row naming no unit of theirs is not theirs to see)."""
    info = job.info
    counts, errors, errors_total = info.counts, info.errors, info.errors_total
    if job.module_id is None and counts.get("by_unit") and not access.sees_everything():
        share = _units_share(job) or {}
        counts = {"by_unit": share, **{key: sum(unit.get(key, 0) for unit in share.values())
                                       for key in ("inserted", "deleted", "skipped")}}
        errors, errors_total = [], 0
    return {
        "job_id": job.id, "status": job.status, "status_code": job.status_code,
        "message": job.message, "progress": info.progress,
        "module_id": job.module_id, "provider_type": job.provider_type,
        "target_type": job.target_type, "factor_type_id": job.factor_type_id,
        "year": job.year, "counts": counts, "errors": errors,
        "errors_total": errors_total, "retry_of": info.retry_of,
        "retried_by": info.retried_by, "created_by": job.created_by,
        "schedule_id": info.schedule_id,
        # Preview and undo (SPEC §11): the links both ways, a preview's rows, and until
        # when a load can be undone (null: never, e.g. a preview).
        "dry_run": info.dry_run, "preview": info.preview,
        "preview_of": info.preview_of, "applied_by": info.applied_by,
        "undo_of": info.undo_of, "undone_by": info.undone_by,
        "undo_until": info.undo_until,
        "started_at": iso(job.started_at), "completed_at": iso(job.completed_at),
        # started_at is the plan's column, set when the job is created; the worker's start
        # is in the metadata, so the queue wait and the processing time can be told apart.
        "created_at": iso(job.started_at),
        "processing_started_at": iso(job.processing_started_at),
        "request": info.request,
    }


def history(module_id: int, *, provider_type: str | None = None, status: str | None = None,
            limit: int = 20, offset: int = 0, except_target: str | None = None
            ) -> tuple[list[DataIngestionJob], int]:
    """A module's jobs, newest first, with the total matching the filters
    (`except_target`: leave out jobs of that target type)."""
    get_module(module_id)
    # With the institution-wide loads that changed it (webapp/feeds/): few, by year.
    routed_here = DataIngestionJob.module_id.is_(None) & func.jsonb_path_exists(
        DataIngestionJob.meta, cast("$.counts.by_unit.* ? (@.module_id == $m)", JSONPATH),
        func.jsonb_build_object("m", module_id))
    query = select(DataIngestionJob).where(
        (DataIngestionJob.module_id == module_id) | routed_here)
    if except_target:
        query = query.where(DataIngestionJob.target_type != except_target)
    if provider_type:
        query = query.where(DataIngestionJob.provider_type == provider_type)
    if status:
        query = query.where(DataIngestionJob.status == status)
    total = db.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    jobs = db.session.execute(query.order_by(DataIngestionJob.id.desc())
                              .limit(limit).offset(offset)).scalars().all()
    return list(jobs), total


def active_jobs(module_id: int | None = None) -> list[DataIngestionJob]:
    """The pending and running jobs (of one module), those the caller may see."""
    query = select(DataIngestionJob).where(
        DataIngestionJob.status.in_(list(ACTIVE)),
        access.of_visible_inventory(DataIngestionJob.inventory_id))
    if module_id is not None:
        query = query.where(DataIngestionJob.module_id == module_id)
    return list(db.session.execute(query.order_by(DataIngestionJob.id)).scalars())


