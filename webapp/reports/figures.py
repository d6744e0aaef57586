"""The figures of a report (SPEC §15): what a unit's subtree, or every unit the caller
sees, emitted in a year and the year before, from the stored module summaries.

Totals are sums of `module_emission_summaries` (one row per module, written by each
recalculation), as the emissions API and the dashboard read them: a report costs a few
queries over those rows whatever the number of entries, and the same few whatever the
number of units. Only the entry sheets of the workbook read entries (`entry_rows`,
through a server-side cursor).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, select, text

from webapp import access
from webapp.errors import NotFound
from webapp.extensions import db
from webapp.models import InventoryYear, Unit
from webapp.models.inventory import MODULE_TYPES
from webapp.organisation.units import get_unit

CHILDREN_SHOWN = 25  # a unit's largest children on its report page; the rest are counted
REASONS_SHOWN = 10
ENTRY_BATCH = 2000  # entries fetched from the server-side cursor at a time


@dataclass(frozen=True)
class Scope:
    """What a report covers: `top`'s subtree (None: every unit the caller sees) in
    `year`, compared with `previous` (None: the year before is not the caller's to see)."""

    top: Unit | None
    year: int
    previous: int | None

    @property
    def years(self) -> list[int]:
        return [self.year] + ([self.previous] if self.previous else [])

    def condition(self, unit=Unit) -> ColumnElement[bool]:
        """A condition on `unit`: in the scope. Whoever sees a unit sees every unit below
        it (memberships hold downwards), so a subtree needs no further check."""
        if self.top is None:
            return access.visible_units(unit=unit)
        return access.in_subtree(unit.path, self.top.path)


def report_scope(year: int, unit_code: str | None) -> Scope:
    """The scope of the caller's report of `year` for `unit_code` (None: all they see).

    Raises:
        NotFound: a year or a unit that does not exist or the caller may not see (the
        same sentence either way).
    """
    if db.session.get(InventoryYear, year) is None or not access.year_visible(year):
        raise NotFound(f"no year {year}")
    top = get_unit(unit_code) if unit_code else None
    previous = year - 1 if db.session.get(InventoryYear, year - 1) is not None \
        and access.year_visible(year - 1) else None
    return Scope(top=top, year=year, previous=previous)


def _scope_sql(scope: Scope) -> tuple[str, dict[str, Any]]:
    """The scope as SQL text on `units u`, with its parameters, for the queries below
    that are easier to read written out."""
    if scope.top is not None:
        return "u.path ~>=~ :top_path AND u.path ~<~ (:top_path || '~')", {
            "top_path": scope.top.path}
    visible = select(Unit.id).where(scope.condition()).compile(
        db.engine, compile_kwargs={"literal_binds": True})
    return f"u.id IN ({visible})", {}


# -- the totals sheet: every unit of the scope, with its own inventory's modules ---------

@dataclass
class UnitTotals:
    """One unit's own figures (not its subtree's): kg per (year, module type), None
    where it has no such module."""

    code: str
    name: str
    parent_code: str | None
    path_codes: list[str]  # from the highest unit of the scope down to this one
    kg: dict[tuple[int, str], float] = field(default_factory=dict)

    def total(self, year: int | None) -> float | None:
        found = [kg for (y, _), kg in self.kg.items() if y == year]
        return sum(found) if found else None


def unit_totals(scope: Scope) -> Iterator[UnitTotals]:
    """Every unit of the scope, parents before their children, with its own modules'
    totals in the scope's years: one query, read in slices."""
    where, params = _scope_sql(scope)
    rows = db.session.execute(text(f"""
        SELECT u.id, u.code, u.name, u.parent_id, u.path, i.year, m.module_type,
               coalesce(s.total_kg_co2eq, 0) AS kg, m.id AS module_id
        FROM units u
        LEFT JOIN inventories i ON i.unit_id = u.id AND i.year = ANY(:years)
        LEFT JOIN modules m ON m.inventory_id = i.id
        LEFT JOIN module_emission_summaries s ON s.module_id = m.id
        WHERE {where}
        ORDER BY u.path COLLATE "C", u.id"""), {**params, "years": scope.years},
        execution_options={"yield_per": ENTRY_BATCH})
    codes: dict[int, str] = {}  # the scope's units seen so far: their ancestors come first
    current: UnitTotals | None = None
    current_id = None
    for row in rows:
        if row.id != current_id:
            if current is not None:
                yield current
            codes[row.id] = row.code
            ancestors = [int(part) for part in row.path.strip("/").split("/") if part]
            current_id = row.id
            current = UnitTotals(code=row.code, name=row.name,
                                 parent_code=codes.get(row.parent_id),
                                 path_codes=[codes[a] for a in ancestors if a in codes])
        if row.module_id is not None:
            key = (row.year, row.module_type)
            current.kg[key] = current.kg.get(key, 0.0) + float(row.kg)
    if current is not None:
        yield current


def module_types() -> list[str]:
    return list(MODULE_TYPES)


# -- the entry sheets ---------------------------------------------------------------------

def entry_types(scope: Scope) -> list[str]:
    """The entry types the scope's modules hold in its year: as the entry sink counts
    them, and as the last recalculations found them."""
    where, params = _scope_sql(scope)
    return list(db.session.execute(text(f"""
        WITH scoped AS (
            SELECT m.id FROM units u
            JOIN inventories i ON i.unit_id = u.id AND i.year = :year
            JOIN modules m ON m.inventory_id = i.id WHERE {where})
        SELECT c.entry_type FROM module_entry_counts c JOIN scoped ON scoped.id = c.module_id
        WHERE c.entries > 0
        UNION
        SELECT t->>'entry_type' FROM module_emission_summaries s
        JOIN scoped ON scoped.id = s.module_id, jsonb_array_elements(s.by_entry_type) t
        WHERE (t->>'entries')::bigint > 0
        ORDER BY 1"""), {**params, "year": scope.year}).scalars())


def entry_rows(scope: Scope, entry_type: str) -> Iterator[Any]:
    """Every entry of `entry_type` of the scope's units in its year, unit by unit, with
    the factor its emission used: read through a server-side cursor, a slice at a time."""
    where, params = _scope_sql(scope)
    return db.session.execute(text(f"""
        SELECT u.code AS unit_code, e.id, e.data, e.kg_co2eq, e.emission, e.source,
               f.id AS factor_id, ft.slug AS factor_type, f.classification, f.values
        FROM units u
        JOIN inventories i ON i.unit_id = u.id AND i.year = :year
        JOIN modules m ON m.inventory_id = i.id
        JOIN data_entries e ON e.module_id = m.id AND e.year = :year
                           AND e.entry_type = :entry_type
        LEFT JOIN emission_factors f ON f.id = (e.emission->>'factor_id')::bigint
        LEFT JOIN factor_types ft ON ft.id = f.factor_type_id
        WHERE {where}
        ORDER BY u.path COLLATE "C", e.id"""),
        {**params, "year": scope.year, "entry_type": entry_type},
        execution_options={"yield_per": ENTRY_BATCH})


def unit_count(scope: Scope) -> int:
    where, params = _scope_sql(scope)
    return db.session.execute(text(f"SELECT count(*) FROM units u WHERE {where}"),
                              params).scalar()
