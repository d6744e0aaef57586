"""Emissions (SPEC §10): a module's and an inventory's figures, and the Recalculate
request. Handlers call one function and answer."""

from __future__ import annotations

from flask_login import current_user

from webapp.api import api_bp
from webapp.api.params import accepted
from webapp.emissions.figures import inventory_figures, module_figures
from webapp.emissions.job import request_recalculation
from webapp.jobs.states import JobStatus


@api_bp.get("/modules/<id:module_id>/emissions")
def module_emissions(module_id: int):
    return module_figures(module_id)


@api_bp.get("/inventories/<id:inventory_id>/emissions")
def inventory_emissions(inventory_id: int):
    return inventory_figures(inventory_id)


@api_bp.post("/sync/emissions/<id:module_id>")
def sync_emissions(module_id: int):
    """202 with the job that will reflect the module's data as it is now: a new one, the
    one already pending, or the running one, which then runs once more
    (`rerun_requested`)."""
    job = request_recalculation(module_id, current_user)
    return accepted(job, rerun_requested=job.status == JobStatus.PROCESSING)
