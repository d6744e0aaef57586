"""What the API and pages show: the stored summaries (summary.py) plus `stale`, true
while a recalculation of the module is pending or running (the job system knows)."""

from __future__ import annotations

from typing import Any

from webapp.emissions.job import recalculating
from webapp.emissions.summary import inventory_emissions, module_emissions


def module_figures(module_id: int) -> dict[str, Any]:
    """SPEC §10's module emissions. Raises NotFound."""
    figures = module_emissions(module_id)
    active = recalculating([module_id]).get(module_id)
    return {**figures, "stale": active is not None, "recalculation_job_id": active}


def inventory_figures(inventory_id: int) -> dict[str, Any]:
    """SPEC §10's inventory emissions, each module (and the whole) with `stale` too.
    Raises NotFound."""
    figures = inventory_emissions(inventory_id)
    stale = recalculating([m["module_id"] for m in figures["modules"]])
    modules = [{**m, "stale": m["module_id"] in stale} for m in figures["modules"]]
    return {**figures, "modules": modules, "stale": bool(stale)}


def chart_bars(items: list[dict[str, Any]], label: str, value: str = "kg_co2eq",
               width: float = 100.0) -> list[dict[str, Any]]:
    """`items` as the bars of a chart: `{label, value, length, item}`, the length on a
    scale where the largest value is `width` (negative or zero values get no bar)."""
    values = [float(item[value] or 0) for item in items]
    largest = max((v for v in values if v > 0), default=0)
    return [{"label": item[label], "value": v, "item": item,
             "length": round(width * v / largest, 2) if largest and v > 0 else 0.0}
            for item, v in zip(items, values, strict=True)]
