"""The dashboard: the caller's units with their totals rolled up the tree, the chosen
unit's inventory and modules, and the jobs running now."""

from flask import Blueprint, request

from webapp.emissions.figures import chart_bars, inventory_figures
from webapp.jobs import queries
from webapp.organisation.dashboard import PAGE_SIZE, dashboard
from webapp.views.htmx import page_or_fragment

dashboard_bp = Blueprint("dashboard", __name__)
RUNNING_SHOWN = 20  # the running jobs listed; the rest are counted


@dashboard_bp.get("/")
def index():
    """The whole dashboard; htmx (polling while jobs run) gets the overview block only."""
    view = dashboard(unit_code=request.args.get("unit") or None,
                     year=request.args.get("year", type=int),
                     query=(request.args.get("q") or "").strip()[:100] or None,
                     page=min(max(request.args.get("page", 1, type=int), 1), 10**6))
    emissions = {}
    if view.inventory is not None:
        figures = inventory_figures(view.inventory.id)
        emissions[view.inventory.id] = {
            **figures, "bars": chart_bars(figures["modules"], "name", "total_kg_co2eq")}
    running = queries.active_jobs()
    return page_or_fragment("dashboard/index.html", "dashboard/_overview.html", view=view,
                            emissions=emissions, page_size=PAGE_SIZE,
                            active_jobs=running[:RUNNING_SHOWN],
                            more_running=max(len(running) - RUNNING_SHOWN, 0))
