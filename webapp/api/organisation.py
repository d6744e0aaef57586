"""The organisation's API (SPEC §13): units and years of inventories."""

from __future__ import annotations

from flask import request
from sqlalchemy import func, select

from webapp.api import api_bp
from webapp.api.params import listing, page_args
from webapp.auth import requires_role
from webapp.extensions import db
from webapp.models import Inventory, InventoryYear
from webapp.organisation import units, years


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


@api_bp.get("/units")
def units_list():
    """Units, searchable (`q`: code or name) and by parent (`parent`: a code; empty for
    the roots), paginated."""
    limit, offset = page_args(100)
    items, total = units.unit_page(parent=request.args.get("parent"),
                                   query=(request.args.get("q") or "").strip() or None,
                                   limit=limit, offset=offset)
    return listing(items, total, limit, offset)
