"""The RQ entry point: `run_job(job_id)` runs one job in a worker, as its kind says.

The job row is the truth: the run starts it (pending → processing, under a fresh
`attempt`), keeps a heartbeat going, hands the job to its kind, and announces the end
(signals.py) once the final state is committed.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import sys
import uuid
from collections.abc import Iterator

from flask import current_app

from webapp.errors import JobCancelled
from webapp.extensions import db
from webapp.jobs import kinds, lifecycle, signals
from webapp.jobs.periodic import Periodic
from webapp.jobs.states import JobStatus
from webapp.models import DataIngestionJob

log = logging.getLogger("webapp.jobs")


class JobLog(logging.LoggerAdapter):
    """Adds the job id to every log line of a job."""

    def process(self, msg, kwargs):
        kwargs.setdefault("extra", {})["job_id"] = self.extra["job_id"]
        return msg, kwargs


class Heartbeat(Periodic):
    """Proves the job is alive; the reaper fails processing jobs whose heartbeat stops.
    Stops by itself once the job is no longer this attempt's."""

    def __init__(self, app, job_id: int, interval: float, attempt: str | None = None):
        super().__init__(app, interval, self.beat, name=f"heartbeat-{job_id}", job_id=job_id)
        self.attempt = attempt

    def beat(self) -> None:
        try:
            lifecycle.heartbeat(self.job_id, attempt=self.attempt)
        except JobCancelled:
            self.stopped.set()


def run_job(job_id: int) -> str:
    """Run one job to a final state. Returns the final status (for `rq info`)."""
    app = current_app._get_current_object()
    db.engine.dispose(close=False)  # forked work horse: never share the parent's sockets
    job_log = JobLog(log, {"job_id": job_id})
    from rq import get_current_job
    rq_job = get_current_job()
    worker_name = (rq_job.worker_name if rq_job else None) or "inline"
    attempt = uuid.uuid4().hex
    if not lifecycle.start_job(job_id, worker_name, attempt):
        status = db.session.get(DataIngestionJob, job_id).status
        job_log.info("job is %s, not pending: not started", status)
        return status
    job_log.info("job started on %s", worker_name)
    heartbeat = Heartbeat(app, job_id, app.config["HEARTBEAT_INTERVAL_S"], attempt)
    heartbeat.start()
    try:
        job = db.session.get(DataIngestionJob, job_id)
        kind = kinds.of_job(job)
        with _tuned_for_bulk_work():
            kind.run(job, attempt, job_log)
        # After the kind has closed its source (Tableau signs out first), so a receiver
        # never delays the end of the job itself.
        _announce_end(job_id, kind)
    finally:
        heartbeat.stopped.set()
        db.session.remove()
    return db.session.get(DataIngestionJob, job_id).status


def _announce_end(job_id: int, kind: kinds.JobKind) -> None:
    db.session.expire_all()
    status = db.session.get(DataIngestionJob, job_id).status
    db.session.rollback()  # receivers start from a clean session
    if status == JobStatus.COMPLETED and kind.changes_data:
        signals.announce(signals.data_committed, job_id)
    signals.announce(signals.job_ended, job_id, status=status)


@contextlib.contextmanager
def _tuned_for_bulk_work() -> Iterator[None]:
    """Interpreter settings for the length of a job, restored after it, so a worker that
    runs jobs without forking is left as it was. Each was measured on a million-row CSV.

    - gc.freeze(): everything alive now (the app, SQLAlchemy, every import) outlives the
      job; left out of the collector's scans, which a million rows trigger thousands of
      times. A quarter of the job's Python time.
    - A collection every 10,000 allocations instead of 700: a load makes millions of
      short-lived, acyclic objects (cells, rows) that reference counting frees; the
      collector walking them 700 at a time took another third of the CSV path's Python
      time (5.1 s → 3.5 s a million rows, with the freeze). Cycles are still collected.
    - A 1 ms GIL switch interval instead of 5 ms: the sink's loader thread, woken when
      PostgreSQL is ready for more, gets to send the next batch sooner instead of
      leaving the database idle. About 10 % faster loads.
    """
    switch_interval, thresholds = sys.getswitchinterval(), gc.get_threshold()
    gc.freeze()
    gc.set_threshold(10_000, *thresholds[1:])
    sys.setswitchinterval(0.001)
    try:
        yield
    finally:
        sys.setswitchinterval(switch_interval)
        gc.set_threshold(*thresholds)
        gc.unfreeze()
