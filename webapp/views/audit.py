"""The audit log page for admins: who did what, filterable by user, action and target."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from webapp import audit
from webapp.auth import requires_admin
from webapp.errors import Refusal

audit_bp = Blueprint("audit", __name__, url_prefix="/audit")

PAGE_SIZE = 50
MAX_PAGE = 10**6


@audit_bp.errorhandler(Refusal)
def bad_filter(error: Refusal):
    return render_template("errors/error.html", code=error.status_code,
                           message=error.message), error.status_code


@audit_bp.get("")
@requires_admin
def index():
    filters = audit.parse_filters(request.args)
    page = request.args.get("page", 1, type=int)
    page = min(max(page, 1), MAX_PAGE)
    rows, total = audit.search(**filters, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    return render_template("audit/index.html", entries=rows, total=total, page=page,
                           page_size=PAGE_SIZE, filters=filters, actions=audit.actions())
