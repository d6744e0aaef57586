"""The dashboard: inventories, their modules and each module's last-sync badges."""

from flask import Blueprint, render_template

from webapp.ingestion import queries

dashboard_bp = Blueprint("dashboard", __name__)


@dashboard_bp.get("/")
def index():
    return render_template("dashboard/index.html", inventories=queries.inventories(),
                           active_jobs=queries.active_jobs())
