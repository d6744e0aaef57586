"""What the /admin/units pages show and change: the unit tree as the caller sees it, with
the units they manage marked, and a unit's members for its managers (the rules of
members.py and access.py, which the members API asks too)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from webapp import access
from webapp.extensions import db
from webapp.models import Membership, Unit
from webapp.organisation import members, units


def tree_page(*, parent: str | None, query: str | None, limit: int,
              offset: int) -> dict[str, Any]:
    """A page of the tree: the top units (or `parent`'s children, or those matching
    `query`), each marked `manages` when the caller may manage its members, and the
    path down to `parent` as far as the caller sees it.

    Raises:
        Forbidden (403): the caller manages no unit. NotFound (404): `parent` is out of
            sight.
    """
    access.require_user_manager("the units page")
    items, total = units.unit_page(parent=parent if parent or query else "", query=query,
                                   limit=limit, offset=offset)
    managed = set(db.session.execute(select(Unit.code).where(
        Unit.code.in_([item["code"] for item in items]), access.managed_units())).scalars())
    above = units.get_unit(parent) if parent else None
    return {"items": [{**item, "manages": item["code"] in managed} for item in items],
            "total": total, "parent": above, "path": _path_to(above)}


def _path_to(unit: Unit | None) -> list[Unit]:
    """`unit` and the units above it that the caller sees, from the top."""
    if unit is None:
        return []
    return list(db.session.execute(select(Unit).where(
        func.starts_with(unit.path, Unit.path), access.visible_units())
        .order_by(func.length(Unit.path))).scalars())


def members_page(code: str) -> dict[str, Any]:
    """A unit's own members, for those who manage it.

    Raises:
        NotFound (404): the unit is out of sight. Forbidden (403): seen, not managed.
    """
    unit = units.get_unit(code)
    members.require_manager(unit)
    return {"unit": unit, "members": members.members_of(unit),
            "path": _path_to(unit.parent) if unit.parent else []}


def set_member(code: str, email: str, role: str) -> Membership:
    """Give the user with `email` `role` in the unit (added, or their role changed)."""
    unit = units.get_unit(code)
    members.require_manager(unit)
    return members.set_member(unit, members.get_user(email), role)


def remove_member(code: str, email: str) -> None:
    unit = units.get_unit(code)
    members.require_manager(unit)
    members.remove_member(unit, members.get_user(email))
