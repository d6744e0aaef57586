"""The dashboard: inventories, their modules and each module's last-sync badges."""

from flask import Blueprint

from webapp.ingestion.jobs import queries
from webapp.views.htmx import page_or_fragment

dashboard_bp = Blueprint("dashboard", __name__)


@dashboard_bp.get("/")
def index():
    """The whole dashboard; htmx (polling while jobs run) gets the overview block only."""
    return page_or_fragment("dashboard/index.html", "dashboard/_overview.html",
                            inventories=queries.inventories(),
                            active_jobs=queries.active_jobs())
