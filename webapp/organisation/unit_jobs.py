"""Importing the unit tree as a tracked job (SPEC §13): `POST /api/v1/units/import` (a
CSV file, provider `csv_upload`) and `POST /api/v1/units/sync` (a directory provider),
target `units`, with progress, row errors, history, retry and undo like any load.

The rows are validated and upserted by units.validate_rows / units.import_units, as
`flask units import` does; the job adds the policy for bad rows (`on_error`: abort, the
default, writes nothing if any row is bad; skip imports the others), keeps what the
import changed for undo (unit_undo.py), and completes in the import's own transaction.
A units job belongs to no module, inventory or year; one runs at a time.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, select, text

from webapp import access
from webapp.errors import (
    BadRequest,
    Invalid,
    InvalidRows,
    JobCancelled,
    JobFailure,
    ProviderUnavailable,
    Unavailable,
)
from webapp.extensions import db
from webapp.ingestion.loading import uploads
from webapp.ingestion.providers.csv_upload.workbook_files import check_sheet
from webapp.jobs import kinds, lifecycle, service
from webapp.jobs.requests import Checked, SyncRequest, check_size, without_secrets
from webapp.models import DataIngestionJob, TargetType, User
from webapp.organisation import unit_undo
from webapp.organisation.directory import DIRECTORY_PROVIDERS, UNIT_FIELDS
from webapp.organisation.units import import_units, validate_rows
from webapp.text import clip_cell

ON_ERROR_POLICIES = ("abort", "skip")
BATCH_ROWS = 5000


class UnitsImportKind(kinds.JobKind):
    """The unit tree from a file or a directory provider, upserted by code."""

    name = "units_import"
    audit_action = "units.import"
    changes_data = False  # the tree changes no figure: nothing to recalculate

    def claims(self, request: SyncRequest) -> bool:
        return request.target_type == TargetType.UNITS and request.undo_of is None

    def check(self, request: SyncRequest) -> Checked:
        provider_cls = DIRECTORY_PROVIDERS.get(request.provider_type) if isinstance(
            request.provider_type, str) else None
        if provider_cls is None:
            valid = sorted(DIRECTORY_PROVIDERS)
            raise Invalid(f"provider {clip_cell(repr(request.provider_type))} cannot import "
                          f"units; valid providers: {', '.join(valid)}",
                          valid_providers=valid)
        reason = provider_cls.unavailable_reason(current_app.config)
        if reason:
            raise Unavailable(reason, provider_type=request.provider_type)
        if provider_cls.needs_upload and request.upload_id is None and request.new_file is None:
            raise BadRequest(f"{request.provider_type} needs a CSV file or an Excel workbook "
                             "in the 'file' field (multipart/form-data)")
        check_size("config", request.config)
        stored = {"provider_type": request.provider_type, "filters": {},
                  "config": _clean_config(request.config)}
        if request.upload_id is not None:
            stored["upload"] = uploads.describe(request.upload_id)
        return Checked(None, None, None, stored)

    def prepare(self, request: SyncRequest, checked: Checked, user: User | None) -> Checked:
        """Store the uploaded file, now that the request is known valid."""
        if request.new_file is None:
            return checked
        upload = uploads.store_upload(*request.new_file, user.id if user else None)
        return replace(checked, stored_request={**checked.stored_request,
                                                "upload": uploads.describe(upload.id)})

    def run(self, job: DataIngestionJob, attempt: str, log: logging.LoggerAdapter) -> None:
        run_units_import(job, attempt, log)

    def completion_message(self, job: DataIngestionJob, counts: dict[str, Any],
                           extra: dict[str, Any]) -> str:
        message = (f"Imported units: {counts.get('inserted', 0):,} created, "
                   f"{counts.get('updated', 0):,} updated, "
                   f"{counts.get('unchanged', 0):,} unchanged")
        skipped = counts.get("skipped", 0)
        if skipped:
            message += f"; skipped {skipped:,} invalid row{'s' if skipped != 1 else ''}"
        return message


def units_request(provider_type: Any, config: Any = None,
                  new_file: tuple | None = None) -> SyncRequest:
    """The request for a units job (the API's import and sync)."""
    return SyncRequest(module_id=None, provider_type=provider_type,
                       target_type=TargetType.UNITS, year=None, config=config,
                       new_file=new_file)


def units_jobs(*, limit: int = 20, offset: int = 0) -> tuple[list[DataIngestionJob], int]:
    """The unit tree's jobs, newest first, and their total: an admin's (their rows name
    units of the whole tree), so anyone else gets an empty list."""
    query = select(DataIngestionJob).where(
        DataIngestionJob.target_type == TargetType.UNITS,
        access.of_visible_inventory(DataIngestionJob.inventory_id))
    total = db.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    jobs = db.session.execute(query.order_by(DataIngestionJob.id.desc())
                              .limit(limit).offset(offset)).scalars().all()
    return list(jobs), total


def run_units_import(job: DataIngestionJob, attempt: str, log: logging.LoggerAdapter) -> None:
    """In the worker: read, validate, import and complete in one transaction; any failure
    rolls everything back and ends the job with its cause."""
    job_id, on_error = job.id, job.info.config.get("on_error", "abort")
    started = time.monotonic()
    try:
        lifecycle.record_data_session(job_id, attempt)
        provider = _provider(job)
        _progress(job_id, attempt, "fetching", 0, started)
        rows, errors, fetched = _validated(provider.fetch_units())
        lifecycle.ensure_owned(job_id, attempt)
        _progress(job_id, attempt, "loading", fetched, started)
        # As import_units does, before the snapshot: what undo keeps is the tree as this
        # import found it, whatever the CLI does meanwhile (it waits).
        db.session.execute(text("LOCK TABLE units IN SHARE ROW EXCLUSIVE MODE"))
        before = unit_undo.unit_states()
        counts, errors = _import(rows, errors, on_error)
        if errors:  # on their own connection: kept whether the import commits or not
            lifecycle.record_row_errors(
                job_id, [e.as_dict() for e in provider.with_cells(errors)], attempt)
        if counts is None:
            raise _invalid(errors)
        unit_undo.keep_replaced(job_id, before, list({row["code"]: None for _, row in rows}))
        days = current_app.config["UNDO_KEEP_DAYS"]
        until = (service.now() + timedelta(days=days)).isoformat(timespec="seconds")
        progress = {"phase": "done", "fetched": fetched, "processed": fetched,
                    "total": fetched, "percent": 100}
        lifecycle.complete_job(job_id, counts, progress, attempt=attempt,
                               extra={"undo_until": until})
        db.session.commit()
    except Exception as error:  # noqa: BLE001 - every failure must end the job
        lifecycle.rollback()
        if not isinstance(error, JobCancelled | JobFailure):
            log.exception("units import crashed")
        lifecycle.end_with(job_id, error, attempt, log)
        return
    log.info("units import completed: %s", counts)


def _provider(job: DataIngestionJob):
    provider_cls = DIRECTORY_PROVIDERS.get(job.provider_type)
    if provider_cls is None:  # unregistered since the job was created
        raise ProviderUnavailable(f"provider {job.provider_type!r} is no longer registered")
    reason = provider_cls.unavailable_reason(current_app.config)
    if reason:
        raise ProviderUnavailable(reason)
    upload = job.info.upload
    return provider_cls(current_app.config,
                        open_upload=(lambda: uploads.open_upload(upload["id"])) if upload
                        else None, sheet=job.info.config.get("sheet"))


def _validated(units) -> tuple[list[tuple[int, dict[str, Any]]], list, int]:
    """The provider's rows through units.validate_rows, in batches: (valid rows with their
    numbers, row errors, rows read)."""
    rows: list[tuple[int, dict[str, Any]]] = []
    errors: list = []
    numbers: list[int] = []
    cells: list[list[str]] = []
    fetched = 0

    def validate() -> None:
        clean, found = validate_rows(numbers, cells, list(UNIT_FIELDS))
        rows.extend(clean)
        errors.extend(found)
        numbers.clear()
        cells.clear()

    for unit in units:
        fetched += 1
        if "_errors" in unit:  # a workbook's error cells (directory.file_units)
            errors.extend(unit["_errors"])
            continue
        numbers.append(unit.get("_row") or fetched)
        cells.append([_cell(unit.get(name)) for name in UNIT_FIELDS])
        if len(numbers) >= BATCH_ROWS:
            validate()
    if numbers:
        validate()
    if not fetched:
        raise InvalidRows("the source has no units; nothing was imported")
    return rows, errors, fetched


def _cell(value: Any) -> str:
    """A provider's value as a file would have it (the validator parses text)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _import(rows: list[tuple[int, dict[str, Any]]], errors: list,
            on_error: str) -> tuple[dict[str, int] | None, list]:
    """Import under the job's policy: (counts, the row errors to report, by row); counts
    are None when nothing was written.

    abort: any bad row (a bad cell, or a repeat, unknown parent or cycle found by
    import_units) and nothing is written. skip: the rows import_units refuses are set
    aside and it is asked again, until what is left imports; a row whose parent was set
    aside is refused in turn, so the tree written is always whole. Every row refused:
    nothing is written either (a failure, not a success with nothing in it).
    """
    refused = list(errors)
    while True:
        # With the validator's errors, import_units writes nothing and adds its own.
        result = import_units(rows, None if on_error == "skip" else refused)
        if not result.errors:
            break
        if on_error == "abort":
            return None, result.errors
        bad = {error.row for error in result.errors}
        refused += result.errors
        rows = [(number, row) for number, row in rows if number not in bad]
    refused.sort(key=lambda error: error.row)  # stable: a row's columns keep their order
    if refused and not rows:
        return None, refused
    skipped = len({error.row for error in refused})
    return {**result.counts, "skipped": skipped} if skipped else result.counts, refused


def _invalid(errors: list) -> InvalidRows:
    rows = len({error.row for error in errors})
    return InvalidRows(f"{rows:,} row{'s' if rows != 1 else ''} of the units file "
                       f"{'are' if rows != 1 else 'is'} invalid; no unit was changed")


def _progress(job_id: int, attempt: str, phase: str, fetched: int, started: float) -> None:
    words = {"fetching": "Reading the units", "loading": f"Importing {fetched:,} units"}
    lifecycle.record_progress(job_id, {
        "phase": phase, "fetched": fetched, "processed": 0, "message": words[phase],
        "elapsed_s": round(time.monotonic() - started, 1)}, attempt=attempt)


def _clean_config(config: Any) -> dict[str, Any]:
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise BadRequest("config must be a JSON object")
    on_error = config.get("on_error")
    if on_error is not None and on_error not in ON_ERROR_POLICIES:
        raise Invalid(f"config.on_error must be 'abort' or 'skip', got "
                      f"{clip_cell(repr(on_error))}", field="config.on_error")
    check_sheet(config)
    return without_secrets(config)


kinds.register(UnitsImportKind())
