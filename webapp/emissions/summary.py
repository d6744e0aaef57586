"""Read side: the SPEC §10 shapes of a module's and an inventory's emissions.

Read from `module_emission_summaries` (one row per module, written by each
recalculation), so a page costs the same with a thousand entries or a million. The
`stale` flag of the API is the job system's to add: it knows what is pending.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from webapp import access
from webapp.errors import NotFound
from webapp.extensions import db
from webapp.models import Inventory, Module
from webapp.models.entries import ModuleEmissionSummary


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def _figures(summary: ModuleEmissionSummary | None) -> dict[str, Any]:
    if summary is None:  # never recalculated: nothing is known yet
        return {"total_kg_co2eq": 0.0, "entries": 0, "entries_with_emissions": 0}
    return {"total_kg_co2eq": summary.total_kg_co2eq, "entries": summary.entries,
            "entries_with_emissions": summary.entries_with_emissions}


def module_emissions(module_id: int) -> dict[str, Any]:
    """`{module_id, year, total_kg_co2eq, entries, entries_with_emissions, by_entry_type,
    missing, missing_reasons, last_recalculation_job_id, recalculated_at}`; a module never
    recalculated has zeros and `recalculated_at` None. `missing` holds the most frequent
    reasons; `missing_reasons` counts them all.

    Raises:
        NotFound: no module has this id.
    """
    row = db.session.execute(
        select(Module, Inventory.year, ModuleEmissionSummary)
        .join(Inventory, Inventory.id == Module.inventory_id)
        .outerjoin(ModuleEmissionSummary, ModuleEmissionSummary.module_id == Module.id)
        .where(Module.id == module_id)).one_or_none()
    missing = f"module {module_id} does not exist"
    if row is None:
        raise NotFound(missing)
    module, year, summary = row
    access.check_inventory(module.inventory_id, missing)
    return {
        "module_id": module.id, "year": year, **_figures(summary),
        "by_entry_type": summary.by_entry_type if summary else [],
        "missing": summary.missing if summary else [],
        "missing_reasons": summary.missing_reasons if summary else 0,
        "last_recalculation_job_id": summary.job_id if summary else None,
        "recalculated_at": _iso(summary.recalculated_at) if summary else None,
    }


def inventory_emissions(inventory_id: int) -> dict[str, Any]:
    """`{inventory_id, year, total_kg_co2eq, modules: [{module_id, module_type, name,
    total_kg_co2eq, entries, entries_with_emissions}]}`, modules in id order.

    Raises:
        NotFound: no inventory has this id.
    """
    missing = f"inventory {inventory_id} does not exist"
    inventory = db.session.get(Inventory, inventory_id)
    if inventory is None:
        raise NotFound(missing)
    access.check_inventory(inventory.id, missing)
    rows = db.session.execute(
        select(Module, ModuleEmissionSummary)
        .outerjoin(ModuleEmissionSummary, ModuleEmissionSummary.module_id == Module.id)
        .where(Module.inventory_id == inventory_id).order_by(Module.id)).all()
    modules = [{"module_id": module.id, "module_type": module.module_type,
                "name": module.name, **_figures(summary)} for module, summary in rows]
    return {"inventory_id": inventory.id, "year": inventory.year,
            "total_kg_co2eq": sum(m["total_kg_co2eq"] for m in modules), "modules": modules}
