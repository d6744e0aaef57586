"""GET /api/v1/audit: the audit log for admins, newest first, filterable."""

from __future__ import annotations

from flask import request

from webapp import audit
from webapp.api import api_bp
from webapp.api.params import listing, page_args
from webapp.auth import requires_admin


@api_bp.get("/audit")
@requires_admin
def audit_list():
    limit, offset = page_args(50)
    rows, total = audit.search(**audit.parse_filters(request.args), limit=limit,
                               offset=offset)
    return listing([row.body() for row in rows], total, limit, offset)
