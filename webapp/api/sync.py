"""The plan's sync endpoints (create, status, history, retry) plus cancel and the
row-error report. Handlers parse, call one service function, answer."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, request
from flask_login import current_user

from webapp.api import api_bp
from webapp.auth import requires_job_role, requires_role
from webapp.extensions import db
from webapp.ingestion.jobs import error_report as row_errors
from webapp.ingestion.jobs import queries, service
from webapp.ingestion.jobs.states import TargetType
from webapp.ingestion.refusals import BadRequest


def _json_field(raw: str | None, name: str) -> Any:
    if raw in (None, ""):
        return None
    try:
        return json.loads(raw)
    except json.JSONDecodeError as error:
        raise BadRequest(f"{name} must be JSON-encoded ({error.msg})") from None


def _sync_request() -> dict[str, Any]:
    """The plan's payload, from a JSON body or from multipart/form-data with a file."""
    if request.mimetype == "multipart/form-data":
        form = request.form
        payload = {"provider_type": form.get("provider_type"), "year": form.get("year"),
                   "filters": _json_field(form.get("filters"), "filters"),
                   "config": _json_field(form.get("config"), "config")}
        file = request.files.get("file")
        if file is not None and file.filename:
            payload["new_file"] = (file.stream, file.filename, file.mimetype)
        return payload
    if request.mimetype != "application/json":
        from webapp.api.errors import ApiError
        raise ApiError(415, "send application/json, or multipart/form-data with a 'file' "
                            "part for csv_upload")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return {key: body.get(key) for key in ("provider_type", "year", "filters", "config")}


def _create(module_id: int, target_type: str, factor_type_id: int | None = None):
    payload = _sync_request()
    if not payload.get("provider_type"):
        raise BadRequest("provider_type is required")
    job = service.create_job(service.SyncRequest(
        module_id=module_id, target_type=target_type, factor_type_id=factor_type_id,
        **payload), current_user)
    return {"job_id": job.id, "status": job.status, "status_code": job.status_code,
            "message": job.message}, 202


@api_bp.post("/sync/data-entries/<int:module_id>")
@requires_role("editor")
def sync_data_entries(module_id: int):
    return _create(module_id, TargetType.DATA_ENTRIES)


@api_bp.post("/sync/factors/<int:module_id>/<int:factor_type_id>")
@requires_role("admin")
def sync_factors(module_id: int, factor_type_id: int):
    return _create(module_id, TargetType.FACTORS, factor_type_id)


@api_bp.get("/sync/status/<int:job_id>")
def sync_status(job_id: int):
    return queries.status_body(queries.current_job(job_id))


def _int_arg(name: str, default: int, minimum: int = 0, maximum: int = 500) -> int:
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be a whole number") from None
    if not minimum <= value <= maximum:
        raise BadRequest(f"{name} must be between {minimum} and {maximum}")
    return value


def page_args(default_limit: int = 20) -> tuple[int, int]:
    return _int_arg("limit", default_limit, 1, 500), _int_arg("offset", 0, 0, 10**9)


@api_bp.get("/sync/history/<int:module_id>")
def sync_history(module_id: int):
    limit, offset = page_args()
    jobs, total = queries.history(module_id, provider_type=request.args.get("provider_type"),
                                  status=request.args.get("status"), limit=limit,
                                  offset=offset)
    return {"items": [queries.status_body(job) for job in jobs], "total": total,
            "limit": limit, "offset": offset}


@api_bp.post("/sync/retry/<int:job_id>")
@requires_job_role
def sync_retry(job_id: int):
    job = service.retry_job(job_id, current_user)
    return {"job_id": job.id, "status": job.status, "status_code": job.status_code,
            "message": job.message, "retry_of": job_id}, 202


@api_bp.post("/sync/cancel/<int:job_id>")
@requires_job_role
def sync_cancel(job_id: int):
    return queries.status_body(service.cancel_job(job_id, current_user))


@api_bp.get("/sync/errors/<int:job_id>.csv")
def sync_errors_csv(job_id: int):
    queries.get_job(job_id)
    lines = row_errors.report_lines(db.engine, job_id)
    return Response(lines, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="job-{job_id}-errors.csv"'})
