"""The dashboard of a university of thousands of units (SPEC §13): the caller's units a
page at a time, each with its total for the year rolled up from every unit below it,
and the chosen unit's own inventory.

Totals come from the stored module summaries (one row per module, written by each
recalculation): a page of 50 units costs one query over their subtrees' summaries,
never a scan of entries, whatever the size of the tree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, text

from webapp import access
from webapp.errors import NotFound
from webapp.extensions import db
from webapp.models import Inventory, Unit
from webapp.organisation import years
from webapp.organisation.units import get_unit, unit_page

PAGE_SIZE = 50


@dataclass
class Dashboard:
    """What the dashboard shows. `unit` None: the caller's highest units (or a search)."""

    years: list[int]
    year: int | None
    unit: Unit | None = None
    trail: list[Unit] = field(default_factory=list)  # the unit's ancestors the caller sees
    inventory: Inventory | None = None  # the unit's own, for the year
    unit_total: dict[str, Any] | None = None  # the unit's with every unit below it
    rows: list[dict[str, Any]] = field(default_factory=list)
    total: int = 0
    page: int = 1
    query: str | None = None

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE_SIZE))


def dashboard(*, unit_code: str | None, year: int | None, query: str | None,
              page: int) -> Dashboard:
    """The dashboard for the caller: `unit_code`'s children (none: the caller's highest
    units; when that is a single unit, that unit is the one shown), or the units
    matching `query`, with their totals in `year` (none: the newest year the caller has
    inventories in).

    Raises:
        NotFound: a unit or a year the caller does not see.
    """
    listed = years.year_list()
    shown = [body["year"] for body in listed]
    if year is None:
        year = next((body["year"] for body in reversed(listed) if body["inventories"]),
                    shown[-1] if shown else None)
    elif year not in shown:
        raise NotFound(f"no year {year}")
    view = Dashboard(years=shown, year=year, page=page, query=query)
    unit = get_unit(unit_code) if unit_code else None
    if unit is None and not query:
        top, count = unit_page(parent="", limit=2)
        if count == 1:
            unit = get_unit(top[0]["code"])
    offset = (page - 1) * PAGE_SIZE
    if query:
        view.rows, view.total = unit_page(query=query, limit=PAGE_SIZE, offset=offset)
    else:
        view.rows, view.total = unit_page(parent=unit.code if unit else "",
                                          limit=PAGE_SIZE, offset=offset)
    if unit is not None:
        view.unit, view.trail = unit, _trail(unit)
        view.inventory = db.session.execute(select(Inventory).where(
            Inventory.unit_id == unit.id, Inventory.year == year)).scalar()
        totals = subtree_totals([unit.code, *(row["code"] for row in view.rows)], year)
        view.unit_total = totals.get(unit.code)
    else:
        totals = subtree_totals([row["code"] for row in view.rows], year)
    for row in view.rows:
        row["totals"] = totals.get(row["code"])
    return view


def subtree_totals(codes: list[str], year: int | None) -> dict[str, dict[str, Any]]:
    """{code: {kg, entries, inventories}}: each unit's figures in `year` with every unit
    below it, from the stored summaries. Units with no inventory that year are left out."""
    if not codes or year is None:
        return {}
    # The units below the page's units are found once (page units may hold each other:
    # a unit and its children), their inventories' summaries summed once per unit, and
    # those sums added up for each page unit: index range scans, no unit compared with
    # every other.
    rows = db.session.execute(text("""
        WITH page AS (SELECT code, path FROM units WHERE code = ANY(CAST(:codes AS text[]))),
        below AS (
            SELECT DISTINCT b.id, b.path FROM page
            JOIN units b ON b.path ~>=~ page.path AND b.path ~<~ (page.path || '~')),
        per_unit AS (
            SELECT below.path, coalesce(sum(s.total_kg_co2eq), 0) AS kg,
                   coalesce(sum(s.entries), 0) AS entries
            FROM below
            JOIN inventories i ON i.unit_id = below.id AND i.year = :year
            JOIN modules m ON m.inventory_id = i.id
            LEFT JOIN module_emission_summaries s ON s.module_id = m.id
            GROUP BY below.path)
        SELECT page.code, sum(p.kg) AS kg, sum(p.entries) AS entries,
               count(*) AS inventories
        FROM page JOIN per_unit p ON p.path ~>=~ page.path AND p.path ~<~ (page.path || '~')
        GROUP BY page.code"""), {"codes": codes, "year": year}).mappings()
    return {row["code"]: {"kg": float(row["kg"]), "entries": int(row["entries"]),
                          "inventories": int(row["inventories"])} for row in rows}


def _trail(unit: Unit) -> list[Unit]:
    """The unit's ancestors the caller sees, root first (their ids are its path)."""
    ids = [int(part) for part in unit.path.strip("/").split("/")[:-1]]
    if not ids:
        return []
    found = db.session.execute(select(Unit).where(Unit.id.in_(ids),
                                                  access.visible_units())).scalars()
    depth = {unit_id: position for position, unit_id in enumerate(ids)}
    return sorted(found, key=lambda ancestor: depth[ancestor.id])
