"""The RQ entry point: `run_job(job_id)` runs one job's pipeline inside a worker.

The job row is the truth: this module only reads it to build the provider, then lets
`run_pipeline()` drive the state through the tracker below, which calls the service.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import psycopg
from flask import current_app
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from webapp.errors import JobCancelled, JobFailure
from webapp.extensions import db
from webapp.ingestion.loading.preview import PreviewEntrySink, PreviewFactorSink
from webapp.ingestion.loading.sinks import EntrySink, FactorSink
from webapp.ingestion.loading.uploads import open_upload
from webapp.ingestion.providers import registry
from webapp.ingestion.providers.base import ProviderContext, RowError
from webapp.ingestion.providers.filters import scope_of
from webapp.jobs import service
from webapp.jobs.periodic import Periodic
from webapp.jobs.states import TargetType
from webapp.models import DataIngestionJob

log = logging.getLogger("webapp.ingestion")
PROGRESS_EVERY_S = 1.0  # progress writes are throttled to about one per second
CANCEL_CHECK_EVERY_S = 0.5
# After losing the database mid-job, how long the work horse keeps trying to record the
# failure (once a second) before leaving the job to the reaper.
DB_RETURN_WAIT_S = 600
DB_LOST_MESSAGE = ("The database connection was lost while the job ran (PostgreSQL "
                   "restarted or became unreachable); nothing was written. Retry the job.")
# SQLSTATEs of a connection the server ended: class 08 and the admin/crash shutdowns.
_CONNECTION_ENDED = ("08", "57P01", "57P02", "57P03")


class JobLog(logging.LoggerAdapter):
    """Adds the job id to every log line of a job."""

    def process(self, msg, kwargs):
        kwargs.setdefault("extra", {})["job_id"] = self.extra["job_id"]
        return msg, kwargs


class Tracker:
    """The pipeline's view of the service layer for one job (see base.JobTracker)."""

    def __init__(self, job_id: int, job_log: logging.LoggerAdapter, attempt: str | None = None):
        self.job_id = job_id
        self.attempt = attempt  # every write checks this run still owns the job
        self.log = job_log
        self.sink = None  # set once built: fail() must stop its loading before rollback
        self.started = time.monotonic()
        self._last_progress = 0.0
        self._phases_seen: set[str] = set()
        self._last_cancel_check = 0.0

    def start(self) -> None:
        self.started = time.monotonic()

    def progress(self, phase: str, *, fetched: int, processed: int, total: int | None) -> None:
        now = time.monotonic()
        # A phase is shown as soon as it starts; after that, at most one write a second.
        # (Batches alternate transforming and loading: throttling only repeats of the
        # last phase let through two writes, two commits, per batch.)
        if phase in self._phases_seen and now - self._last_progress < PROGRESS_EVERY_S:
            return
        self._phases_seen.add(phase)
        self._last_progress = now
        elapsed = max(now - self.started, 1e-6)
        rate = processed / elapsed if processed else fetched / elapsed
        progress: dict[str, Any] = {"phase": phase, "fetched": fetched, "processed": processed,
                                    "rows_per_s": round(rate)}
        if total:
            done = processed if phase == "loading" else fetched
            progress["total"] = total
            progress["percent"] = min(99, int(100 * done / total))
            progress["eta_s"] = round((total - done) / rate) if rate else None
        service.record_progress(self.job_id, progress, attempt=self.attempt)

    def row_errors(self, errors: list[RowError]) -> None:
        service.record_row_errors(self.job_id, [e.as_dict() for e in errors],
                                  attempt=self.attempt)

    def raise_if_cancelled(self) -> None:
        now = time.monotonic()
        if now - self._last_cancel_check < CANCEL_CHECK_EVERY_S:
            return
        self._last_cancel_check = now
        service.ensure_owned(self.job_id, self.attempt)  # cancelled, or failed as lost

    def complete(self, counts: dict[str, int], finish_load, *, fetched: int,
                 processed: int) -> None:
        counts = {**counts, **finish_load()}
        extra = self._after_load()
        elapsed = max(time.monotonic() - self.started, 1e-6)
        # The last throttled write may be seconds old: the final figures go with `completed`.
        progress = {"phase": "done", "fetched": fetched, "processed": processed,
                    "total": fetched, "percent": 100, "eta_s": 0,
                    "rows_per_s": round(processed / elapsed)}
        try:
            service.complete_job(self.job_id, counts, progress, attempt=self.attempt,
                                 extra=extra)
        except JobCancelled:
            db.session.rollback()
            self.log.info("job cancelled or taken away while finishing; nothing was written")
            return
        db.session.commit()
        self.log.info("job completed: %s", counts)

    def _after_load(self) -> dict[str, Any]:
        """A preview's rows, then everything it did rolled back (the job's state is
        committed alone); a real load's undo deadline, when it kept what it replaced."""
        if getattr(self.sink, "dry_run", False):
            preview = self.sink.preview
            db.session.rollback()
            return {"preview": preview}
        if getattr(self.sink, "keep_replaced", False):
            days = current_app.config["UNDO_KEEP_DAYS"]
            return {"undo_until": (service.now() + timedelta(days=days)).isoformat(
                timespec="seconds")}
        return {}

    def fail(self, error: BaseException) -> None:
        if self.sink is not None:
            self.sink.abort(error)
        _rollback()  # drops everything written so far: nothing half-written
        if isinstance(error, JobCancelled):
            self.log.info("job cancelled, or no longer this run's (failed as worker lost): "
                          "stopped, nothing was written")
            return
        if isinstance(error, JobFailure):
            message, code = error.message, error.status_code
        elif connection_lost(error):
            self._fail_when_database_returns()
            return
        else:
            # Unknown exceptions may carry anything (URLs, payloads): show only the kind.
            message = (f"Internal error ({type(error).__name__}); the worker log has the "
                       f"details for job {self.job_id}")
            code = 500
        service.fail_job(self.job_id, message, code, attempt=self.attempt)

    def _fail_when_database_returns(self) -> None:
        """Fail the job with 503 as soon as PostgreSQL answers again (bounded wait)."""
        deadline = time.monotonic() + DB_RETURN_WAIT_S
        while True:
            try:
                service.fail_job(self.job_id, DB_LOST_MESSAGE, 503, attempt=self.attempt)
                return
            except Exception as error:  # noqa: BLE001 - only a lost database is waited on
                db.session.remove()
                if not connection_lost(error) or time.monotonic() > deadline:
                    raise
                time.sleep(1)


def connection_lost(error: BaseException) -> bool:
    """True when `error` is PostgreSQL going away (restart, crash, network), not a refusal."""
    if isinstance(error, DBAPIError):
        if error.connection_invalidated:
            return True
        error = error.orig
    if not isinstance(error, psycopg.OperationalError):
        return False
    return error.sqlstate is None or error.sqlstate.startswith(_CONNECTION_ENDED)


def _rollback() -> None:
    """Roll back the job's session; on a connection the server ended that raises, and
    the server has dropped the transaction anyway, so the session is discarded."""
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - see above
        db.session.remove()


class Heartbeat(Periodic):
    """Proves the job is alive; the reaper fails processing jobs whose heartbeat stops.
    Stops by itself once the job is no longer this attempt's."""

    def __init__(self, app, job_id: int, interval: float, attempt: str | None = None):
        super().__init__(app, interval, self.beat, name=f"heartbeat-{job_id}", job_id=job_id)
        self.attempt = attempt

    def beat(self) -> None:
        try:
            service.heartbeat(self.job_id, attempt=self.attempt)
        except JobCancelled:
            self.stopped.set()


def _context(job: DataIngestionJob, job_log: logging.LoggerAdapter) -> ProviderContext:
    request_meta = (job.meta or {}).get("request", {})
    upload = request_meta.get("upload")
    return ProviderContext(
        job_id=job.id, module_id=job.module_id, module_type=job.module.module_type,
        inventory_id=job.inventory_id, year=job.year, target_type=job.target_type,
        filters=request_meta.get("filters") or {}, config=request_meta.get("config") or {},
        factor_type_id=job.factor_type_id,
        factor_type_slug=job.factor_type.slug if job.factor_type else None,
        settings=current_app.config,
        open_upload=(lambda: open_upload(upload["id"])) if upload else None,
        log=job_log)


def _data_session() -> dict[str, Any]:
    """The PostgreSQL session of the job's data transaction (the session's connection,
    which the sink writes on): the reaper ends it, with its locks, if this run is lost."""
    pid, started = db.session.execute(text(
        "SELECT pid, backend_start::text FROM pg_stat_activity "
        "WHERE pid = pg_backend_pid()")).one()
    return {"pid": pid, "started": started}


def _sink(job: DataIngestionJob, ctx: ProviderContext):
    raw = db.session.connection().connection.driver_connection
    dry_run = bool((job.meta or {}).get("dry_run"))
    keep = current_app.config["UNDO_STORE"]
    if job.target_type == TargetType.FACTORS:
        factor_sink = PreviewFactorSink if dry_run else FactorSink
        return factor_sink(raw, job_id=job.id, factor_type_id=job.factor_type_id,
                           year=job.year, keep_replaced=keep)
    provider_cls = registry.resolve(ctx.module_type, job.provider_type, job.target_type)
    entry_sink = PreviewEntrySink if dry_run else EntrySink
    return entry_sink(raw, job_id=job.id, inventory_id=job.inventory_id,
                      module_id=job.module_id, year=job.year, source=job.provider_type,
                      scope=scope_of(provider_cls.filters, ctx.filters), keep_replaced=keep,
                      confirm_replace=bool(ctx.config.get("confirm_replace")))


def run_job(job_id: int) -> str:
    """Run one ingestion job to a final state. Returns the final status (for `rq info`)."""
    app = current_app._get_current_object()
    db.engine.dispose(close=False)  # forked work horse: never share the parent's sockets
    job_log = JobLog(log, {"job_id": job_id})
    from rq import get_current_job
    rq_job = get_current_job()
    worker_name = (rq_job.worker_name if rq_job else None) or "inline"
    attempt = uuid.uuid4().hex
    if not service.start_job(job_id, worker_name, attempt):
        status = db.session.get(DataIngestionJob, job_id).status
        job_log.info("job is %s, not pending: not started", status)
        return status
    job_log.info("job started on %s", worker_name)
    heartbeat = Heartbeat(app, job_id, app.config["HEARTBEAT_INTERVAL_S"], attempt)
    heartbeat.start()
    try:
        with _tuned_for_bulk_work():
            _build_and_run(job_id, job_log, attempt)
        # Once the provider has closed (signed out): a completed load's figures get
        # recalculated (the job is ended, so this never changes how it ended).
        service.after_load(job_id)
    finally:
        heartbeat.stopped.set()
        db.session.remove()
    return db.session.get(DataIngestionJob, job_id).status


def _build_and_run(job_id: int, job_log: logging.LoggerAdapter, attempt: str) -> None:
    job = db.session.get(DataIngestionJob, job_id)
    if job.target_type == TargetType.EMISSIONS:  # not a load: no source, no sink
        from webapp.emissions.job import run_recalculation
        run_recalculation(job_id, job_log, attempt)
        return
    tracker = Tracker(job_id, job_log, attempt)
    if (job.meta or {}).get("undo_of"):
        from webapp.ingestion.undo import run_undo

        run_undo(job, tracker,
                 lambda: service.record_data_session(job_id, attempt, _data_session()))
        return
    try:
        ctx = _context(job, job_log)
        tracker.sink = sink = _sink(job, ctx)
        service.record_data_session(job_id, attempt, _data_session())
        provider = registry.build(ctx, job.provider_type, tracker=tracker, sink=sink)
    except Exception as error:  # noqa: BLE001 - e.g. a provider removed since enqueue
        job_log.exception("could not build the provider")
        tracker.fail(error)
    else:
        asyncio.run(provider.run_pipeline())


@contextlib.contextmanager
def _tuned_for_bulk_work() -> Iterator[None]:
    """Interpreter settings for the length of a job, restored after it, so a worker that
    runs jobs without forking is left as it was. Each was measured on a million-row CSV.

    - gc.freeze(): everything alive now (the app, SQLAlchemy, every import) outlives the
      job; left out of the collector's scans, which a million rows trigger thousands of
      times. A quarter of the job's Python time.
    - A 1 ms GIL switch interval instead of 5 ms: the sink's loader thread, woken when
      PostgreSQL is ready for more, gets to send the next batch sooner instead of
      leaving the database idle. About 10 % faster loads.
    """
    switch_interval = sys.getswitchinterval()
    gc.freeze()
    sys.setswitchinterval(0.001)
    try:
        yield
    finally:
        sys.setswitchinterval(switch_interval)
        gc.unfreeze()
