"""One feed, many units (SPEC §14): POST /api/v1/sync/institution/{year} syncs every
unit's module of a type from one fetch of a routing provider (admins). Its status,
errors, cancel and undo are the sync endpoints', as for any job."""

from __future__ import annotations

from flask_login import current_user

from webapp.api import api_bp
from webapp.api.params import accepted, payload_with_file
from webapp.auth import requires_admin
from webapp.feeds.kind import institution_request
from webapp.jobs import service

PAYLOAD = {"provider_type": (str,), "module_type": (str,), "filters": (), "config": (dict,)}


@api_bp.post("/sync/institution/<id:year>")
@requires_admin
def sync_institution(year: int):
    """JSON {provider_type, module_type, filters, config}, or multipart/form-data with
    the same fields and a `file` (csv_upload: entries with a unit_code column)."""
    return accepted(service.create_job(institution_request(year, payload_with_file(PAYLOAD)),
                                       current_user))
