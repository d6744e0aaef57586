"""The worker side of a job's life: start, progress, row errors, heartbeat, completion
and failure. Together with service.py, the only code that writes job state.

Every write after the start checks that the run (its `attempt`) still owns the job, so
a stale run, failed meanwhile as "worker lost" or cancelled, stops and writes nothing.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import psycopg
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from webapp.errors import JobCancelled, JobFailure, JobLost
from webapp.extensions import db
from webapp.jobs import error_report as row_errors
from webapp.jobs import kinds
from webapp.jobs.service import lock, now, transition
from webapp.jobs.states import ACTIVE, COMPLETED_WITH_SKIPS, JobStatus
from webapp.models import DataIngestionJob
from webapp.text import clip_cell, clip_message

log = logging.getLogger("webapp.jobs")
MAX_STORED_ERRORS = 100  # in the job's metadata; the full report lives in ingestion_row_errors
# After losing the database mid-job, how long the work horse keeps trying to record the
# failure (once a second) before leaving the job to the reaper.
DB_RETURN_WAIT_S = 600
DB_LOST_MESSAGE = ("The database connection was lost while the job ran (PostgreSQL "
                   "restarted or became unreachable); nothing was written. Retry the job.")
# SQLSTATEs of a connection the server ended: class 08 and the admin/crash shutdowns.
_CONNECTION_ENDED = ("08", "57P01", "57P02", "57P03")


def start_job(job_id: int, worker_name: str, attempt: str | None = None) -> bool:
    """pending → processing. False when the job is no longer pending: cancelled before a
    worker took it, or already taken (a queue entry the reaper put back twice).
    `attempt` names this run: every later write of the run checks it still owns the job."""
    job = lock(job_id)
    if job.status != JobStatus.PENDING:
        db.session.rollback()
        return False
    started = now().isoformat()
    transition(job, JobStatus.PROCESSING, message="Processing",
                meta={"worker": worker_name, "heartbeat_at": started,
                      "processing_started_at": started, "attempt": attempt})
    db.session.commit()
    return True


def complete_job(job_id: int, counts: dict[str, Any],
                 progress: dict[str, Any] | None = None, attempt: str | None = None,
                 extra: dict[str, Any] | None = None) -> DataIngestionJob:
    """processing → completed, in the caller's open data transaction (committed by caller),
    with the message the job's kind gives. `progress`: the final figures, which the last
    throttled progress write may lack; `extra`: more metadata (a preview's rows, an undo
    deadline, a recalculation's figures). Returns the locked job.

    Raises:
        JobCancelled: when the job was cancelled meanwhile; the caller rolls back.
        JobLost: when `attempt` no longer owns the job (it was failed as worker lost).
    """
    job = lock(job_id)
    if job.status == JobStatus.CANCELLED:
        raise JobCancelled()
    if attempt is not None and not _owned_by(job, attempt):
        raise JobLost()
    message = kinds.of_job(job).completion_message(job, counts, extra or {})
    progress = {**job.info.progress, **(progress or {}), "phase": "done", "percent": 100}
    transition(job, JobStatus.COMPLETED, message=message,
               status_code=COMPLETED_WITH_SKIPS if counts.get("skipped") else 200,
               meta={"counts": counts, "progress": progress, **(extra or {})})
    return job


def fail_job(job_id: int, message: str, status_code: int, attempt: str | None = None) -> None:
    """processing → failed in a fresh transaction; a cancelled job stays cancelled.
    With `attempt`, only while that attempt still owns the job (a stale process's late
    failure changes nothing)."""
    message = clip_message(message)
    db.session.rollback()
    job = lock(job_id)
    if job.status not in ACTIVE or (attempt is not None and not _owned_by(job, attempt)):
        db.session.rollback()
        return
    if job.status == JobStatus.PENDING:  # never started: pending may only become processing
        transition(job, JobStatus.PROCESSING, message="Processing")
    transition(job, JobStatus.FAILED, message=message, status_code=status_code)
    db.session.commit()
    log.info("job %s failed (%s): %s", job_id, status_code, message, extra={"job_id": job_id})


def end_with(job_id: int, error: BaseException, attempt: str | None,
             job_log: logging.LoggerAdapter) -> None:
    """End a run that raised `error`, after the caller rolled its data back: nothing for
    a cancel (or a lost run); failed with the failure's code; on a lost database, failed
    503 once it answers again; anything else is failed 500 naming only its kind (an
    exception may carry URLs or payloads), with the details in the worker log."""
    if isinstance(error, JobCancelled):
        job_log.info("job cancelled, or no longer this run's (failed as worker lost): "
                     "stopped, nothing was written")
        return
    if isinstance(error, JobFailure):
        fail_job(job_id, error.message, error.status_code, attempt=attempt)
    elif connection_lost(error):
        _fail_when_database_returns(job_id, attempt)
    else:
        fail_job(job_id, f"Internal error ({type(error).__name__}); the worker log has the "
                 f"details for job {job_id}", 500, attempt=attempt)


def _fail_when_database_returns(job_id: int, attempt: str | None) -> None:
    """Fail the job with 503 as soon as PostgreSQL answers again (bounded wait)."""
    deadline = time.monotonic() + DB_RETURN_WAIT_S
    while True:
        try:
            fail_job(job_id, DB_LOST_MESSAGE, 503, attempt=attempt)
            return
        except Exception as error:  # noqa: BLE001 - only a lost database is waited on
            db.session.remove()
            if not connection_lost(error) or time.monotonic() > deadline:
                raise
            time.sleep(1)


def rollback() -> None:
    """Roll back the job's session; on a connection the server ended that raises, and
    the server has dropped the transaction anyway, so the session is discarded."""
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - see above
        db.session.remove()


def connection_lost(error: BaseException) -> bool:
    """True when `error` is PostgreSQL going away (restart, crash, network), not a refusal."""
    if isinstance(error, DBAPIError):
        if error.connection_invalidated:
            return True
        error = error.orig
    if not isinstance(error, psycopg.OperationalError):
        return False
    return error.sqlstate is None or error.sqlstate.startswith(_CONNECTION_ENDED)


def _owned_by(job: DataIngestionJob, attempt: str) -> bool:
    return job.status == JobStatus.PROCESSING and job.info.attempt == attempt


def record_data_session(job_id: int, attempt: str) -> None:
    """Remember the PostgreSQL session (pid, start) of the job's data transaction (the
    ORM session's connection, which sinks write on), so the reaper can end it, and its
    locks, when it fails the job as worker lost."""
    pid, started = db.session.execute(text(
        "SELECT pid, backend_start::text FROM pg_stat_activity "
        "WHERE pid = pg_backend_pid()")).one()
    session = {"pid": pid, "started": started}
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


# -- progress and row errors (own short transactions, visible to pollers at once) ---------

def record_progress(job_id: int, progress: dict[str, Any], attempt: str | None = None) -> None:
    with db.engine.begin() as conn:
        _owned_update(conn, "metadata = metadata || jsonb_build_object('progress', "
                      "CAST(:p AS jsonb), 'heartbeat_at', CAST(:h AS text)), message = :m",
                      {"p": json.dumps(progress), "h": now().isoformat(),
                       "m": _progress_message(progress)}, job_id, attempt)


def _progress_message(progress: dict[str, Any]) -> str:
    if progress.get("message"):  # a kind's own words (e.g. a recalculation's step)
        return progress["message"]
    if progress.get("phase") == "validating":
        return "Checking the source"
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
