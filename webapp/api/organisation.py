"""The organisation's API (SPEC §13): units, their members, years of inventories, and
who the caller is."""

from __future__ import annotations

from flask import request
from flask_login import current_user

from webapp.api import api_bp
from webapp.api.params import expect_type, json_body, json_object, listing, page_args
from webapp.auth import requires_admin
from webapp.extensions import db
from webapp.organisation import members, units, year_copy, years


@api_bp.get("/years")
def years_list():
    items = years.year_list()
    return listing(items, len(items))


@api_bp.post("/years/<id:year>")
@requires_admin
def years_create(year: int):
    # An optional body {"copy_from": YEAR} copies that year's factors and schedules.
    body = json_body({"copy_from": (int,)}) if request.get_data(cache=True) else {}
    if body.get("copy_from") is not None:
        return year_copy.create_year_from(year, body["copy_from"], current_user).body(), 201
    created = years.create_year(year)
    db.session.commit()
    return {"year": created.year, "open": False, "inventories": created.inventories,
            "modules": created.modules}, 201


@api_bp.post("/years/<id:year>/open")
@requires_admin
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


@api_bp.get("/me")
def me():
    return {"email": current_user.email, "admin": current_user.is_admin,
            "memberships": members.memberships_of(current_user)}


@api_bp.get("/units/<code>/members")
def unit_members(code: str):
    unit = units.get_unit(code)
    members.require_manager(unit)
    items = members.members_of(unit)
    return listing(items, len(items))


@api_bp.put("/units/<code>/members/<email>")
def unit_member_set(code: str, email: str):
    unit = units.get_unit(code)
    members.require_manager(unit)
    role = expect_type(json_object().get("role"), "role", str)
    user = members.get_user(email)
    membership = members.set_member(unit, user, role)
    db.session.commit()
    return members.member_body(membership, user.email)


@api_bp.delete("/units/<code>/members/<email>")
def unit_member_remove(code: str, email: str):
    unit = units.get_unit(code)
    members.require_manager(unit)
    members.remove_member(unit, members.get_user(email))
    db.session.commit()
    return "", 204
