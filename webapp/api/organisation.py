"""The organisation's API (SPEC §13): years of inventories."""

from __future__ import annotations

from sqlalchemy import func, select

from webapp.api import api_bp
from webapp.api.params import listing
from webapp.auth import requires_role
from webapp.extensions import db
from webapp.models import Inventory, InventoryYear
from webapp.organisation import years


@api_bp.get("/years")
def years_list():
    counts = dict(db.session.execute(
        select(Inventory.year, func.count()).group_by(Inventory.year)).all())
    rows = db.session.execute(select(InventoryYear).order_by(InventoryYear.year)).scalars()
    items = [years.year_body(row, counts.get(row.year, 0)) for row in rows]
    return listing(items, len(items))


@api_bp.post("/years/<id:year>")
@requires_role("admin")
def years_create(year: int):
    created = years.create_year(year)
    db.session.commit()
    return {"year": created.year, "open": False, "inventories": created.inventories,
            "modules": created.modules}, 201


@api_bp.post("/years/<id:year>/open")
@requires_role("admin")
def years_open(year: int):
    row = years.open_year(year)
    db.session.commit()
    return years.year_body(row)
