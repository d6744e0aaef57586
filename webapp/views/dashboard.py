"""The dashboard: inventories, their modules and each module's last-sync badges."""

from flask import Blueprint

from webapp import catalog
from webapp.emissions.figures import chart_bars, inventory_figures
from webapp.jobs import queries
from webapp.views.htmx import page_or_fragment

dashboard_bp = Blueprint("dashboard", __name__)


@dashboard_bp.get("/")
def index():
    """The whole dashboard; htmx (polling while jobs run) gets the overview block only."""
    inventories = catalog.inventories()
    emissions = {}
    for inventory in inventories:
        figures = inventory_figures(inventory.id)
        bars = chart_bars(figures["modules"], "name", "total_kg_co2eq")
        emissions[inventory.id] = {**figures, "bars": bars}
    return page_or_fragment("dashboard/index.html", "dashboard/_overview.html",
                            inventories=inventories, emissions=emissions,
                            active_jobs=queries.active_jobs())
