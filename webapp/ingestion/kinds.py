"""Loads and previews as job kinds: a provider's source through its pipeline into a sink.

A load replaces its provider's slice (data entries) or upserts factors; a preview
(`config.dry_run`) runs the same pipeline into a sink that writes nothing, and "Load it"
(`apply_preview`) loads the previewed request for real.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any, BinaryIO

import psycopg
from flask import current_app

from webapp.errors import BadRequest, Conflict, Invalid, NotFound, Unavailable
from webapp.extensions import db
from webapp.ingestion.loading import uploads
from webapp.ingestion.loading.exclusion import refuse_while_institution_load
from webapp.ingestion.loading.preview import PreviewEntrySink, PreviewFactorSink
from webapp.ingestion.loading.sinks import EntrySink, FactorSink
from webapp.ingestion.providers import registry
from webapp.ingestion.providers.base import ProviderContext
from webapp.ingestion.providers.csv_upload.workbook_files import check_sheet
from webapp.ingestion.providers.filters import clean_filters, scope_of
from webapp.ingestion.tracker import Tracker
from webapp.jobs import kinds, lifecycle, service
from webapp.jobs.queries import get_job
from webapp.jobs.requests import (
    Checked,
    SyncRequest,
    check_size,
    check_year,
    get_module,
    without_secrets,
)
from webapp.jobs.service import create_job
from webapp.jobs.states import JobStatus
from webapp.models import DataIngestionJob, FactorType, Module, TargetType, User
from webapp.text import clip_cell

ON_ERROR_POLICIES = ("abort", "skip")
LOAD_TARGETS = (TargetType.DATA_ENTRIES, TargetType.FACTORS)


class LoadKind(kinds.JobKind):
    """A provider's rows into data entries (replacing its slice) or factors (upserted)."""

    name = "load"
    writes_nothing = False  # a preview's sinks write nothing (and hold no slice)

    def claims(self, request: SyncRequest) -> bool:
        return (request.target_type in LOAD_TARGETS and request.undo_of is None
                and not request.dry_run and request.module_type is None)

    def check(self, request: SyncRequest) -> Checked:
        if not isinstance(request.provider_type, str) or not request.provider_type:
            raise BadRequest("provider_type is required (a string)")
        module = get_module(request.module_id)
        factor_type = _check_factor_type(module, request.target_type, request.factor_type_id)
        year = check_year(module, request.year)
        provider_cls = registry.resolve(module.module_type, request.provider_type,
                                        request.target_type)
        stored = stored_load_request(request, provider_cls)
        return Checked(module, factor_type, year, stored, exclusive=not self.writes_nothing)

    def prepare(self, request: SyncRequest, checked: Checked, user: User | None) -> Checked:
        """Refuse while the slice is busy (known only when a job is asked for, not when a
        schedule is saved), then store the uploaded file."""
        self.refuse_while_busy(checked)
        if request.new_file is None:
            return checked
        upload = uploads.store_upload(*request.new_file, user.id if user else None)
        return replace(checked, stored_request={**checked.stored_request,
                                                "upload": uploads.describe(upload.id)})

    def refuse_while_busy(self, checked: Checked) -> None:
        """Conflict (409) while every unit's slices of this module's type are syncing."""
        if (checked.module is not None and not self.writes_nothing
                and checked.stored_request.get("factor_type_id") is None
                and checked.factor_type is None):
            refuse_while_institution_load(checked.module.module_type, checked.year)

    def run(self, job: DataIngestionJob, attempt: str, log: logging.LoggerAdapter) -> None:
        tracker = Tracker(job.id, log, attempt)
        try:
            ctx = self.context(job, log)
            tracker.sink = sink = self.sink(job, ctx)
            lifecycle.record_data_session(job.id, attempt)
            provider = registry.build(ctx, job.provider_type, tracker=tracker, sink=sink)
        except Exception as error:  # noqa: BLE001 - e.g. a provider removed since enqueue
            log.exception("could not build the provider")
            tracker.fail(error)
        else:
            asyncio.run(provider.run_pipeline())

    def context(self, job: DataIngestionJob, log: logging.LoggerAdapter) -> ProviderContext:
        """What the provider is told about the job."""
        return _context(job, log)

    def sink(self, job: DataIngestionJob, ctx: ProviderContext):
        """Where the rows go: one connection, the job's one transaction."""
        raw = db.session.connection().connection.driver_connection
        keep = current_app.config["UNDO_STORE"]
        if job.target_type == TargetType.FACTORS:
            factor_sink = PreviewFactorSink if self.writes_nothing else FactorSink
            return factor_sink(raw, job_id=job.id, factor_type_id=job.factor_type_id,
                               year=job.year, keep_replaced=keep)
        provider_cls = registry.resolve(ctx.module_type, job.provider_type, job.target_type)
        entry_sink = PreviewEntrySink if self.writes_nothing else EntrySink
        return entry_sink(raw, job_id=job.id, inventory_id=job.inventory_id,
                          module_id=job.module_id, year=job.year, source=job.provider_type,
                          scope=scope_of(provider_cls.filters, ctx.filters),
                          keep_replaced=keep, connect=connector(),
                          confirm_replace=bool(ctx.config.get("confirm_replace")))

    def completion_message(self, job: DataIngestionJob, counts: dict[str, Any],
                           extra: dict[str, Any]) -> str:
        loaded = counts.get("inserted", 0) + counts.get("updated", 0)
        message = f"Loaded {loaded:,} row{'s' if loaded != 1 else ''}"
        if counts.get("unchanged"):
            message += f", {counts['unchanged']:,} unchanged"
        if counts.get("deleted"):
            message += f" (replaced {counts['deleted']:,} from the previous sync)"
        skipped = counts.get("skipped", 0)
        if skipped:
            message += f"; skipped {skipped:,} invalid row{'s' if skipped != 1 else ''}"
        return message


class PreviewKind(LoadKind):
    """The whole load into a sink that writes nothing: counts and the first rows."""

    name = "preview"
    audit_action = "job.preview"
    changes_data = False
    writes_nothing = True

    def claims(self, request: SyncRequest) -> bool:
        return (request.target_type in LOAD_TARGETS and request.undo_of is None
                and request.dry_run and request.module_type is None)

    def completion_message(self, job: DataIngestionJob, counts: dict[str, Any],
                           extra: dict[str, Any]) -> str:
        loaded = super().completion_message(job, counts, extra)
        return ("Preview: " + loaded.replace("Loaded", "would load", 1).replace(
            "skipped", "would skip", 1) + "; nothing was written")


def apply_preview(job_id: int, user: User | None) -> DataIngestionJob:
    """"Load it": a new job loads a completed preview's request and file for real.

    Raises:
        NotFound, Conflict (not a completed preview, or already applied), and what
        create_job raises (e.g. 409 while another load of the slice runs).
    """
    old = get_job(job_id)
    service.require_change(old, "loading this preview")
    if not old.info.dry_run or old.status != JobStatus.COMPLETED:
        raise Conflict(f"job {job_id} is not a completed preview; only those can be loaded",
                       status=str(old.status))
    if old.info.applied_by:
        raise Conflict(f"job {job_id} was already loaded by job {old.info.applied_by}",
                       applied_by=old.info.applied_by)
    stored = SyncRequest.retry_of_job(old)
    # Loading what the preview showed, counts and rows, confirms its replacement.
    config = {**{k: v for k, v in (stored.config or {}).items() if k != "dry_run"},
              "confirm_replace": True}
    return create_job(replace(stored, config=config, retry_of=None, preview_of=job_id), user)


def stored_load_request(request: SyncRequest, provider_cls, file_hint: str = "",
                        refuse_unneeded_file: bool = False) -> dict[str, Any]:
    """The checks every load shares once its provider is known (available here, its file
    sent, filters and config), and the request as the job stores it.

    Raises:
        Unavailable, BadRequest, Invalid.
    """
    reason = provider_cls.unavailable_reason(current_app.config)
    if reason:
        raise Unavailable(reason, provider_type=request.provider_type)
    has_file = request.upload_id is not None or request.new_file is not None
    if provider_cls.needs_upload and not has_file:
        raise BadRequest(f"{request.provider_type} needs a CSV file or an Excel workbook "
                         f"in the 'file' field (multipart/form-data){file_hint}")
    if refuse_unneeded_file and has_file and not provider_cls.needs_upload:
        raise BadRequest(f"{request.provider_type} reads its own source; send no file")
    for name in ("filters", "config"):
        check_size(name, getattr(request, name))
    filters = clean_filters(provider_cls.filters, request.filters)
    # Secrets are dropped from filters too, though no declared filter looks like one.
    stored = {"provider_type": request.provider_type, "filters": without_secrets(filters),
              "config": _clean_config(request.config)}
    if request.upload_id is not None:  # a retry's: the file the failed job read
        stored["upload"] = uploads.describe(request.upload_id)
    return stored


def connector() -> Callable[[], psycopg.Connection]:
    """Opens a connection of its own to the app's database, from any thread (the undo
    copy's, beside the job's: loading/undo_copy.py)."""
    url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    return partial(psycopg.connect, url, connect_timeout=10)


def _check_factor_type(module: Module, target_type: str, factor_type_id: int | None
                       ) -> FactorType | None:
    if target_type == TargetType.DATA_ENTRIES:
        return None
    factor_type = db.session.get(FactorType, factor_type_id) if factor_type_id else None
    if factor_type is None:
        raise NotFound(f"factor type {factor_type_id} does not exist")
    if factor_type.module_type != module.module_type:
        raise Invalid(f"factor type {factor_type.slug!r} belongs to {factor_type.module_type} "
                      f"modules, not {module.module_type}")
    return factor_type


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
    check_sheet(config)
    return without_secrets(config)


def upload_opener(job: DataIngestionJob) -> Callable[[], BinaryIO] | None:
    """Opens the job's stored upload, each time from its start (None: the job has none)."""
    upload = job.info.upload
    return (lambda: uploads.open_upload(upload["id"])) if upload else None


def _context(job: DataIngestionJob, job_log: logging.LoggerAdapter) -> ProviderContext:
    return ProviderContext(
        job_id=job.id, module_id=job.module_id, module_type=job.module.module_type,
        inventory_id=job.inventory_id, year=job.year, target_type=job.target_type,
        filters=job.info.filters, config=job.info.config,
        factor_type_id=job.factor_type_id,
        factor_type_slug=job.factor_type.slug if job.factor_type else None,
        settings=current_app.config,
        open_upload=upload_opener(job),
        open_database=connector(),
        log=job_log)


kinds.register(LoadKind())
kinds.register(PreviewKind())
