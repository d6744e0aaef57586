"""The demo the launcher seeds: the demo university at every start (`make run` and
`make demo`), and for `make demo` its accounts and a first load of the labs' 2025 flights
from the Tableau stand-in, so the dashboard has figures from its first page.

The first loads are ordinary sync jobs, made by the job service as a "Sync now" click makes them
(history, undo, recalculation), run by the demo's worker in the background. F0892, the
demo editor's lab, is left empty for the visitor's own "Sync now". Only a database that
has never run a job gets them: a second start, or a visitor's own loads, are left alone.
"""

from __future__ import annotations

from webapp.extensions import db
from webapp.jobs import service
from webapp.jobs.requests import SyncRequest
from webapp.models import DataIngestionJob, Inventory, Module
from webapp.models.jobs import TargetType
from webapp.organisation.demo_university import (
    LABS,
    SEED_UNIT,
    other_units,
    seed_demo_university,
)
from webapp.standalone.demo_accounts import seed_demo_accounts

YEAR = 2025


def seed_demo_university_for(demo: bool) -> bool:
    """The minimal seed and the demo university; with `demo`, the demo accounts and first
    loads too. Nothing of the demo's beside units of the operator's own: the demo's would
    move F0892 into its tree. Returns whether the demo university is there."""
    from webapp.cli import seed_demo

    seed_demo(2025)  # the minimal seed first: F0892 keeps the modules 1-4
    kept = other_units()
    if kept:
        print(f"The database holds units of your own ({', '.join(kept)}...): the demo "
              "university, its accounts and loads are not added.", flush=True)
        return False
    seed_demo_university()
    if demo:
        seed_demo_accounts()
        queued = start_demo_syncs()
        if queued:
            print(f"Loading {len(queued)} labs' {YEAR} flights from the Tableau stand-in "
                  "(jobs in the background): the dashboard fills in as they finish.",
                  flush=True)
    return True


def start_demo_syncs() -> list[int]:
    """Queue one Tableau sync of travel per lab but SEED_UNIT, for YEAR, unless a job
    exists already. Returns the ids of the jobs queued."""
    if db.session.execute(db.select(DataIngestionJob.id).limit(1)).scalar() is not None:
        return []
    modules = db.session.execute(
        db.select(Module.id, Inventory.unit_code).join(Inventory)
        .where(Module.module_type == "travel", Inventory.year == YEAR,
               Inventory.unit_code.in_([lab for lab in LABS if lab != SEED_UNIT]))
        .order_by(Inventory.unit_code)).all()
    return [service.create_job(SyncRequest(
        module_id=module_id, provider_type="tableau_api", target_type=TargetType.DATA_ENTRIES,
        year=YEAR, filters={"centre_financier": code}), user=None).id
        for module_id, code in modules]
