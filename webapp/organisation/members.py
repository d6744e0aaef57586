"""Who belongs to which unit, with which role (SPEC §13): a membership holds for its
unit and every unit below it, so a user's role in a unit is the highest role of their
memberships in it and its ancestors. Admins (the global role) may do everything.

Managers manage the members of their units: `require_manager` is the check the members
API and pages share.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from webapp import audit
from webapp.errors import Forbidden, Invalid, NotFound
from webapp.extensions import db
from webapp.models import UNIT_ROLES, Membership, Unit, User


def get_user(email: str) -> User:
    """The user with this email (any case, outer spaces ignored).

    Raises:
        NotFound (404): nobody has it.
    """
    user = db.session.execute(
        db.select(User).filter_by(email=email.strip().lower())).scalar()
    if user is None:
        raise NotFound(f"no user has the email {email!r}")
    return user


def role_in(user: User, unit: Unit) -> str | None:
    """The user's highest role in `unit` through their memberships in it or above it."""
    roles = db.session.execute(text(
        "SELECT m.role FROM memberships m JOIN units held ON held.id = m.unit_id "
        "WHERE m.user_id = :user AND :path LIKE held.path || '%'"),
        {"user": user.id, "path": unit.path}).scalars().all()
    return max(roles, key=UNIT_ROLES.index, default=None)


def require_manager(user: User, unit: Unit) -> None:
    """Admins and the unit's managers may see and change its members.

    Raises:
        Forbidden (403): anyone else. (Every user still sees every unit: per-unit
            visibility, with 404 for units out of sight, comes with the access layer.)
    """
    if user.can("admin"):
        return
    role = role_in(user, unit)
    if role != "manager":
        raise Forbidden(f"managing the members of {unit.code} needs the manager role "
                        f"there (yours: {role or 'none'})")


def member_body(membership: Membership, email: str) -> dict[str, Any]:
    return {"email": email, "unit_code": membership.unit.code, "role": membership.role,
            "source": membership.source}


def members_of(unit: Unit) -> list[dict[str, Any]]:
    """The unit's own members (not those of the units above it), by email."""
    rows = db.session.execute(
        db.select(Membership, User.email).join(User, User.id == Membership.user_id)
        .filter(Membership.unit_id == unit.id).order_by(User.email)).all()
    return [member_body(membership, email) for membership, email in rows]


def memberships_of(user: User) -> list[dict[str, Any]]:
    rows = db.session.execute(
        db.select(Membership).filter_by(user_id=user.id).join(Unit).order_by(Unit.code)
    ).scalars()
    return [{"unit_code": m.unit.code, "role": m.role, "source": m.source} for m in rows]


def set_member(unit: Unit, user: User, role: str) -> Membership:
    """Give `user` `role` in `unit` (a manual membership; one from single sign-on becomes
    manual). Audited.

    Raises:
        Invalid (422): an unknown role.
    """
    if role not in UNIT_ROLES:
        raise Invalid(f"role must be one of {', '.join(UNIT_ROLES)}", role=role)
    membership = db.session.get(Membership, (user.id, unit.id))
    if membership is None:
        membership = Membership(user_id=user.id, unit_id=unit.id, unit=unit)
        db.session.add(membership)
    membership.role, membership.source = role, "manual"
    audit.record("member.set", target_type="unit", target_id=unit.id,
                 details={"unit_code": unit.code, "email": user.email, "role": role})
    return membership


def remove_member(unit: Unit, user: User) -> None:
    """Remove `user`'s membership of `unit` itself. Audited.

    Raises:
        NotFound (404): they are not a member of that unit.
    """
    membership = db.session.get(Membership, (user.id, unit.id))
    if membership is None:
        raise NotFound(f"{user.email} is not a member of {unit.code}")
    db.session.delete(membership)
    audit.record("member.removed", target_type="unit", target_id=unit.id,
                 details={"unit_code": unit.code, "email": user.email})
