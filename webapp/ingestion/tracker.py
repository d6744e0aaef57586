"""The pipeline's view of the job engine for one job (providers/base.JobTracker): it
turns a provider's progress, row errors, completion and failure into the job's state
through webapp/jobs/lifecycle.py, throttling progress writes and cancel checks."""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

from flask import current_app

from webapp.errors import JobCancelled
from webapp.extensions import db
from webapp.ingestion.providers.base import RowError
from webapp.jobs import lifecycle, service

PROGRESS_EVERY_S = 1.0  # progress writes are throttled to about one per second
CANCEL_CHECK_EVERY_S = 0.5


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
        lifecycle.record_progress(self.job_id, progress, attempt=self.attempt)

    def row_errors(self, errors: list[RowError]) -> None:
        lifecycle.record_row_errors(self.job_id, [e.as_dict() for e in errors],
                                    attempt=self.attempt)

    def raise_if_cancelled(self) -> None:
        now = time.monotonic()
        if now - self._last_cancel_check < CANCEL_CHECK_EVERY_S:
            return
        self._last_cancel_check = now
        lifecycle.ensure_owned(self.job_id, self.attempt)  # cancelled, or failed as lost

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
            lifecycle.complete_job(self.job_id, counts, progress, attempt=self.attempt,
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
        lifecycle.rollback()  # drops everything written so far: nothing half-written
        lifecycle.end_with(self.job_id, error, self.attempt, self.log)
