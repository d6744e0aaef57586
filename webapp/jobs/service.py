"""The service layer: the only code that writes job state.

Every state change goes through `_transition()`, which locks the job row, refuses
illegal transitions and updates the module's badge in the same transaction. Views, API
handlers and the runner call the verb functions below; nothing else writes jobs.
"""

from __future__ import annotations

import contextlib
import json
import logging
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, BinaryIO

from flask import current_app
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from webapp import audit
from webapp.errors import (
    BadRequest,
    Conflict,
    Invalid,
    JobCancelled,
    JobLost,
    NotFound,
    Unavailable,
)
from webapp.extensions import db, ingestion_queue, redis_connection
from webapp.ingestion.loading import uploads
from webapp.ingestion.providers import registry
from webapp.ingestion.providers.filters import clean_filters
from webapp.jobs.states import (
    ACTIVE,
    COMPLETED_WITH_SKIPS,
    RETRYABLE,
    STATUS_CODES,
    JobStatus,
    TargetType,
    check_transition,
)
from webapp.models import DataIngestionJob, FactorType, Module, User
from webapp.text import MAX_REQUEST_JSON_BYTES, clip_cell, clip_message, json_size

log = logging.getLogger("webapp.ingestion")

ON_ERROR_POLICIES = ("abort", "skip")
MAX_STORED_ERRORS = 100  # in the job's metadata; the full report lives in ingestion_row_errors
# A key containing any of these is never stored (config, filters, at every depth).
SECRET_HINTS = ("secret", "password", "passwd", "token", "jwt", "key", "credential",
                "authorization", "cookie", "session", "private")


def now() -> datetime:
    return datetime.now(UTC)


def rq_job_id(job_id: int) -> str:
    return f"ingestion-{job_id}"


# -- creating jobs ---------------------------------------------------------------------

@dataclass(frozen=True)
class SyncRequest:
    """What a caller asks for, as sent (the API, the pages, or a retry's stored request).

    `create_job` checks it step by step; nothing here is trusted yet. `new_file` (stream,
    filename, content type) is an upload to store once the request is known valid; a
    retry passes the stored file's `upload_id` instead.
    """

    module_id: int
    provider_type: Any
    target_type: str
    year: Any
    filters: Any = None
    config: Any = None
    factor_type_id: int | None = None
    upload_id: int | None = None
    new_file: tuple[BinaryIO, str, str] | None = field(default=None, repr=False)
    retry_of: int | None = None
    schedule_id: int | None = None  # set when a schedule's due time (or run now) asks
    preview_of: int | None = None  # "Load it": the real load of a completed preview
    undo_of: int | None = None  # an undo of this completed load (jobs/undo.py)

    @classmethod
    def retry_of_job(cls, job: DataIngestionJob) -> SyncRequest:
        """The request a failed or cancelled job was created from (same file, if any)."""
        stored = (job.meta or {}).get("request", {})
        return cls(module_id=job.module_id, provider_type=job.provider_type,
                   target_type=job.target_type, year=job.year,
                   filters=stored.get("filters"), config=stored.get("config"),
                   factor_type_id=job.factor_type_id,
                   upload_id=(stored.get("upload") or {}).get("id"), retry_of=job.id)


@dataclass(frozen=True)
class _Checked:
    """A request that passed every check, in the form the job row stores."""

    module: Module
    factor_type: FactorType | None
    year: int
    filters: dict[str, list[str]]
    config: dict[str, Any]


def create_job(request: SyncRequest, user: User | None) -> DataIngestionJob:
    """Validate a sync request, store the job (pending), commit, then enqueue it.

    Raises:
        NotFound, BadRequest, Invalid, Conflict (an active job exists), Unavailable.
    """
    checked = _check(request)
    dry_run = bool(checked.config.get("dry_run"))
    if not dry_run:  # a preview writes nothing, so it never waits for the slice
        _refuse_if_busy(checked.module.id, request.target_type, checked.factor_type)
    _ensure_queue_reachable()
    upload_id = request.upload_id
    if request.new_file is not None:
        upload_id = uploads.store_upload(*request.new_file, user.id if user else None).id
    job = _insert(_new_job(request, checked, upload_id, user), checked)
    links = {"retried_by": request.retry_of, "applied_by": request.preview_of,
             "undone_by": request.undo_of}
    for key, old_id in links.items():
        if old_id is not None:
            _link(old_id, key, job.id)
    _update_badge(job)
    action = ("job.undo" if request.undo_of else "job.applied" if request.preview_of
              else "job.retried" if request.retry_of else "job.preview" if dry_run
              else "job.created")
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


def check_request(request: SyncRequest) -> _Checked:
    """The request's own checks, without creating anything (schedules use it); whether
    the target is busy is only known when a job is due."""
    return _check(request)


def _check(request: SyncRequest) -> _Checked:
    """Every check a request must pass before anything is stored."""
    if not isinstance(request.provider_type, str) or not request.provider_type:
        raise BadRequest("provider_type is required (a string)")
    module = db.session.get(Module, request.module_id)
    if module is None:
        raise NotFound(f"module {request.module_id} does not exist")
    factor_type = _check_factor_type(module, request.target_type, request.factor_type_id)
    year = _check_year(module, request.year)
    provider_cls = _provider_class(module, request)
    reason = provider_cls.unavailable_reason(current_app.config)
    if reason:
        raise Unavailable(reason, provider_type=request.provider_type)
    if provider_cls.needs_upload and request.upload_id is None and request.new_file is None:
        raise BadRequest(f"{request.provider_type} needs a CSV file in the 'file' field "
                         "(multipart/form-data)")
    for name in ("filters", "config"):
        _check_size(name, getattr(request, name))
    return _Checked(module, factor_type, year,
                    clean_filters(provider_cls.filters, request.filters),
                    _clean_config(request.config))


def _check_size(name: str, value: Any) -> None:
    """At most MAX_REQUEST_JSON_BYTES: the job stores the value and every status shows it."""
    size = json_size(value)
    if size > MAX_REQUEST_JSON_BYTES:
        raise Invalid(f"{name} is {size:,} bytes of JSON; at most "
                      f"{MAX_REQUEST_JSON_BYTES // 1024} KB ({MAX_REQUEST_JSON_BYTES:,} bytes) "
                      "is accepted", field=name, limit_bytes=MAX_REQUEST_JSON_BYTES)


def _provider_class(module: Module, request: SyncRequest):
    """The registered provider, or for a recalculation its stand-in (not a source)."""
    if request.target_type == TargetType.EMISSIONS:
        from webapp.emissions.job import RecalculationJob

        if request.provider_type != RecalculationJob.provider_name:
            raise Invalid(f"provider {request.provider_type!r} cannot recalculate emissions; "
                          "valid providers: recalculation", valid_providers=["recalculation"])
        return RecalculationJob
    return registry.resolve(module.module_type, request.provider_type, request.target_type)


def _clean_config(config: Any) -> dict[str, Any]:
    """Validate the request's config and drop anything that looks like a secret."""
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise BadRequest("config must be a JSON object")
    for flag in ("dry_run", "confirm_replace"):
        if not isinstance(config.get(flag, False), bool):
            raise Invalid(f"config.{flag} must be true or false, got "
                          f"{clip_cell(repr(config[flag]))}", field=f"config.{flag}")
    on_error = config.get("on_error")
    if on_error is not None and on_error not in ON_ERROR_POLICIES:
        raise Invalid(f"config.on_error must be 'abort' or 'skip', got "
                      f"{clip_cell(repr(on_error))}")
    return without_secrets(config)


def without_secrets(value: Any) -> Any:
    """`value` without the keys that look like secrets, at every depth (lists included)."""
    if isinstance(value, dict):
        return {k: without_secrets(v) for k, v in value.items()
                if not any(hint in str(k).lower() for hint in SECRET_HINTS)}
    if isinstance(value, list):
        return [without_secrets(item) for item in value]
    return value


def _new_job(request: SyncRequest, checked: _Checked, upload_id: int | None,
             user: User | None) -> DataIngestionJob:
    # Secrets are dropped from filters too, though no declared filter looks like one.
    request_meta = {"provider_type": request.provider_type,
                    "filters": without_secrets(checked.filters), "config": checked.config}
    if upload_id is not None:
        request_meta["upload"] = uploads.describe(upload_id)
    meta: dict[str, Any] = {"request": request_meta, "progress": {}, "counts": {},
                            "errors": [], "errors_total": 0}
    if request.retry_of is not None:
        meta["retry_of"] = request.retry_of
    if request.schedule_id is not None:
        meta["schedule_id"] = request.schedule_id
    if checked.config.get("dry_run"):
        meta["dry_run"] = True  # the one-active-job index leaves these out
    for key in ("preview_of", "undo_of"):
        if getattr(request, key) is not None:
            meta[key] = getattr(request, key)
    module, factor_type = checked.module, checked.factor_type
    return DataIngestionJob(
        inventory_id=module.inventory_id, module_id=module.id,
        factor_type_id=factor_type.id if factor_type else None,
        provider_type=request.provider_type, target_type=request.target_type,
        year=checked.year, status=JobStatus.PENDING,
        status_code=STATUS_CODES[JobStatus.PENDING], message="Sync initiated", meta=meta,
        created_by=user.id if user else None,
        started_at=now())  # the plan's column: when the job was created


def _insert(job: DataIngestionJob, checked: _Checked) -> DataIngestionJob:
    """Add the job; the database's one-active-job index refuses a second one (409)."""
    db.session.add(job)
    try:
        db.session.flush()
    except IntegrityError as error:
        db.session.rollback()
        if "uq_jobs_one_active" not in str(error.orig):
            raise
        active = _active_job_id(checked.module.id, job.target_type, checked.factor_type)
        raise _busy(active) from None
    return job


def _refuse_if_busy(module_id: int, target_type: str, factor_type: FactorType | None) -> None:
    """The 409 before anything is stored, so a large upload is not written only to be
    refused. The one-active-job index still settles two requests that race past here."""
    active = _active_job_id(module_id, target_type, factor_type)
    if active is not None:
        raise _busy(active)


def _busy(active: int | None) -> Conflict:
    if active is None:  # it ended between the refused insert and this look
        return Conflict("another job was just started for this module; try again")
    return Conflict(f"job {active} is already {_status_of(active)} for this module; "
                    "wait for it or cancel it", active_job_id=active)


def _check_factor_type(module: Module, target_type: str, factor_type_id: int | None
                       ) -> FactorType | None:
    if target_type not in (TargetType.DATA_ENTRIES, TargetType.FACTORS, TargetType.EMISSIONS):
        raise BadRequest(f"unknown target type {target_type!r}")
    if target_type in (TargetType.DATA_ENTRIES, TargetType.EMISSIONS):
        return None
    factor_type = db.session.get(FactorType, factor_type_id) if factor_type_id else None
    if factor_type is None:
        raise NotFound(f"factor type {factor_type_id} does not exist")
    if factor_type.module_type != module.module_type:
        raise Invalid(f"factor type {factor_type.slug!r} belongs to {factor_type.module_type} "
                      f"modules, not {module.module_type}")
    return factor_type


def _check_year(module: Module, year: Any) -> int:
    if year in (None, ""):
        raise Invalid("year is required")
    try:
        year = int(year)
    except (TypeError, ValueError):
        raise Invalid(f"year must be a whole number, got {clip_cell(repr(year))}") from None
    if year != module.inventory.year:
        raise Invalid(f"year {year} does not match the inventory's year "
                      f"{module.inventory.year}")
    return year


def _ensure_queue_reachable() -> None:
    try:
        redis_connection().ping()
    except Exception:  # noqa: BLE001 - any Redis failure means we cannot run jobs
        raise Unavailable("the job queue (Redis) is unreachable; try again shortly") from None


def _active_job_id(module_id: int, target_type: str, factor_type: FactorType | None
                   ) -> int | None:
    return db.session.execute(text(
        "SELECT id FROM data_ingestion_jobs WHERE module_id = :m AND target_type = :t "
        "AND COALESCE(factor_type_id, 0) = :f AND status IN ('pending', 'processing') "
        "AND (metadata->>'dry_run') IS NULL ORDER BY id LIMIT 1"),
        {"m": module_id, "t": target_type, "f": factor_type.id if factor_type else 0}
    ).scalar()


def _status_of(job_id: int) -> str:
    return db.session.execute(text("SELECT status FROM data_ingestion_jobs WHERE id = :i"),
                              {"i": job_id}).scalar_one()


def enqueue(job_id: int) -> None:
    """Put the job on the RQ queue. Called only after the job row is committed."""
    config = current_app.config
    ingestion_queue().enqueue(
        "webapp.jobs.runner.run_job", job_id, job_id=rq_job_id(job_id),
        job_timeout=config["JOB_TIMEOUT_S"], result_ttl=3600, failure_ttl=7 * 86400,
        description=f"ingestion job {job_id}")


# -- transitions -----------------------------------------------------------------------

def _lock(job_id: int) -> DataIngestionJob:
    job = db.session.execute(
        db.select(DataIngestionJob).where(DataIngestionJob.id == job_id).with_for_update()
        .execution_options(populate_existing=True)).scalar_one_or_none()
    if job is None:
        raise NotFound(f"job {job_id} does not exist")
    return job


def _transition(job: DataIngestionJob, status: JobStatus, *, message: str,
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
    _update_badge(job)


def _update_badge(job: DataIngestionJob) -> None:
    """modules.last_sync_status[key] := this job's state, so badges need no history query.
    Previews leave it alone: they sync nothing (and so never lock the module's row)."""
    if (job.meta or {}).get("dry_run"):
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


def start_job(job_id: int, worker_name: str, attempt: str | None = None) -> bool:
    """pending → processing. False when the job is no longer pending: cancelled before a
    worker took it, or already taken (a queue entry the reaper put back twice).
    `attempt` names this run: every later write of the run checks it still owns the job."""
    job = _lock(job_id)
    if job.status != JobStatus.PENDING:
        db.session.rollback()
        return False
    started = now().isoformat()
    _transition(job, JobStatus.PROCESSING, message="Processing",
                meta={"worker": worker_name, "heartbeat_at": started,
                      "processing_started_at": started, "attempt": attempt})
    db.session.commit()
    return True


def complete_job(job_id: int, counts: dict[str, int],
                 progress: dict[str, Any] | None = None, attempt: str | None = None,
                 extra: dict[str, Any] | None = None) -> None:
    """processing → completed, in the caller's open data transaction (committed by caller).
    `progress`: the final figures, which the last throttled progress write may lack;
    `extra`: more metadata (a preview's rows, an undo deadline).

    Raises:
        JobCancelled: when the job was cancelled meanwhile; the caller rolls back.
        JobLost: when `attempt` no longer owns the job (it was failed as worker lost).
    """
    job = _lock(job_id)
    if job.status == JobStatus.CANCELLED:
        raise JobCancelled()
    if attempt is not None and not _owned_by(job, attempt):
        raise JobLost()
    skipped = counts.get("skipped", 0)
    loaded = counts.get("inserted", 0) + counts.get("updated", 0)
    message = f"Loaded {loaded:,} row{'s' if loaded != 1 else ''}"
    if counts.get("unchanged"):
        message += f", {counts['unchanged']:,} unchanged"
    if counts.get("deleted"):
        message += f" (replaced {counts['deleted']:,} from the previous sync)"
    if skipped:
        message += f"; skipped {skipped:,} invalid row{'s' if skipped != 1 else ''}"
    meta = job.meta or {}
    if meta.get("dry_run"):
        message = "Preview: " + message.replace("Loaded", "would load", 1).replace(
            "skipped", "would skip", 1) + "; nothing was written"
    elif meta.get("undo_of"):
        message = (f"Undid job #{meta['undo_of']}: restored {counts.get('restored', 0):,} "
                   f"rows, removed {counts.get('removed', 0):,}")
    progress = {**meta.get("progress", {}), **(progress or {}),
                "phase": "done", "percent": 100}
    _transition(job, JobStatus.COMPLETED, message=message,
                status_code=COMPLETED_WITH_SKIPS if skipped else 200,
                meta={"counts": counts, "progress": progress, **(extra or {})})


def fail_job(job_id: int, message: str, status_code: int, attempt: str | None = None) -> None:
    """processing → failed in a fresh transaction; a cancelled job stays cancelled.
    With `attempt`, only while that attempt still owns the job (a stale process's late
    failure changes nothing)."""
    message = clip_message(message)
    db.session.rollback()
    job = _lock(job_id)
    if job.status not in ACTIVE or (attempt is not None and not _owned_by(job, attempt)):
        db.session.rollback()
        return
    if job.status == JobStatus.PENDING:  # never started: pending may only become processing
        _transition(job, JobStatus.PROCESSING, message="Processing")
    _transition(job, JobStatus.FAILED, message=message, status_code=status_code)
    db.session.commit()
    log.info("job %s failed (%s): %s", job_id, status_code, message, extra={"job_id": job_id})


def _owned_by(job: DataIngestionJob, attempt: str) -> bool:
    return job.status == JobStatus.PROCESSING and (job.meta or {}).get("attempt") == attempt


def record_data_session(job_id: int, attempt: str, session: dict[str, Any]) -> None:
    """Remember the PostgreSQL session (pid, start) holding the job's data transaction,
    so the reaper can end it, and its locks, when it fails the job as worker lost."""
    with db.engine.begin() as conn:
        _owned_update(conn, "metadata = metadata || jsonb_build_object('data_session', "
                      "CAST(:s AS jsonb))", {"s": json.dumps(session)}, job_id, attempt)


def _owned_update(conn, assignments: str, params: dict[str, Any], job_id: int,
                  attempt: str | None) -> None:
    """UPDATE the job only while it is processing for `attempt` (any attempt if None).

    Raises:
        JobCancelled: the job was cancelled. JobLost: another outcome took it away.
    """
    sql = (f"UPDATE data_ingestion_jobs SET {assignments} WHERE id = :i "
           "AND status = 'processing'")
    if attempt is not None:
        sql += " AND metadata->>'attempt' = :attempt"
    if conn.execute(text(sql), {**params, "i": job_id, "attempt": attempt}).rowcount:
        return
    status = conn.execute(text("SELECT status FROM data_ingestion_jobs WHERE id = :i"),
                          {"i": job_id}).scalar_one()
    raise JobCancelled() if status == JobStatus.CANCELLED else JobLost()


def ensure_owned(job_id: int, attempt: str | None) -> None:
    """Raise JobCancelled / JobLost unless the job is still processing for `attempt`."""
    with db.engine.connect() as conn:
        row = conn.execute(text("SELECT status, metadata->>'attempt' FROM "
                                "data_ingestion_jobs WHERE id = :i"), {"i": job_id}).one()
    if row[0] == JobStatus.CANCELLED:
        raise JobCancelled()
    if row[0] != JobStatus.PROCESSING or (attempt is not None and row[1] != attempt):
        raise JobLost()


def cancel_job(job_id: int, user: User | None) -> DataIngestionJob:
    """pending|processing → cancelled. A pending job never starts; a processing job stops
    at its next batch and writes nothing.

    Raises:
        NotFound, Conflict (the job already ended).
    """
    job = _lock(job_id)
    if job.status not in ACTIVE:
        db.session.rollback()
        raise Conflict(f"job {job_id} is {job.status}; only pending or processing jobs "
                       "can be cancelled", status=str(job.status))
    who = user.email if user else "an operator"
    _transition(job, JobStatus.CANCELLED, message=f"Cancelled by {who}; nothing was written",
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
              confirm_replace: bool = False) -> DataIngestionJob:
    """A new job from a failed or cancelled job's stored request (and file), linked both ways.
    `confirm_replace` confirms the replacement a 409 refused ("Replace them").

    Raises:
        NotFound, Conflict (the job is not failed/cancelled, or was already retried).
    """
    old = db.session.get(DataIngestionJob, job_id)
    if old is None:
        raise NotFound(f"job {job_id} does not exist")
    if old.status not in RETRYABLE:
        raise Conflict(f"job {job_id} is {old.status}; only failed or cancelled jobs can be "
                       "retried", status=str(old.status))
    if (old.meta or {}).get("retried_by"):
        raise Conflict(f"job {job_id} was already retried by job {old.meta['retried_by']}",
                       retried_by=old.meta["retried_by"])
    request = SyncRequest.retry_of_job(old)
    if confirm_replace:
        request = replace(request, config={**(request.config or {}), "confirm_replace": True})
    return create_job(request, user)


def _link(old_id: int, key: str, new_id: int) -> None:
    """old.metadata[key] := new (retried_by, applied_by, undone_by)."""
    db.session.execute(text(
        "UPDATE data_ingestion_jobs SET metadata = COALESCE(metadata, '{}'::jsonb) "
        "|| jsonb_build_object(CAST(:key AS text), CAST(:new AS int)) WHERE id = :old"),
        {"key": key, "new": new_id, "old": old_id})


def apply_preview(job_id: int, user: User | None) -> DataIngestionJob:
    """"Load it": a new job loads a completed preview's request and file for real.

    Raises:
        NotFound, Conflict (not a completed preview, or already applied), and what
        create_job raises (e.g. 409 while another load of the slice runs).
    """
    old = db.session.get(DataIngestionJob, job_id)
    if old is None:
        raise NotFound(f"job {job_id} does not exist")
    meta = old.meta or {}
    if not meta.get("dry_run") or old.status != JobStatus.COMPLETED:
        raise Conflict(f"job {job_id} is not a completed preview; only those can be loaded",
                       status=str(old.status))
    if meta.get("applied_by"):
        raise Conflict(f"job {job_id} was already loaded by job {meta['applied_by']}",
                       applied_by=meta["applied_by"])
    stored = SyncRequest.retry_of_job(old)
    # Loading what the preview showed, counts and rows, confirms its replacement.
    config = {**{k: v for k, v in (stored.config or {}).items() if k != "dry_run"},
              "confirm_replace": True}
    return create_job(replace(stored, config=config, retry_of=None, preview_of=job_id), user)


# -- progress and row errors (own short transactions, visible to pollers at once) ---------

# Each raises JobCancelled / JobLost when the job is no longer processing for `attempt`:
# a stale process (frozen, then resumed after the reaper failed its job) stops there.

def record_progress(job_id: int, progress: dict[str, Any], attempt: str | None = None) -> None:
    with db.engine.begin() as conn:
        _owned_update(conn, "metadata = metadata || jsonb_build_object('progress', "
                      "CAST(:p AS jsonb), 'heartbeat_at', CAST(:h AS text)), message = :m",
                      {"p": json.dumps(progress), "h": now().isoformat(),
                       "m": _progress_message(progress)}, job_id, attempt)


def _progress_message(progress: dict[str, Any]) -> str:
    phase = progress.get("phase", "processing")
    if phase == "validating":
        return "Checking the source"
    if phase == "recalculating":
        return (f"Recalculating: {progress.get('step')} "
                f"(step {progress.get('processed', 0) + 1} of {progress.get('total')})")
    done, total = progress.get("processed", 0), progress.get("total")
    if done:
        return f"Processed {done:,} of {total:,} rows" if total else f"Processed {done:,} rows"
    return f"Fetched {progress.get('fetched', 0):,} rows"


def heartbeat(job_id: int, attempt: str | None = None) -> None:
    with db.engine.begin() as conn:
        _owned_update(conn, "metadata = metadata || jsonb_build_object('heartbeat_at', "
                      "CAST(:h AS text))", {"h": now().isoformat()}, job_id, attempt)


def is_cancelled(job_id: int) -> bool:
    with db.engine.connect() as conn:
        return conn.execute(text("SELECT status FROM data_ingestion_jobs WHERE id = :i"),
                            {"i": job_id}).scalar_one() == JobStatus.CANCELLED


def record_row_errors(job_id: int, errors: list[dict[str, Any]],
                      attempt: str | None = None) -> None:
    """Keep every row error for the CSV report, and the first 100 in the job's metadata."""
    from webapp.jobs import error_report as row_errors

    # The report's column holds 200 characters; the job's copy shows cells of at most 100.
    errors = [{**e, "column": e["column"][:200]} for e in errors]
    shown = [{**e, "column": clip_cell(e["column"]), "value": clip_cell(e["value"]),
              "reason": clip_message(e["reason"])} for e in errors[:MAX_STORED_ERRORS]]
    with db.engine.begin() as conn:
        total = row_errors.store(conn, job_id, errors)
        _owned_update(conn, "metadata = jsonb_set(jsonb_set(metadata, '{errors}', "
                      "(COALESCE(metadata->'errors', '[]'::jsonb) || CAST(:e AS jsonb))), "
                      "'{errors_total}', to_jsonb(CAST(:t AS int)))",
                      {"e": json.dumps(_first_errors(conn, job_id, shown)), "t": total},
                      job_id, attempt)


def _first_errors(conn, job_id: int, errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    stored = conn.execute(text(
        "SELECT COALESCE(jsonb_array_length(metadata->'errors'), 0) "
        "FROM data_ingestion_jobs WHERE id = :i"), {"i": job_id}).scalar_one()
    return errors[:max(0, MAX_STORED_ERRORS - stored)]


# -- emissions recalculations (SPEC §10) --------------------------------------------------
# One active recalculation per module: the one-active index covers it (its own target
# type). A request while one is pending needs nothing (it has not read the data yet);
# while one is processing, the request is a flag on that job, and its completion creates
# the one follow-up run in the same transaction: a change during a run leads to exactly
# one more run, and `stale` never drops in between.

RERUN_FLAG = "rerun_requested"


def _recalculation_request(module: Module, user: User | None = None,
                           triggered_by: int | None = None) -> SyncRequest:
    config = {"triggered_by": triggered_by} if triggered_by else None
    return SyncRequest(module_id=module.id, provider_type="recalculation",
                       target_type=TargetType.EMISSIONS, year=module.inventory.year,
                       config=config)


def request_recalculation(module_id: int, user: User | None, *,
                          triggered_by: int | None = None) -> DataIngestionJob:
    """Make sure the module's figures will be recalculated from the data as it is now.

    Returns the job that will do it: a new pending one, the one already pending, or the
    processing one, flagged to run once more when it ends.

    Raises:
        NotFound, Unavailable (the queue is unreachable).
    """
    module = db.session.get(Module, module_id)
    if module is None:
        raise NotFound(f"module {module_id} does not exist")
    for _ in range(5):  # each lap loses a race to another request; one more always wins
        active = db.session.execute(
            db.select(DataIngestionJob).where(
                DataIngestionJob.module_id == module_id,
                DataIngestionJob.target_type == TargetType.EMISSIONS,
                DataIngestionJob.status.in_(list(ACTIVE)))
            .with_for_update().execution_options(populate_existing=True)).scalar_one_or_none()
        if active is not None:
            if active.status == JobStatus.PROCESSING and not (active.meta or {}).get(RERUN_FLAG):
                active.meta = {**active.meta, RERUN_FLAG: True}
                db.session.commit()
            else:
                db.session.rollback()
            return active
        db.session.rollback()
        try:
            return create_job(_recalculation_request(module, user, triggered_by), user)
        except Conflict:
            continue  # another request, or a finishing run's follow-up, got there first
    raise Conflict(f"module {module_id}'s recalculation is changing hands; try again")


def complete_recalculation(job_id: int, result: dict[str, Any],
                           attempt: str | None = None) -> int | None:
    """processing → completed in the recalculation's open transaction (committed by the
    caller). Returns the follow-up job to enqueue after the commit, when one was asked
    for during the run.

    Raises:
        JobCancelled: when the job was cancelled meanwhile; the caller rolls back.
        JobLost: when `attempt` no longer owns the job.
    """
    job = _lock(job_id)
    if job.status == JobStatus.CANCELLED:
        raise JobCancelled()
    if attempt is not None and not _owned_by(job, attempt):
        raise JobLost()
    done, total = result["entries_with_emissions"], result["entries"]
    _transition(job, JobStatus.COMPLETED,
                message=f"Recalculated {total:,} entr{'y' if total == 1 else 'ies'}: "
                        f"{done:,} with emissions, {result['total_kg_co2eq']:,.1f} kg CO2eq",
                meta={"counts": {"updated": sum(result["changed"].values()),
                                 "entries": total, "entries_with_emissions": done},
                      "emissions": result,
                      "progress": {**(job.meta or {}).get("progress", {}), "phase": "done",
                                   "percent": 100}})
    if not (job.meta or {}).get(RERUN_FLAG):
        return None
    db.session.flush()  # this job leaves the one-active index before the follow-up enters
    request = _recalculation_request(job.module, triggered_by=job.id)
    checked = _check(request)
    # No conflict is possible: while this job was active the index kept any other out.
    follow_up = _insert(_new_job(request, checked, None, None), checked)
    _update_badge(follow_up)
    audit.record("job.created", target_type="job", target_id=follow_up.id, user=None,
                 details={"provider_type": follow_up.provider_type,
                          "target_type": follow_up.target_type,
                          "module_id": follow_up.module_id, "rerun_of": job.id})
    return follow_up.id


def after_load(job_id: int) -> None:
    """Called once a load has committed: recalculate what it changed. Entries: their
    module. Factors: every module of the factor type's module type and the job's year.
    Never raises (the load is done); a failure to queue is logged, and the Recalculate
    button is the way back."""
    if not current_app.config["RECALCULATE_AFTER_LOADS"]:
        return
    try:
        _recalculate_after(job_id)
    except Exception:  # noqa: BLE001 - the load stays completed whatever happens here
        db.session.rollback()
        log.warning("could not queue the recalculations after job %s", job_id,
                    exc_info=True, extra={"job_id": job_id})


def _recalculate_after(job_id: int) -> None:
    job = db.session.get(DataIngestionJob, job_id, populate_existing=True)
    if job is None or job.status != JobStatus.COMPLETED or (job.meta or {}).get("dry_run"):
        return  # a preview changed nothing; an undo did, and is recalculated like a load
    if job.target_type == TargetType.DATA_ENTRIES:
        module_ids = [job.module_id]
    elif job.target_type == TargetType.FACTORS and job.factor_type is not None:
        from webapp.models import Inventory
        module_ids = list(db.session.execute(
            db.select(Module.id).join(Inventory, Inventory.id == Module.inventory_id)
            .where(Module.module_type == job.factor_type.module_type,
                   Inventory.year == job.year).order_by(Module.id)).scalars())
    else:
        return
    for module_id in module_ids:
        try:
            request_recalculation(module_id, None, triggered_by=job_id)
        except Exception:  # noqa: BLE001 - the load stays completed whatever happens here
            db.session.rollback()
            log.warning("could not queue the recalculation of module %s after job %s",
                        module_id, job_id, exc_info=True, extra={"job_id": job_id})
