"""The module page: Sync from an API, upload CSV files, watch the job, read the history.

Each part that refreshes itself (history, badges, stored entries, emissions, entry list,
stored factors) has its own URL: htmx gets the part alone, built from a context of its
own; a browser gets the whole page, which merges them all.

Form posts create a job through the service layer and redirect back to the page (whose
panel then polls the new job). When the service refuses (409 a job is already running,
422 wrong year, ...), the page is rendered again with the reason and that status.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from webapp import access, catalog
from webapp.api.params import json_field
from webapp.auth import requires_admin
from webapp.emissions.figures import chart_bars, module_figures
from webapp.emissions.job import request_recalculation
from webapp.errors import BadRequest, Refusal
from webapp.extensions import db
from webapp.ingestion import undo
from webapp.ingestion.filter_choices import filter_choices
from webapp.ingestion.loading import replacing
from webapp.ingestion.providers.csv_upload import schemas
from webapp.jobs import queries, service
from webapp.jobs.requests import SyncRequest
from webapp.jobs.states import JobStatus
from webapp.models import DataIngestionJob, Module
from webapp.models.jobs import TargetType
from webapp.security import INT4_MAX
from webapp.views.entry_table import entry_table
from webapp.views.factor_table import factor_table, sort_columns
from webapp.views.htmx import JOB_CHANGED, is_htmx, page_or_fragment, trigger
from webapp.views.jobs import job_context

modules_bp = Blueprint("modules", __name__, url_prefix="/modules")

HISTORY_PAGE_SIZE = 10
MAX_HISTORY_PAGE = 10**6
ENTRY_PAGE_SIZE = 50
FACTOR_PAGE_SIZE = 50  # per factor type


# -- reading: the page, and each fragment from a context of its own ------------------------

PAGE = "modules/detail.html"


@modules_bp.get("/<id:module_id>")
def detail(module_id: int):
    return render_template(PAGE, **_page_context(module_id))


@modules_bp.get("/<id:module_id>/history")
def history(module_id: int):
    """The sync history (filtered, paged); the whole module page without htmx."""
    return page_or_fragment(PAGE, "modules/_history.html",
                            **_context(module_id, _history_context))


@modules_bp.get("/<id:module_id>/badges")
def badges(module_id: int):
    """The module's last-sync badges; the whole module page without htmx."""
    return page_or_fragment(PAGE, "modules/_badges.html",
                            **_context(module_id, _badges_context))


@modules_bp.get("/<id:module_id>/entries")
def entries(module_id: int):
    """The stored-entries summary; the whole module page without htmx."""
    return page_or_fragment(PAGE, "modules/_entries.html",
                            **_context(module_id, _stored_entries_context))


@modules_bp.get("/<id:module_id>/emissions")
def emissions(module_id: int):
    """The module's figures; the whole module page without htmx. A poll that saw them
    stale and now sees them fresh fires job-changed, so the rest of the page follows."""
    context = _context(module_id, _emissions_context)
    response = page_or_fragment(PAGE, "emissions/_summary.html", **context)
    if request.args.get("was_stale") and not context["emissions"]["stale"]:
        trigger(response, JOB_CHANGED)
    return response


@modules_bp.get("/<id:module_id>/entry-list")
def entry_list(module_id: int):
    """A page of entries with their emissions (filtered); the whole page without htmx."""
    return page_or_fragment(PAGE, "emissions/_entries.html",
                            **_context(module_id, _entry_list_context))


@modules_bp.get("/<id:module_id>/factors")
def stored_factors(module_id: int):
    """The emission factors stored for the module's year; the whole page without htmx."""
    return page_or_fragment(PAGE, "emissions/_factors.html",
                            **_context(module_id, _factors_context))


def _context(module_id: int, fragment_context: Callable[[Module], dict[str, Any]]
             ) -> dict[str, Any]:
    """For htmx, only what the fragment shows, so its poll runs only its own queries; for
    a browser, the whole page's context (a fragment URL opened directly is the page)."""
    if not is_htmx():
        return _page_context(module_id)
    return fragment_context(catalog.get_module(module_id))


def _page_context(module_id: int, **extra) -> dict[str, Any]:
    """Every fragment's context, plus what only the page shows (panels, forms). The
    counts the stored entries, the entry list and the forms all show are read once."""
    module: Module = catalog.get_module(module_id)
    entry_counts = catalog.entry_counts(module_id)
    parts = {**_badges_context(module), **_history_context(module),
             **_stored_entries_context(module, entry_counts), **_emissions_context(module),
             **_entry_list_context(module, entry_counts), **_factors_context(module)}
    providers = catalog.providers(module)
    return {
        **parts,
        "panels": [job_context(job) for job in _panel_jobs(module_id)],
        "sync_providers": _sync_providers(module, providers),
        "accepts_files": any(p["provider_type"] == "csv_upload"
                             and p["target_type"] == TargetType.DATA_ENTRIES
                             for p in providers),
        "entry_templates": ("api.entry_template", {"module_id": module_id}, module.name),
        "factor_types": [stored["factor_type"] for stored in parts["stored_factors"]],
        "stored_slices": replacing.by_source(entry_counts),
        "confirm_replace_from": replacing.CONFIRM_FROM_ROWS,
        "can_manage_factors": access.sees_everything(),
        "form": request.form if request.method == "POST" else {},
        "form_error": None,
        **extra,
    }


def _can_edit(module: Module) -> bool:
    return access.may(module.inventory.unit, "editor")


# One builder per fragment: the context its template names, and nothing else.

def _badges_context(module: Module) -> dict[str, Any]:
    """modules/_badges.html: the badges are kept on the module's row (last_sync_status),
    so they need no other query."""
    return {"module": module}


def _history_context(module: Module) -> dict[str, Any]:
    """modules/_history.html."""
    args = _history_args()
    jobs, total = queries.history(module.id, provider_type=args["provider"],
                                  status=args["status"], limit=HISTORY_PAGE_SIZE,
                                  offset=(args["page"] - 1) * HISTORY_PAGE_SIZE)
    known = {p["provider_type"] for p in catalog.providers(module)}
    return {"module": module, "history": {
        "jobs": jobs, "total": total, "page_size": HISTORY_PAGE_SIZE, **args,
        "undo_notes": {job.id: undo.undo_note(job) for job in jobs},
        "providers": sorted(known | {args["provider"], "recalculation"} - {None})}}


def _stored_entries_context(module: Module, entry_counts: list[dict[str, Any]] | None = None
                            ) -> dict[str, Any]:
    """modules/_entries.html."""
    return {"module": module, "can_edit": _can_edit(module),
            "entry_counts": catalog.entry_counts(module.id) if entry_counts is None
            else entry_counts,
            "entry_types": schemas.entry_types_for(module.module_type)}


def _emissions_context(module: Module) -> dict[str, Any]:
    """emissions/_summary.html."""
    figures = module_figures(module.id)
    return {"module": module, "emissions": figures, "can_edit": _can_edit(module),
            "type_bars": chart_bars(figures["by_entry_type"], "entry_type")}


def _entry_list_context(module: Module, entry_counts: list[dict[str, Any]] | None = None
                        ) -> dict[str, Any]:
    """emissions/_entries.html; its source filter offers the sources of entry_counts."""
    args = _entry_args()
    filters = {k: v for k, v in args.items() if k != "page"}
    rows, has_next = catalog.entry_page(module.id, limit=ENTRY_PAGE_SIZE,
                                        offset=(args["page"] - 1) * ENTRY_PAGE_SIZE,
                                        **filters)
    types = schemas.entry_types_for(module.module_type)
    shown_type = args["entry_type"] or (types[0] if len(types) == 1 else None)
    missing = {True: "true", False: "false"}.get(args["missing"])
    link_args = {"entry_type": args["entry_type"], "source": args["source"],
                 "job": args["job_id"], "missing": missing, "reason": args["reason"]}
    export_args = {**link_args, "job": None, "job_id": args["job_id"]}
    return {
        "module": module,
        "entry_list": {"rows": rows, "has_next": has_next, **args,
                       "table": entry_table(module.module_type, shown_type, rows),
                       "filtered": any(v is not None for v in filters.values()),
                       "link_args": link_args, "export_args": export_args,
                       "page_size": ENTRY_PAGE_SIZE},
        "entry_types": types,
        "entry_counts": catalog.entry_counts(module.id) if entry_counts is None
        else entry_counts,
    }


def _factors_context(module: Module) -> dict[str, Any]:
    """emissions/_factors.html: a page of each factor type's factors for the year, sorted
    by classification (`factor_type` and `factor_page` page through one type)."""
    paged, page = request.args.get("factor_type", type=int), _page_arg("factor_page")
    stored = []
    for factor_type in catalog.factor_types(module.module_type):
        number = page if factor_type.id == paged else 1
        shown, total = catalog.factors(
            factor_type.id, year=module.inventory.year, limit=FACTOR_PAGE_SIZE,
            offset=(number - 1) * FACTOR_PAGE_SIZE, sort_by=sort_columns(factor_type.slug))
        stored.append({"factor_type": factor_type, "total": total, "page": number,
                       "table": factor_table(factor_type.slug, shown)})
    return {"module": module, "stored_factors": stored, "factor_page_size": FACTOR_PAGE_SIZE}


def _page_arg(name: str) -> int:
    # Bounded: a page far past the end is empty, not an offset PostgreSQL refuses.
    try:
        return min(max(1, int(request.args.get(name, 1))), MAX_HISTORY_PAGE)
    except ValueError:
        return 1


def _entry_args() -> dict[str, Any]:
    """Entry-list filters from the query string; anything unusable means 'no filter'."""
    args = request.args
    try:
        job_id = int(args.get("job") or 0)
        page = min(max(1, int(args.get("page", 1))), MAX_HISTORY_PAGE)
    except ValueError:
        job_id, page = 0, 1
    return {"entry_type": args.get("entry_type") or None, "source": args.get("source") or None,
            "job_id": job_id if 0 < job_id <= INT4_MAX else None,
            "missing": {"true": True, "false": False}.get(args.get("missing", "")),
            "reason": args.get("reason") or None, "page": page}


def _history_args() -> dict[str, Any]:
    """History filters from the query string; anything unusable means 'no filter'."""
    status = request.args.get("status") or None
    if status not in {s.value for s in JobStatus}:
        status = None
    return {"provider": request.args.get("provider") or None, "status": status,
            "page": _page_arg("page")}


def _sync_providers(module: Module, providers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The providers the Sync form offers, each filter with the values to suggest."""
    offered = []
    for provider in providers:
        if provider["needs_upload"] or provider["target_type"] != TargetType.DATA_ENTRIES:
            continue
        choices = filter_choices(module, provider["provider_type"])
        offered.append({**provider, "filters": [
            {**declared, "choices": choices.get(declared["name"], [])}
            for declared in provider["filters"]]})
    return offered


def _panel_jobs(module_id: int) -> list[DataIngestionJob]:
    """The module's active loads (one per target at most), else its latest load. Its
    recalculations show in the emissions card instead (they follow every load)."""
    active = [job for job in queries.active_jobs(module_id)
              if job.target_type != TargetType.EMISSIONS]
    if active:
        return active
    latest, _ = queries.history(module_id, limit=1, except_target=TargetType.EMISSIONS)
    return latest


# -- acting -------------------------------------------------------------------------------

@modules_bp.post("/<id:module_id>/recalculate")
def recalculate(module_id: int):
    """Recalculate the module's emissions (or run the current recalculation once more)."""
    try:
        job = request_recalculation(module_id, current_user)
    except Refusal as error:
        return refused_page(module_id, "recalculate", error)
    if job.status == JobStatus.PROCESSING:
        flash(f"Job #{job.id} is recalculating; it will run once more for your request.",
              "info")
    else:
        flash(f"Recalculation job #{job.id} {'queued' if job.status == 'pending' else job.status}.",
              "info")
    return redirect(url_for("modules.detail", module_id=module_id) + "#emissions", 303)


@modules_bp.post("/<id:module_id>/sync")
def sync(module_id: int):
    """Sync now from an API provider (Tableau, ...)."""
    form = request.form
    provider_type = form.get("provider_type", "")
    sync = SyncRequest(module_id=module_id, provider_type=provider_type,
                       target_type=TargetType.DATA_ENTRIES, year=form.get("year"))
    try:
        service.require_change_of(sync)  # who may not sync hears that first
        if not provider_type:
            raise BadRequest("Choose a provider to sync from.")
        job = service.create_job(replace(
            sync, filters=filters_from_form(module_id, provider_type, form),
            config=_with_form_flags(json_field(form.get("config"), "Config"), form)),
            current_user)
    except Refusal as error:
        return refused_page(module_id, "sync", error)
    return _started(job)


@modules_bp.post("/<id:module_id>/upload")
def upload(module_id: int):
    """Upload a CSV file or a workbook of data entries."""
    return _upload(module_id, TargetType.DATA_ENTRIES, None, "upload")


@modules_bp.post("/<id:module_id>/factors/<id:factor_type_id>/upload")
@requires_admin
def upload_factors(module_id: int, factor_type_id: int):
    """Upload a CSV file or a workbook of emission factors for one factor type."""
    return _upload(module_id, TargetType.FACTORS, factor_type_id, f"factors-{factor_type_id}")


def _upload(module_id: int, target_type: str, factor_type_id: int | None, form_id: str):
    form, file = request.form, request.files.get("file")
    config = {"on_error": form.get("on_error") or "abort"}
    if form.get("entry_type"):
        config["entry_type"] = form["entry_type"]
    if (form.get("sheet") or "").strip():  # a workbook's sheet; the first one without
        config["sheet"] = form["sheet"].strip()
    config = _with_form_flags(config, form)
    sync = SyncRequest(module_id=module_id, provider_type="csv_upload",
                       target_type=target_type, year=form.get("year"), config=config,
                       factor_type_id=factor_type_id)
    try:
        service.require_change_of(sync)
        if file is None or not file.filename:
            raise BadRequest("Choose a CSV file or an Excel workbook to upload.")
        job = service.create_job(replace(sync, new_file=(file.stream, file.filename,
                                                         file.mimetype)), current_user)
    except Refusal as error:
        return refused_page(module_id, form_id, error)
    except RequestEntityTooLarge as error:
        return refused_page(module_id, form_id, Refusal(error.description), status=413)
    return _started(job)


def _with_form_flags(config: Any, form) -> Any:
    """The Preview button (beside Upload CSV and Sync now) asks for a dry run; the
    "Replace them" box confirms a load that removes more than half of a slice."""
    flags = {flag: True for flag in ("dry_run", "confirm_replace") if form.get(flag)}
    if not flags:
        return config
    return {**(config if isinstance(config, dict) else {}), **flags}


def filters_from_form(module_id: int, provider_type: str, form) -> dict[str, list[str]]:
    """The chosen provider's filters from a form (Sync, Add a schedule). The form takes
    comma-separated values and splits them here (the API takes lists); a blank field is
    no filter."""
    declared = next((p["filters"] for p in catalog.providers(catalog.get_module(module_id))
                     if p["provider_type"] == provider_type
                     and p["target_type"] == TargetType.DATA_ENTRIES), [])
    filters = {}
    for declared_filter in declared:
        name = declared_filter["name"]
        values = [v for v in form.get(f"filter_{name}", "").split(",") if v.strip()]
        if values:
            filters[name] = values
    return filters


def _started(job: DataIngestionJob):
    flash(f"Job #{job.id} started.", "info")
    # 303: the browser follows with a GET, so reloading the page never posts twice.
    return redirect(url_for("modules.detail", module_id=job.module_id) + f"#job-{job.id}",
                    303)


def refused_page(module_id: int, form_id: str, error: Refusal, status: int | None = None):
    """The page again (also for the schedule form), with the service's reason beside the
    form that was sent and that form's values kept."""
    db.session.rollback()  # whatever the refused request left in the session
    form_error = {"form": form_id, "message": error.message, **error.details}
    return render_template("modules/detail.html", **_page_context(
        module_id, form_error=form_error)), status or error.status_code
