"""Undo a completed load (SPEC §11): a new job puts back what the load replaced.

A load keeps the rows it replaced (`replaced_entries`, `replaced_factors`, written by the
sinks in the load's own transaction). The undo job deletes what the load wrote and
restores those rows, every column as it was (ids, data, source, job ids, emissions), in
one transaction committed with its `completed` state. The job's state goes through the
service layer like any other job.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import text

from webapp.errors import Conflict
from webapp.extensions import db
from webapp.ingestion.kinds import LOAD_TARGETS, LoadKind
from webapp.ingestion.loading.sinks import EntrySink, adjust_entry_counts
from webapp.ingestion.tracker import Tracker
from webapp.jobs import kinds, lifecycle, service, signals
from webapp.jobs.queries import get_job
from webapp.jobs.requests import SyncRequest
from webapp.jobs.states import JobStatus
from webapp.models import DataIngestionJob, User
from webapp.models.jobs import TargetType

PURGE_EVERY_S = 3600
_last_purge = 0.0


def undo_refusal(job: DataIngestionJob) -> str | None:
    """Why `job` cannot be undone now, or None. Also shown on the job page and history."""
    info = job.info
    if job.status != JobStatus.COMPLETED:
        return f"job {job.id} is {job.status}; only completed loads can be undone"
    if info.dry_run:
        return f"job {job.id} is a preview; it wrote nothing to undo"
    if info.undo_of:
        return f"job {job.id} is an undo; load the data again instead"
    undone_by = info.undone_by
    if undone_by and _status(undone_by) not in (JobStatus.FAILED, JobStatus.CANCELLED):
        return f"job {job.id} was already undone by job {undone_by}"
    until = info.undo_until
    if not until or datetime.fromisoformat(until) < service.now():
        return (f"undo of job {job.id} is no longer possible: what it replaced is kept "
                f"{current_app.config['UNDO_KEEP_DAYS']} days")
    later = later_load(job)
    if later is not None:
        return (f"job {later} loaded the same data after job {job.id}; undo job {later} "
                "first")
    return None


def undo_note(job: DataIngestionJob) -> str | None:
    """A short note for the history (no query): undone, or undo no longer possible."""
    info = job.info
    if job.status != JobStatus.COMPLETED or info.dry_run or info.undo_of:
        return None
    if info.undone_by:
        return f"Undone by job #{info.undone_by}"
    until = info.undo_until
    if not until or datetime.fromisoformat(until) < service.now():
        return "Undo no longer possible"
    return None


def later_load(job: DataIngestionJob) -> int | None:
    """The newest completed, not undone load of the same slice after `job`. A slice of
    data entries is one provider's; factors, or the unit tree (a job of no module or
    year), are written by any provider alike."""
    module = "l.module_id = :m" if job.module_id is not None else "l.module_id IS NULL"
    year = "l.year = :y" if job.year is not None else "l.year IS NULL"
    return db.session.execute(text(
        f"SELECT l.id FROM data_ingestion_jobs l WHERE {module} "
        f"AND l.target_type = :t AND COALESCE(l.factor_type_id, 0) = :f AND {year} "
        "AND (l.target_type <> 'data_entries' OR l.provider_type = :p) AND l.id > :j "
        "AND l.status = 'completed' AND (l.metadata->>'dry_run') IS NULL "
        "AND (l.metadata->>'undo_of') IS NULL AND NOT EXISTS (SELECT 1 FROM "
        "data_ingestion_jobs u WHERE u.id = CAST(l.metadata->>'undone_by' AS int) "
        "AND u.status = 'completed') ORDER BY l.id DESC LIMIT 1"),
        {"m": job.module_id, "t": job.target_type, "f": job.factor_type_id or 0,
         "y": job.year, "p": job.provider_type, "j": job.id}).scalar()


def _status(job_id: int) -> str | None:
    return db.session.execute(text("SELECT status FROM data_ingestion_jobs WHERE id = :i"),
                              {"i": job_id}).scalar()


def request_undo(job_id: int, user: User | None) -> DataIngestionJob:
    """A new job that undoes completed load `job_id`, linked both ways.

    Raises:
        NotFound, Conflict (the reason undo_refusal gives, or the slice is busy).
    """
    job = get_job(job_id)
    service.require_change(job, "undoing this load")
    reason = undo_refusal(job)
    if reason is not None:
        raise Conflict(reason, status=str(job.status))
    stored = SyncRequest.retry_of_job(job)
    return service.create_job(replace(stored, retry_of=None, undo_of=job_id), user)


class UndoKind(LoadKind):
    """Restores what a completed load replaced; checked like the load it undoes."""

    name = "undo"
    audit_action = "job.undo"

    def claims(self, request: SyncRequest) -> bool:
        return (request.undo_of is not None and request.target_type in LOAD_TARGETS
                and request.module_type is None)

    def run(self, job: DataIngestionJob, attempt: str, log) -> None:
        run_undo(job, Tracker(job.id, log, attempt),
                 lambda: lifecycle.record_data_session(job.id, attempt))

    def completion_message(self, job: DataIngestionJob, counts: dict[str, Any],
                           extra: dict[str, Any]) -> str:
        return (f"Undid job #{job.info.undo_of}: restored {counts.get('restored', 0):,} "
                f"rows, removed {counts.get('removed', 0):,}")


def run_undo(job: DataIngestionJob, tracker, record_session: Callable[[], None],
             module_ids: list[int] | None = None) -> None:
    """Inside the worker: restore, then complete in the same transaction.
    `record_session` tells the reaper which PostgreSQL session holds it; `module_ids`:
    the modules an institution-wide load wrote (default: the job's one module)."""
    undone, job_id = job.info.undo_of, job.id
    target_type = job.target_type
    module_ids = module_ids if module_ids is not None else [job.module_id]
    try:
        record_session()
        tracker.start()
        tracker.progress("loading", fetched=0, processed=0, total=None)
        conn = db.session.connection().connection.driver_connection
        restore = _restore_factors if target_type == TargetType.FACTORS else _restore_entries
        tracker.complete({}, lambda: restore(conn, undone, module_ids), fetched=0, processed=0)
    except Exception as error:  # noqa: BLE001 - every failure must end the job
        tracker.log.exception("undo job %s crashed", job_id)
        tracker.fail(error)


def _restore_entries(conn, undone: int, module_ids: list[int]) -> dict[str, int]:
    cols = EntrySink.ENTRY_COLUMNS
    per_key = ("SELECT module_id, entry_type, source, count(*) FROM changed "
               "GROUP BY 1, 2, 3")
    removed = conn.execute(
        "WITH changed AS (DELETE FROM data_entries WHERE module_id = ANY(%s) "
        f"AND job_id = %s RETURNING module_id, entry_type, source) {per_key}",
        (module_ids, undone)).fetchall()
    restored = conn.execute(
        f"WITH changed AS (INSERT INTO data_entries ({cols}) SELECT {cols} "
        "FROM replaced_entries WHERE replaced_by = %s "
        f"RETURNING module_id, entry_type, source) {per_key}", (undone,)).fetchall()
    conn.execute("DELETE FROM replaced_entries WHERE replaced_by = %s", (undone,))
    changes: dict[int, Counter] = {}
    for module_id, entry_type, source, n in restored:
        changes.setdefault(module_id, Counter())[(entry_type, source)] += n
    for module_id, entry_type, source, n in removed:
        changes.setdefault(module_id, Counter())[(entry_type, source)] -= n
    for module_id, change in sorted(changes.items()):
        adjust_entry_counts(conn, module_id, change)
    return {"restored": sum(row[-1] for row in restored),
            "removed": sum(row[-1] for row in removed)}


def _restore_factors(conn, undone: int, module_ids: list[int]) -> dict[str, int]:
    removed = conn.execute(
        "DELETE FROM emission_factors f USING replaced_factors r WHERE r.replaced_by = %s "
        "AND r.inserted AND f.id = r.id", (undone,)).rowcount
    restored = conn.execute(
        'UPDATE emission_factors f SET "values" = r."values", job_id = r.job_id, '
        "updated_at = r.updated_at FROM replaced_factors r WHERE r.replaced_by = %s "
        "AND NOT r.inserted AND f.id = r.id", (undone,)).rowcount
    conn.execute("DELETE FROM replaced_factors WHERE replaced_by = %s", (undone,))
    return {"restored": restored, "removed": removed}


@signals.reaper_round.connect
def _purge_on_reaper_round(_sender: object) -> None:
    purge_expired()


def purge_expired(force: bool = False) -> int:
    """Drop what loads replaced once their undo window closed (about hourly per worker)."""
    global _last_purge
    if not force and time.monotonic() - _last_purge < PURGE_EVERY_S:
        return 0
    _last_purge = time.monotonic()
    params: dict[str, Any] = {"d": current_app.config["UNDO_KEEP_DAYS"]}
    purged = 0
    with db.engine.begin() as conn:
        for table in ("replaced_entries", "replaced_factors"):
            purged += conn.execute(text(
                f"DELETE FROM {table} WHERE kept_at < now() - make_interval(days => :d)"),
                params).rowcount
    return purged


kinds.register(UndoKind())
