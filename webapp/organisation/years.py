"""Years of inventories (SPEC §13): one action creates a year's inventory and modules
for every active unit, in one transaction; the year stays closed to non-admins until an
admin opens it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select, text

from webapp import access, audit
from webapp.errors import Conflict, Invalid, NotFound
from webapp.extensions import db
from webapp.models import Inventory, InventoryYear
from webapp.models.inventory import MODULE_TYPES

FIRST_YEAR, LAST_YEAR = 1990, 2100  # what a carbon inventory can be about


@dataclass(frozen=True)
class YearCreated:
    year: int
    inventories: int
    modules: int


def create_year(year: int) -> YearCreated:
    """The inventory of every active unit for `year`, with its modules, in the caller's
    transaction: three set-based statements, whatever the number of units.

    Raises:
        Invalid (422): a year outside FIRST_YEAR..LAST_YEAR.
        Conflict (409): the year exists already.
    """
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise Invalid(f"year must be between {FIRST_YEAR} and {LAST_YEAR}", year=year)
    created = db.session.execute(text(
        "INSERT INTO inventory_years (year, open) VALUES (:year, false) "
        "ON CONFLICT (year) DO NOTHING RETURNING year"), {"year": year}).scalar()
    if created is None:
        raise Conflict(f"the year {year} exists already", year=year)
    inventories = db.session.execute(text(
        "INSERT INTO inventories (name, year, unit_code, unit_id) "
        "SELECT u.name || ' ' || :year, :year, u.code, u.id FROM units u WHERE u.active "
        "ON CONFLICT (unit_id, year) DO NOTHING"), {"year": year}).rowcount
    modules = db.session.execute(text(
        "INSERT INTO modules (inventory_id, module_type, name) "
        "SELECT i.id, t.module_type, t.name FROM inventories i "
        "CROSS JOIN unnest(CAST(:types AS text[]), CAST(:names AS text[])) "
        "AS t(module_type, name) WHERE i.year = :year "
        "ON CONFLICT (inventory_id, module_type) DO NOTHING"),
        {"year": year, "types": list(MODULE_TYPES), "names": list(MODULE_TYPES.values())}
    ).rowcount
    audit.record("year.created", target_type="year", target_id=year,
                 details={"inventories": inventories, "modules": modules})
    return YearCreated(year, inventories, modules)


def open_year(year: int) -> InventoryYear:
    """Open `year` to everyone its units' memberships allow (idempotent).

    Raises:
        NotFound (404): no such year.
    """
    row = db.session.get(InventoryYear, year, with_for_update=True)
    if row is None:
        raise NotFound(f"the year {year} does not exist")
    if not row.open:
        row.open = True
        audit.record("year.opened", target_type="year", target_id=year)
    return row


def year_body(row: InventoryYear, inventories: int | None = None) -> dict:
    body = {"year": row.year, "open": row.open}
    if inventories is not None:
        body["inventories"] = inventories
    return body


def year_list() -> list[dict]:
    """The years the caller may see (all for admins; the open ones for anyone else),
    each with how many of the caller's inventories it holds."""
    counts = dict(db.session.execute(
        select(Inventory.year, func.count()).where(access.visible_inventories())
        .group_by(Inventory.year)).all())
    query = select(InventoryYear).order_by(InventoryYear.year)
    if not access.sees_everything():
        query = query.where(InventoryYear.open)
    return [year_body(row, counts.get(row.year, 0))
            for row in db.session.execute(query).scalars()]
