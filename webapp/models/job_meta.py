"""Typed reads of a job's JSONB metadata: the one place that names its keys.

The metadata holds what a job's row has no column for: the request it was created from,
its progress and counts, the links between jobs (retry, preview, undo, schedule) and the
worker-side facts (attempt, heartbeat). Code reads them as `job.info.dry_run` instead of
`(job.meta or {}).get("dry_run")` in many files, so a renamed key is one change here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any


class _Key:
    """One metadata key read as an attribute, with its default (a type such as `dict`
    makes a fresh empty value, so no caller shares a mutable default)."""

    def __init__(self, default: Any = None):
        self.default = default

    def __set_name__(self, owner: type, name: str) -> None:
        self.key = name

    def __get__(self, meta: JobMeta | None, owner: type) -> Any:
        if meta is None:
            return self
        value = meta.raw.get(self.key)
        if value is not None:
            return value
        return self.default() if isinstance(self.default, type) else self.default


class JobMeta:
    """A read-only view of one job's metadata (`DataIngestionJob.info`)."""

    kind = _Key()  # the job kind's name (webapp/jobs/kinds.py)
    request = _Key(dict)  # {provider_type, filters, config, upload?} as checked
    progress = _Key(dict)
    counts = _Key(dict)
    errors = _Key(list)
    errors_total = _Key(0)
    retry_of = _Key()
    retried_by = _Key()
    preview_of = _Key()
    applied_by = _Key()
    undo_of = _Key()
    undone_by = _Key()
    undo_until = _Key()
    schedule_id = _Key()
    preview = _Key()
    attempt = _Key()
    worker = _Key()
    heartbeat_at = _Key()
    data_session = _Key()
    rerun_requested = _Key(False)

    def __init__(self, raw: dict[str, Any] | None):
        self.raw = raw or {}

    @property
    def dry_run(self) -> bool:
        return bool(self.raw.get("dry_run"))

    @property
    def config(self) -> dict[str, Any]:
        return self.request.get("config") or {}

    @property
    def filters(self) -> dict[str, Any]:
        return self.request.get("filters") or {}

    @property
    def upload(self) -> dict[str, Any] | None:
        return self.request.get("upload")

    @property
    def processing_started_at(self) -> datetime | None:
        raw = self.raw.get("processing_started_at")
        return datetime.fromisoformat(raw) if raw else None
