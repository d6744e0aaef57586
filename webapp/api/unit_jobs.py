"""The unit tree's jobs (SPEC §13): an import of a CSV file, a sync from a directory
provider, and their history. Status, errors, retry, cancel and undo are the sync
endpoints', as for any job."""

from __future__ import annotations

from flask import request
from flask_login import current_user
from werkzeug.exceptions import UnsupportedMediaType

from webapp.api import api_bp
from webapp.api.params import accepted, expect_type, json_object, listing, page_args
from webapp.auth import requires_admin
from webapp.errors import BadRequest
from webapp.jobs import queries, service
from webapp.organisation.unit_jobs import units_jobs, units_request


@api_bp.post("/units/import")
@requires_admin
def units_import():
    """multipart/form-data: `file` (code, name, parent_code, active; CSV or a workbook),
    `on_error`, `sheet` (a workbook's sheet; default the first)."""
    if request.mimetype != "multipart/form-data":
        raise UnsupportedMediaType("send multipart/form-data with the file (CSV or a "
                                   "workbook) in a 'file' part")
    file = request.files.get("file")
    if file is None or not file.filename:
        raise BadRequest("a units file (CSV or Excel workbook) is required in the 'file' field")
    config = {name: request.form[name] for name in ("on_error", "sheet")
              if request.form.get(name)}
    job = service.create_job(units_request(
        "csv_upload", config or None,
        new_file=(file.stream, file.filename, file.mimetype)), current_user)
    return accepted(job)


@api_bp.post("/units/sync")
@requires_admin
def units_sync():
    """JSON {provider_type, on_error?}: the tree from a directory provider."""
    body = json_object()
    provider_type = expect_type(body.get("provider_type"), "provider_type", str)
    if not provider_type:
        raise BadRequest("provider_type is required")
    on_error = expect_type(body.get("on_error"), "on_error", str)
    job = service.create_job(units_request(
        provider_type, {"on_error": on_error} if on_error else None), current_user)
    return accepted(job)


@api_bp.get("/units/jobs")
def units_jobs_list():
    """The unit tree's jobs (imports, syncs, their undos), newest first."""
    limit, offset = page_args()
    jobs, total = units_jobs(limit=limit, offset=offset)
    return listing([queries.status_body(job) for job in jobs], total, limit, offset)
