"""Who may see and change what (SPEC §13): the one place every read and every change
asks.

A membership gives its role in its unit and every unit below it; a user sees the units
under their memberships, and only in open years. Admins, and the system itself (workers,
schedules, the command line: no request, no caller), see and change everything.

- Reads: `visible_units()` and `visible_inventories()` are conditions the list queries
  add; `check_inventory(inventory_id, ...)` and `check_unit(unit, ...)` guard a
  lookup by id (catalog.get_module, queries.get_job, schedules.get, units.get_unit):
  what the caller may not see does not exist for them (404, with the same sentence as
  a missing row, so ids reveal nothing).
- Changes: `require(unit, role)` raises Forbidden (403) when the caller sees the unit
  but holds less than `role` there; `may(unit, role)` answers the same for a page's
  buttons. Tokens act with their owner's memberships: the caller is the token's owner.
- People: managers see the users who are members of the units they manage
  (`visible_users()`); who manages no unit may not manage users (`require_user_manager`,
  403); a user's API tokens are theirs and the admins' alone (`require_self_or_admin`).
"""

from __future__ import annotations

from flask import g, has_request_context
from flask_login import current_user
from sqlalchemy import ColumnElement, Select, and_, exists, select, text, true
from sqlalchemy.orm import aliased

from webapp.errors import Forbidden, NotFound
from webapp.extensions import db
from webapp.models import UNIT_ROLES, Inventory, InventoryYear, Membership, Unit, User

ADMIN = "admin"  # not a unit role: only admins hold it


def caller() -> User | None:
    """The user the current request acts for; None for the system (no request, or a
    public route such as the health check, which reads nothing scoped)."""
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user._get_current_object()
    return None


def sees_everything(user: User | None = None) -> bool:
    user = user or caller()
    return user is None or user.is_admin


# -- reads ------------------------------------------------------------------------------

def in_subtree(path, top) -> ColumnElement[bool]:
    """A condition: `path` (a units.path column) is `top`'s path or below it. A subtree
    is a path prefix (migration 0007); written as a byte-wise range (paths hold digits
    and '/', all before '~') so the text_pattern_ops index serves it even when `top` is
    a column, where a LIKE pattern could not use it."""
    upper = (top + "~").self_group() if hasattr(top, "self_group") else top + "~"
    return and_(path.op("~>=~", is_comparison=True)(top),
                path.op("~<~", is_comparison=True)(upper))


def visible_units(user: User | None = None, unit=Unit) -> ColumnElement[bool]:
    """A condition on `unit` (`Unit` or an alias of it): the units under the caller's
    memberships."""
    user = user or caller()
    if sees_everything(user):
        return true()
    held, below = aliased(Unit), aliased(Unit)
    return unit.id.in_(select(below.id).join(held, in_subtree(below.path, held.path)).join(
        Membership, Membership.unit_id == held.id).where(Membership.user_id == user.id))


def visible_unit_ids(user: User | None = None) -> Select:
    return select(Unit.id).where(visible_units(user))


def visible_inventories(user: User | None = None) -> ColumnElement[bool]:
    """A condition on `Inventory`: of a visible unit, in an open year."""
    user = user or caller()
    if sees_everything(user):
        return true()
    return Inventory.unit_id.in_(visible_unit_ids(user)) & Inventory.year.in_(
        select(InventoryYear.year).where(InventoryYear.open))


def visible_inventory_ids(user: User | None = None) -> Select:
    return select(Inventory.id).where(visible_inventories(user))


def of_visible_inventory(column) -> ColumnElement[bool]:
    """A condition on a column holding an inventory id (a job's, a module's): true for
    those who see everything, so records of no inventory stay theirs alone."""
    if sees_everything():
        return true()
    return column.in_(visible_inventory_ids())


def role_in(user: User, unit: Unit | None) -> str | None:
    """The user's highest role in `unit` through their memberships in it or above it
    ("admin" for admins; None: the unit is out of their sight)."""
    if user.is_admin:
        return ADMIN
    if unit is None:  # an inventory from before units (none after migration 0007)
        return None
    cache = g.setdefault("unit_roles", {}) if has_request_context() else {}
    key = (user.id, unit.path)
    if key not in cache:
        roles = db.session.execute(text(
            "SELECT m.role FROM memberships m JOIN units held ON held.id = m.unit_id "
            "WHERE m.user_id = :user AND starts_with(:path, held.path)"),
            {"user": user.id, "path": unit.path}).scalars().all()
        cache[key] = max(roles, key=UNIT_ROLES.index, default=None)
    return cache[key]


def year_visible(year: int | None) -> bool:
    """Whether the caller sees `year`'s records: admins all, others the open years."""
    return sees_everything() or year is None or bool(db.session.execute(
        select(InventoryYear.open).where(InventoryYear.year == year)).scalar())


def check_inventory(inventory_id: int | None, missing: str) -> None:
    """Raise NotFound(`missing`) unless the caller may see that inventory (its unit, in
    an open year): one query, none for who sees everything. What a module, a job or a
    schedule belongs to is checked this way: a job's status is polled every second.

    Raises:
        NotFound: worded as the lookup's own "does not exist".
    """
    user = caller()
    if sees_everything(user):
        return
    if inventory_id is None or not db.session.execute(
            _INVENTORY_VISIBLE, {"inventory": inventory_id, "user": user.id}).scalar():
        raise NotFound(missing)


# visible_inventories() for one inventory, written out once: built as an expression on
# every call, it cost a status poll more Python than all the rest of the request.
_INVENTORY_VISIBLE = text("""
    SELECT EXISTS (
        SELECT 1 FROM inventories i
        JOIN inventory_years y ON y.year = i.year AND y.open
        JOIN units u ON u.id = i.unit_id
        JOIN units held ON u.path ~>=~ held.path AND u.path ~<~ (held.path || '~')
        JOIN memberships m ON m.unit_id = held.id AND m.user_id = :user
        WHERE i.id = :inventory)""")


def check_unit(unit: Unit, missing: str) -> None:
    """Raise NotFound(`missing`) unless the caller may see `unit`.

    Raises:
        NotFound: worded as the lookup's own "does not exist".
    """
    user = caller()
    if not sees_everything(user) and role_in(user, unit) is None:
        raise NotFound(missing)


def visible_codes(codes: list[str]) -> set[str]:
    """Those of the unit `codes` the caller sees (all of them for who sees everything)."""
    if sees_everything() or not codes:
        return set(codes)
    return set(db.session.execute(select(Unit.code).where(
        Unit.code.in_(codes), visible_units())).scalars())


# -- changes ----------------------------------------------------------------------------

def _rank(role: str | None) -> int:
    if role == ADMIN:
        return len(UNIT_ROLES)
    return UNIT_ROLES.index(role) if role in UNIT_ROLES else -1


def may(unit: Unit | None, role: str, user: User | None = None) -> bool:
    """Whether the caller holds at least `role` in `unit` ("admin": is an admin)."""
    user = user or caller()
    if sees_everything(user):
        return True
    return _rank(role_in(user, unit)) >= _rank(role)


def require(unit: Unit | None, role: str, action: str = "this") -> None:
    """Let the caller change something of `unit` only with at least `role` there.

    Raises:
        Forbidden (403): naming the role needed and the caller's own.
    """
    user = caller()
    if may(unit, role, user):
        return
    if role == ADMIN:
        raise Forbidden(f"{action} needs an admin")
    held = role_in(user, unit) if user else None
    where = f" in {unit.code}" if unit is not None else ""
    raise Forbidden(f"{action} needs the {role} role{where} (yours: {held or 'none'})")


def require_admin(action: str = "this") -> None:
    require(None, ADMIN, action)


# -- people ----------------------------------------------------------------------------

def managed_units(user: User | None = None, unit=Unit) -> ColumnElement[bool]:
    """A condition on `unit` (`Unit` or an alias): the units under the caller's manager
    memberships."""
    user = user or caller()
    if sees_everything(user):
        return true()
    # Aliases of their own: a query of memberships around this one must not correlate.
    held, below, holding = aliased(Unit), aliased(Unit), aliased(Membership)
    return unit.id.in_(select(below.id).join(held, in_subtree(below.path, held.path)).join(
        holding, holding.unit_id == held.id).where(holding.user_id == user.id,
                                                    holding.role == "manager"))


def manages_units(user: User | None = None) -> bool:
    """Whether the caller is an admin or the manager of some unit."""
    user = user or caller()
    if sees_everything(user):
        return True
    return bool(db.session.execute(select(exists().where(
        Membership.user_id == user.id, Membership.role == "manager"))).scalar())


def require_user_manager(action: str = "managing users") -> None:
    """Users are managed by admins and by managers (for their units' members).

    Raises:
        Forbidden (403): the caller manages no unit.
    """
    if not manages_units():
        raise Forbidden(f"{action} needs an admin or the manager role in a unit")


def visible_users(user: User | None = None) -> ColumnElement[bool]:
    """A condition on `User`: everyone for admins; for a manager, themself and the
    members of the units they manage (a member of a unit above theirs is not theirs to
    see: that membership is its own unit's managers' business)."""
    user = user or caller()
    if sees_everything(user):
        return true()
    membership, unit = aliased(Membership), aliased(Unit)
    return (User.id == user.id) | exists().where(
        membership.user_id == User.id, membership.unit_id == unit.id,
        managed_units(user, unit))


def require_self_or_admin(email: str, action: str) -> None:
    """A user's API tokens act with all their memberships, beyond any one manager's
    units: only the user and admins may see, create or revoke them.

    Raises:
        Forbidden (403): anyone else (decided before any lookup, so it tells nothing of
        whether `email` exists).
    """
    user = caller()
    if sees_everything(user) or user.email == email.strip().lower():
        return
    raise Forbidden(f"{action} needs an admin, or to be {email}")


def role_to_change(target_type: str) -> str:
    """Factors are reference data SPEC §8 gives to admins, and so is the unit tree; a
    unit's own data is for its editors."""
    return ADMIN if target_type in ("factors", "units") else "editor"


def unit_of(module) -> Unit | None:
    return module.inventory.unit if module is not None else None
