"""What callers ask the job service for, and the checks every kind of job shares.

A `SyncRequest` is a request as sent (the API, the pages, a schedule, or a retry's
stored request): nothing in it is trusted yet. Its job kind (webapp/jobs/kinds.py)
checks it into a `Checked` request, in the form the job row stores.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, BinaryIO

from webapp import access
from webapp.errors import Invalid, NotFound
from webapp.extensions import db
from webapp.models import DataIngestionJob, FactorType, Module
from webapp.text import MAX_REQUEST_JSON_BYTES, clip_cell, json_size

# A key containing any of these is never stored (config, filters, at every depth).
SECRET_HINTS = ("secret", "password", "passwd", "token", "jwt", "key", "credential",
                "authorization", "cookie", "session", "private")


@dataclass(frozen=True)
class SyncRequest:
    """A request for a job. `new_file` (stream, filename, content type) is an upload to
    store once the request is known valid; a retry passes the stored file's `upload_id`."""

    module_id: int | None  # None for a job of no module (a units import)
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
    undo_of: int | None = None  # an undo of this completed load (ingestion/undo.py)
    # An institution-wide sync (webapp/feeds/): no module, the module type rows go to.
    module_type: str | None = None

    @property
    def dry_run(self) -> bool:
        return isinstance(self.config, dict) and self.config.get("dry_run") is True

    @classmethod
    def retry_of_job(cls, job: DataIngestionJob) -> SyncRequest:
        """The request a failed or cancelled job was created from (same file, if any)."""
        stored = job.info.request
        return cls(module_id=job.module_id, provider_type=job.provider_type,
                   target_type=job.target_type, year=job.year,
                   filters=stored.get("filters"), config=stored.get("config"),
                   factor_type_id=job.factor_type_id,
                   upload_id=(stored.get("upload") or {}).get("id"), retry_of=job.id,
                   module_type=stored.get("module_type"))


@dataclass(frozen=True)
class Checked:
    """A request that passed its kind's checks, in the form the job row stores.
    `stored_request` is kept as the job's metadata.request (secrets already dropped);
    `exclusive`: the one-active-job rule applies (a preview writes nothing, so it never
    waits for the slice)."""

    module: Module | None  # None: the job belongs to no module (a units job)
    factor_type: FactorType | None
    year: int | None
    stored_request: dict[str, Any]
    exclusive: bool = True


def get_module(module_id: int) -> Module:
    """The module, if the caller may see it (webapp/access.py).

    Raises:
        NotFound: no such module, or one out of the caller's sight (the same sentence).
    """
    missing = f"module {module_id} does not exist"
    module = db.session.get(Module, module_id)
    if module is None:
        raise NotFound(missing)
    access.check_inventory(module.inventory_id, missing)
    return module


def check_year(module: Module, year: Any) -> int:
    """The job's year: the module's inventory's, and no other."""
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


def check_size(name: str, value: Any) -> None:
    """At most MAX_REQUEST_JSON_BYTES: the job stores the value and every status shows it."""
    size = json_size(value)
    if size > MAX_REQUEST_JSON_BYTES:
        raise Invalid(f"{name} is {size:,} bytes of JSON; at most "
                      f"{MAX_REQUEST_JSON_BYTES // 1024} KB ({MAX_REQUEST_JSON_BYTES:,} bytes) "
                      "is accepted", field=name, limit_bytes=MAX_REQUEST_JSON_BYTES)


def without_secrets(value: Any) -> Any:
    """`value` without the keys that look like secrets, at every depth (lists included)."""
    if isinstance(value, dict):
        return {k: without_secrets(v) for k, v in value.items()
                if not any(hint in str(k).lower() for hint in SECRET_HINTS)}
    if isinstance(value, list):
        return [without_secrets(item) for item in value]
    return value
