"""The /api/v1 JSON API. Every error is JSON {"error", "message"} with its HTTP status."""

from flask import Blueprint

api_bp = Blueprint("api", __name__, url_prefix="/api/v1")

from webapp.api import (  # noqa: E402,F401  (routes register on import)
    audit,
    catalog,
    csrf,
    emissions,
    feeds,
    health,
    openapi,
    organisation,
    reports,
    schedules,
    sync,
    templates,
    unit_jobs,
    users,
)
