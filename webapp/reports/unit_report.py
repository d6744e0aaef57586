"""The figures of a unit's printable report page (SPEC §15): its subtree's total in a
year and the year before, per module, per entry type, coverage, the reasons entries
have no emissions, and its largest children. Five queries over the stored summaries of
the subtree, whatever its size."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text

from webapp.extensions import db
from webapp.models.inventory import MODULE_TYPES
from webapp.reports.charts import module_pairs, share_bars
from webapp.reports.figures import (
    CHILDREN_SHOWN,
    REASONS_SHOWN,
    Scope,
    report_scope,
    unit_count,
)

# The subtree's modules in the report's years, with their summaries (none: never
# recalculated) and whether they hold entries (as recalculated, or as the entry sink
# counted them since).
_MODULES = """
    SELECT i.year, m.module_type, i.unit_id, s.module_id IS NOT NULL AS recalculated,
           coalesce(s.total_kg_co2eq, 0) AS kg, coalesce(s.entries, 0) AS entries,
           coalesce(s.entries_with_emissions, 0) AS with_emissions,
           s.by_entry_type, s.missing,
           coalesce(s.entries, 0) > 0 OR EXISTS (
               SELECT 1 FROM module_entry_counts c
               WHERE c.module_id = m.id AND c.entries > 0) AS loaded
    FROM units u
    JOIN inventories i ON i.unit_id = u.id AND i.year = ANY(:years)
    JOIN modules m ON m.inventory_id = i.id
    LEFT JOIN module_emission_summaries s ON s.module_id = m.id
    WHERE u.path ~>=~ :path AND u.path ~<~ (:path || '~')"""


def change(now: float | None, before: float | None) -> dict[str, float | None]:
    """`{kg, percent}` from `before` to `now` (percent None when there was nothing)."""
    if now is None or before is None:
        return {"kg": None, "percent": None}
    return {"kg": now - before, "percent": (now - before) / before * 100 if before else None}


@dataclass
class UnitReport:
    scope: Scope
    units: int = 0  # in the subtree, the unit included
    total: dict[int, float] = field(default_factory=dict)  # year -> kg
    modules: list[dict[str, Any]] = field(default_factory=list)
    entry_types: list[dict[str, Any]] = field(default_factory=list)
    reasons: list[dict[str, Any]] = field(default_factory=list)
    without_emissions: int = 0
    children: list[dict[str, Any]] = field(default_factory=list)
    more_children: int = 0
    module_chart: list[dict[str, Any]] = field(default_factory=list)  # charts.py
    type_chart: list[dict[str, Any]] = field(default_factory=list)

    @property
    def change(self) -> dict[str, float | None]:
        scope = self.scope
        return change(self.total.get(scope.year, 0.0),
                      self.total.get(scope.previous) if scope.previous else None)


def unit_report(code: str, year: int) -> UnitReport:
    """The report of unit `code`'s subtree in `year`, as the caller sees it.

    Raises:
        NotFound: a unit or a year the caller does not see.
    """
    scope = report_scope(year, code)
    report = UnitReport(scope=scope, units=unit_count(scope))
    rows = db.session.execute(text(_MODULES), {"years": scope.years,
                                               "path": scope.top.path}).mappings().all()
    _modules(report, rows)
    _entry_types_and_reasons(report, [row for row in rows if row["year"] == scope.year])
    _children(report)
    report.module_chart = module_pairs(report.modules)
    report.type_chart = share_bars(report.entry_types)
    return report


def _modules(report: UnitReport, rows) -> None:
    """Per module type: kg in each year, and this year's coverage."""
    scope = report.scope
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        module = found.setdefault(row["module_type"], {
            "module_type": row["module_type"], "kg": {}, "units": 0, "loaded": 0,
            "recalculated": 0, "entries": 0, "with_emissions": 0,
            "name": MODULE_TYPES.get(row["module_type"], row["module_type"])})
        module["kg"][row["year"]] = module["kg"].get(row["year"], 0.0) + row["kg"]
        report.total[row["year"]] = report.total.get(row["year"], 0.0) + row["kg"]
        if row["year"] == scope.year:
            module["units"] += 1
            module["loaded"] += row["loaded"]
            module["recalculated"] += row["recalculated"]
            module["entries"] += row["entries"]
            module["with_emissions"] += row["with_emissions"]
    order = list(MODULE_TYPES)
    report.modules = sorted(found.values(), key=lambda m: (
        order.index(m["module_type"]) if m["module_type"] in order else len(order),
        m["module_type"]))
    for module in report.modules:
        module["this"] = module["kg"].get(scope.year, 0.0)
        module["before"] = module["kg"].get(scope.previous) if scope.previous else None
        module["change"] = change(module["this"], module["before"])
    report.without_emissions = sum(m["entries"] - m["with_emissions"]
                                   for m in report.modules)


def _entry_types_and_reasons(report: UnitReport, rows) -> None:
    types: dict[str, dict[str, Any]] = {}
    reasons: dict[str, int] = {}
    for row in rows:
        for item in row["by_entry_type"] or []:
            entry = types.setdefault(item["entry_type"], {
                "entry_type": item["entry_type"], "kg": 0.0, "entries": 0,
                "with_emissions": 0})
            entry["kg"] += float(item["kg_co2eq"] or 0)
            entry["entries"] += int(item["entries"])
            entry["with_emissions"] += int(item["entries_with_emissions"])
        for item in row["missing"] or []:
            reasons[item["reason"]] = reasons.get(item["reason"], 0) + int(item["entries"])
    total = sum(entry["kg"] for entry in types.values())
    report.entry_types = sorted(types.values(), key=lambda e: (-e["kg"], e["entry_type"]))
    for entry in report.entry_types:
        entry["share"] = entry["kg"] / total * 100 if total > 0 else None
    report.reasons = [{"reason": reason, "entries": entries} for reason, entries in sorted(
        reasons.items(), key=lambda item: (-item[1], item[0]))[:REASONS_SHOWN]]


def _children(report: UnitReport) -> None:
    """The unit's largest direct children this year, each with its subtree's totals.
    Each unit of the subtree is attributed to a child by its path (the id one level
    below the unit's): one pass, no child compared with every unit."""
    scope, top = report.scope, report.scope.top
    depth = len([part for part in top.path.split("/") if part])
    rows = db.session.execute(text("""
        WITH per_child AS (
            SELECT split_part(u.path, '/', :part) AS child_id, i.year,
                   sum(coalesce(s.total_kg_co2eq, 0)) AS kg
            FROM units u
            JOIN inventories i ON i.unit_id = u.id AND i.year = ANY(:years)
            JOIN modules m ON m.inventory_id = i.id
            LEFT JOIN module_emission_summaries s ON s.module_id = m.id
            WHERE u.path ~>=~ :path AND u.path ~<~ (:path || '~') AND u.id <> :unit
            GROUP BY 1, 2)
        SELECT c.code, c.name,
               (SELECT count(*) FROM units g WHERE g.parent_id = c.id) AS children,
               sum(p.kg) FILTER (WHERE p.year = :year) AS kg,
               sum(p.kg) FILTER (WHERE p.year = :previous) AS before,
               count(*) OVER () AS total
        FROM units c LEFT JOIN per_child p ON p.child_id = c.id::text
        WHERE c.parent_id = :unit
        GROUP BY c.id, c.code, c.name
        ORDER BY kg DESC NULLS LAST, c.code
        LIMIT :limit"""), {"part": depth + 2, "years": scope.years, "path": top.path,
                           "unit": top.id, "year": scope.year, "previous": scope.previous,
                           "limit": CHILDREN_SHOWN}).mappings().all()
    report.children = [{**row, "change": change(row["kg"], row["before"])
                        if scope.previous else change(None, None)} for row in rows]
    report.more_children = rows[0]["total"] - len(rows) if rows else 0
