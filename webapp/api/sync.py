"""The plan's sync endpoints (create, status, history, retry) plus cancel and the
row-error report. Handlers parse, call one service function, answer."""

from __future__ import annotations

from flask import Response, request
from flask_login import current_user

from webapp.api import api_bp
from webapp.api.params import accepted, json_body, listing, page_args, payload_with_file
from webapp.auth import requires_admin
from webapp.errors import BadRequest
from webapp.extensions import db
from webapp.ingestion import undo
from webapp.ingestion.kinds import apply_preview
from webapp.jobs import error_report as row_errors
from webapp.jobs import queries, service
from webapp.jobs.requests import SyncRequest
from webapp.models.jobs import TargetType

# The plan's payload fields and the JSON types each accepts (year may come as "2025").
# Filters of any type go on to the provider's declared filters, which answer 422.
PAYLOAD = {"provider_type": (str,), "year": (int, str), "filters": (), "config": (dict,)}


def _create(module_id: int, target_type: str, factor_type_id: int | None = None):
    payload = payload_with_file(PAYLOAD)
    if not payload.get("provider_type"):
        raise BadRequest("provider_type is required")
    job = service.create_job(SyncRequest(
        module_id=module_id, target_type=target_type, factor_type_id=factor_type_id,
        **payload), current_user)
    return accepted(job)


@api_bp.post("/sync/data-entries/<id:module_id>")
def sync_data_entries(module_id: int):
    return _create(module_id, TargetType.DATA_ENTRIES)


@api_bp.post("/sync/factors/<id:module_id>/<id:factor_type_id>")
@requires_admin
def sync_factors(module_id: int, factor_type_id: int):
    return _create(module_id, TargetType.FACTORS, factor_type_id)


@api_bp.get("/sync/status/<id:job_id>")
def sync_status(job_id: int):
    return queries.status_body(queries.current_job(job_id))


@api_bp.get("/sync/history/<id:module_id>")
def sync_history(module_id: int):
    limit, offset = page_args()
    jobs, total = queries.history(module_id, provider_type=request.args.get("provider_type"),
                                  status=request.args.get("status"), limit=limit,
                                  offset=offset)
    return listing([queries.status_body(job) for job in jobs], total, limit, offset)


@api_bp.post("/sync/retry/<id:job_id>")
def sync_retry(job_id: int):
    # An optional body {"confirm_replace": true} confirms what a 409 refused to replace.
    body = json_body({"confirm_replace": (bool,)}) if request.get_data(cache=True) else {}
    confirm = {"confirm_replace": True} if body.get("confirm_replace") else None
    job = service.retry_job(job_id, current_user, config=confirm)
    return accepted(job, retry_of=job_id)


@api_bp.post("/sync/cancel/<id:job_id>")
def sync_cancel(job_id: int):
    return queries.status_body(service.cancel_job(job_id, current_user))


@api_bp.get("/sync/errors/<id:job_id>.csv")
def sync_errors_csv(job_id: int):
    queries.get_job(job_id)
    lines = row_errors.report_lines(db.engine, job_id)
    return Response(lines, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="job-{job_id}-errors.csv"'})


@api_bp.post("/sync/apply/<id:job_id>")
def sync_apply(job_id: int):
    job = apply_preview(job_id, current_user)
    return accepted(job, preview_of=job_id)


@api_bp.post("/sync/undo/<id:job_id>")
def sync_undo(job_id: int):
    job = undo.request_undo(job_id, current_user)
    return accepted(job, undo_of=job_id)
