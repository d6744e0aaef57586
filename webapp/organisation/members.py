"""Who belongs to which unit, with which role (SPEC §13): a membership holds for its
unit and every unit below it, so a user's role in a unit is the highest role of their
memberships in it and its ancestors (access.role_in). Admins may do everything.

Managers manage the members of their units: `require_manager` is the check the members
API and pages share.
"""

from __future__ import annotations

from typing import Any

from webapp import access, audit
from webapp.errors import Invalid, NotFound
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


def require_manager(unit: Unit) -> None:
    """Admins and the unit's managers (of it or a unit above it) may see and change its
    members.

    Raises:
        Forbidden (403): anyone else who sees the unit.
    """
    access.require(unit, "manager", f"managing the members of {unit.code}")


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
