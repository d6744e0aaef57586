"""What the API and pages show: the stored summaries (summary.py) plus `stale`, true
while a recalculation of the module is pending or running (the job system knows)."""

from __future__ import annotations

from typing import Any

from webapp.emissions.summary import inventory_emissions, module_emissions
from webapp.ingestion.jobs import queries


def module_figures(module_id: int) -> dict[str, Any]:
    """SPEC §10's module emissions. Raises NotFound."""
    figures = module_emissions(module_id)
    return {**figures, "stale": bool(queries.recalculating([module_id]))}


def inventory_figures(inventory_id: int) -> dict[str, Any]:
    """SPEC §10's inventory emissions, each module (and the whole) with `stale` too.
    Raises NotFound."""
    figures = inventory_emissions(inventory_id)
    stale = queries.recalculating([m["module_id"] for m in figures["modules"]])
    modules = [{**m, "stale": m["module_id"] in stale} for m in figures["modules"]]
    return {**figures, "modules": modules, "stale": bool(stale)}


def bar_widths(values: list[float], width: float = 100.0) -> list[float]:
    """Each value's bar length on a scale where the largest is `width` (charts)."""
    largest = max((v for v in values if v > 0), default=0)
    return [round(width * v / largest, 2) if largest and v > 0 else 0.0 for v in values]
