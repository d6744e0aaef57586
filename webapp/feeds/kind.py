"""The institution-wide sync as job kinds (SPEC §14): a year of a routing provider's rows
(Tableau's flights, HR's people) into the modules of every unit they name, in one job
and one transaction, and its undo.

`POST /api/v1/sync/institution/{year}` asks for one (admins). The job has no module:
its request stores the module type, its counts say what each unit got (`by_unit`).
A CSV of entries comes with a `unit_code` column, stored like a unit's upload (`prepare`,
inherited from LoadKind), so a retry reads the same file.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app

from webapp.errors import BadRequest, Invalid
from webapp.extensions import db
from webapp.feeds.routes import UnitRoutes
from webapp.feeds.sink import RoutedEntrySink
from webapp.ingestion.kinds import LoadKind, connector, stored_load_request, upload_opener
from webapp.ingestion.loading.exclusion import refuse_while_unit_loads
from webapp.ingestion.providers import registry
from webapp.ingestion.providers.base import ProviderContext
from webapp.ingestion.providers.filters import scope_of
from webapp.ingestion.tracker import Tracker
from webapp.ingestion.undo import UndoKind, run_undo
from webapp.jobs import kinds, lifecycle
from webapp.jobs.requests import Checked, SyncRequest
from webapp.models import DataIngestionJob, InventoryYear, TargetType
from webapp.models.inventory import MODULE_TYPES


def institution_request(year: Any, body: dict[str, Any]) -> SyncRequest:
    """The request an institution-wide sync sends (the API's body, as it came, with
    `new_file` when a CSV came with it)."""
    module_type = body.get("module_type")
    if not isinstance(module_type, str) or not module_type:
        raise BadRequest("module_type is required (a string), e.g. 'travel'")
    return SyncRequest(module_id=None, module_type=module_type,
                       provider_type=body.get("provider_type"),
                       target_type=TargetType.DATA_ENTRIES, year=year,
                       filters=body.get("filters"), config=body.get("config"),
                       new_file=body.get("new_file"))


def _provider(request: SyncRequest):
    if request.module_type not in MODULE_TYPES:
        raise Invalid(f"module_type must be one of {', '.join(MODULE_TYPES)}",
                      field="module_type")
    if not isinstance(request.provider_type, str) or not request.provider_type:
        raise BadRequest("provider_type is required (a string)")
    provider_cls = registry.resolve(request.module_type, request.provider_type,
                                    TargetType.DATA_ENTRIES)
    if provider_cls.unit_key is None:
        raise Invalid(f"{request.provider_type} cannot say which unit each row belongs "
                      "to, so it syncs one unit's module at a time", field="provider_type")
    return provider_cls


class InstitutionLoadKind(LoadKind):
    """Every unit's slice of a module type and year, from one fetch of the source."""

    name = "institution_load"

    def claims(self, request: SyncRequest) -> bool:
        return (request.module_type is not None and request.undo_of is None
                and request.target_type == TargetType.DATA_ENTRIES)

    def check(self, request: SyncRequest) -> Checked:
        provider_cls = _provider(request)
        year = request.year
        if not isinstance(year, int) or isinstance(year, bool):
            raise Invalid("year must be a whole number", field="year")
        if db.session.get(InventoryYear, year) is None:
            raise Invalid(f"the year {year} does not exist", field="year")
        stored = stored_load_request(
            request, provider_cls, file_hint=", with a unit_code column naming each row's "
            "unit", refuse_unneeded_file=True)
        if stored["config"].get("dry_run"):
            raise Invalid("a preview of an institution-wide sync is not offered yet",
                          field="config.dry_run")
        return Checked(None, None, year, {**stored, "module_type": request.module_type})

    def refuse_while_busy(self, checked: Checked) -> None:
        """Conflict (409) while one unit's load of the same type and year runs."""
        refuse_while_unit_loads(checked.stored_request["module_type"], checked.year)

    def context(self, job: DataIngestionJob, log: logging.LoggerAdapter) -> ProviderContext:
        """No module of its own: the module type, and the routes to each unit's module."""
        module_type = job.info.request["module_type"]
        conn = db.session.connection().connection.driver_connection
        return ProviderContext(
            job_id=job.id, module_id=None, module_type=module_type, inventory_id=None,
            year=job.year, target_type=job.target_type, filters=job.info.filters,
            config=job.info.config, settings=current_app.config,
            open_upload=upload_opener(job), open_database=connector(), log=log,
            routes=UnitRoutes.load(conn, module_type, job.year))

    def sink(self, job: DataIngestionJob, ctx: ProviderContext) -> RoutedEntrySink:
        """Every routed unit's slice, in the job's one transaction."""
        provider_cls = registry.resolve(ctx.module_type, job.provider_type, job.target_type)
        return RoutedEntrySink(
            db.session.connection().connection.driver_connection, routes=ctx.routes,
            job_id=job.id, year=job.year, source=job.provider_type,
            scope=scope_of(provider_cls.filters, ctx.filters),
            keep_replaced=current_app.config["UNDO_STORE"], connect=connector(),
            confirm_replace=bool(ctx.config.get("confirm_replace")))

    def completion_message(self, job: DataIngestionJob, counts: dict[str, Any],
                           extra: dict[str, Any]) -> str:
        units = len(counts.get("by_unit") or {})
        return (super().completion_message(job, counts, extra)
                + f" for {units:,} unit{'s' if units != 1 else ''}")


class InstitutionUndoKind(UndoKind):
    """Every unit's rows back as the institution-wide load found them."""

    name = "institution_undo"

    def claims(self, request: SyncRequest) -> bool:
        return request.undo_of is not None and request.module_type is not None

    def check(self, request: SyncRequest) -> Checked:
        return InstitutionLoadKind.check(self, request)

    def run(self, job: DataIngestionJob, attempt: str, log) -> None:
        undone = db.session.get(DataIngestionJob, job.info.undo_of)
        module_ids = [unit["module_id"] for unit in
                      (undone.info.counts.get("by_unit") or {}).values()]
        run_undo(job, Tracker(job.id, log, attempt),
                 lambda: lifecycle.record_data_session(job.id, attempt), module_ids)


kinds.register(InstitutionLoadKind())
kinds.register(InstitutionUndoKind())
