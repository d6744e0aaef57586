"""User accounts (SPEC §13): create, list, find, deactivate. The command line, the API
and the /admin/users pages call these same functions, so each rule holds everywhere.

Who may do what is asked of webapp/access.py: admins manage every user; a manager
lists the members of the units they manage, creates plain users (who then need a
membership) and gives roles in their units; only admins create admins and deactivate.
New users get no password: they log in with single sign-on, or an admin gives them one
with `flask users set-password`.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from webapp import access, audit
from webapp.errors import Conflict, Invalid, NotFound
from webapp.extensions import db
from webapp.models import Membership, Unit, User
from webapp.organisation import members, units
from webapp.time_zones import check_timezone

# One @, something on both sides, a dot in the domain, no spaces. Deliverability is the
# mail server's business; "/" is left out because the address is part of page URLs.
EMAIL = re.compile(r"[^@\s/]+@[^@\s/]+\.[^@\s/.]+")
MAX_EMAIL, MAX_NAME = 255, 200


def normalised_email(raw: str | None) -> str:
    """`raw` trimmed and lower-cased (emails are unique in any case).

    Raises:
        Invalid (422): not an address.
    """
    email = (raw or "").strip().lower()
    if len(email) > MAX_EMAIL or not EMAIL.fullmatch(email):
        raise Invalid("email must be an address like name@example.org", field="email")
    return email


def create_user(email: str, name: str = "", *, admin: bool = False,
                password: str | None = None, unit_code: str | None = None,
                role: str | None = None, via: str = "api") -> User:
    """A new user (in the caller's transaction): an admin, or a plain user, made a member
    of `unit_code` with `role` when given. Audited (never the password).

    Raises:
        Invalid (422): a bad email, name or role.
        Forbidden (403): the caller manages no unit, asks for an admin without being one,
            or gives a unit they do not manage.
        NotFound (404): `unit_code` names no unit the caller sees.
        Conflict (409): a user already has the email.
    """
    access.require_user_manager("creating users")
    if admin:
        access.require_admin("creating an admin")
    email, name = normalised_email(email), (name or "").strip()
    if len(name) > MAX_NAME:
        raise Invalid(f"name must be at most {MAX_NAME} characters", field="name")
    unit = units.get_unit(unit_code) if unit_code else None
    if unit is not None:
        members.require_manager(unit)
    if db.session.execute(select(User.id).filter_by(email=email)).scalar() is not None:
        raise Conflict(f"a user with the email {email} already exists", field="email")
    user = User(email=email, name=name or email.split("@")[0], admin=admin)
    if password is not None:
        user.set_password(password)
    try:
        with db.session.begin_nested():  # two requests creating the same email at once
            db.session.add(user)
    except IntegrityError:
        raise Conflict(f"a user with the email {email} already exists",
                       field="email") from None
    audit.record("user.created", target_type="user", target_id=user.id,
                 details={"email": email, "admin": admin, "via": via})
    if unit is not None:
        members.set_member(unit, user, role or "viewer")
    return user


def shown_memberships(user_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """Each user's memberships the caller may see: all for admins, those in the units
    they manage for a manager (the members API shows no more)."""
    membership, unit = aliased(Membership), aliased(Unit)
    rows = db.session.execute(
        select(membership.user_id, unit.code, membership.role, membership.source)
        .join(unit, unit.id == membership.unit_id)
        .where(membership.user_id.in_(user_ids), access.managed_units(unit=unit))
        .order_by(unit.code)).all()
    found: dict[int, list[dict[str, Any]]] = {user_id: [] for user_id in user_ids}
    for user_id, code, role, source in rows:
        found[user_id].append({"unit_code": code, "role": role, "source": source})
    return found


def user_body(user: User, memberships: list[dict[str, Any]]) -> dict[str, Any]:
    return {"email": user.email, "name": user.name, "admin": user.is_admin,
            "active": user.active, "sso": user.oidc_subject is not None,
            "created_at": user.created_at.isoformat() if user.created_at else None,
            "memberships": memberships}


def user_page(*, query: str | None = None, limit: int = 100,
              offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """The users the caller may see (email order), those whose email or name holds
    `query`, with their memberships in the caller's sight. (The page and its total.)

    Raises:
        Forbidden (403): the caller manages no unit.
    """
    access.require_user_manager("listing users")
    where = [access.visible_users()]
    if query:
        where.append(User.email.icontains(query, autoescape=True)
                     | User.name.icontains(query, autoescape=True))
    rows = db.session.execute(
        select(User, func.count().over()).where(*where).order_by(User.email)
        .limit(limit).offset(offset)).all()
    total = rows[0][1] if rows else db.session.execute(
        select(func.count()).select_from(User).where(*where)).scalar()
    shown = shown_memberships([user.id for user, _ in rows])
    return [user_body(user, shown[user.id]) for user, _ in rows], total


def get_visible_user(email: str) -> User:
    """The user with this email, if the caller may manage them.

    Raises:
        Forbidden (403): the caller manages no unit.
        NotFound (404): nobody has it, or the caller may not see them (the same sentence).
    """
    access.require_user_manager("managing users")
    user = db.session.execute(select(User).where(
        User.email == email.strip().lower(), access.visible_users())).scalar()
    if user is None:
        raise NotFound(f"no user has the email {email!r}")
    return user


def sees_user(email: str) -> bool:
    """Whether the caller may still see the user with this email (after taking a role
    away, a manager may no longer)."""
    return db.session.execute(select(User.id).where(
        User.email == email.strip().lower(), access.visible_users())).scalar() is not None


def user_detail(email: str) -> dict[str, Any]:
    """What the user's page shows: the user, their memberships in the caller's sight,
    and what the caller may do there."""
    user = get_visible_user(email)
    me = access.caller()
    return {"user": user, "memberships": shown_memberships([user.id])[user.id],
            "may_deactivate": access.sees_everything() and user.active and user != me,
            "may_see_tokens": access.sees_everything() or user == me}


def give_membership(email: str, unit_code: str, role: str) -> Membership:
    """Give a user the caller may manage `role` in `unit_code` (a unit they manage).
    Audited.

    Raises:
        Forbidden (403), NotFound (404): as get_visible_user, units.get_unit and
            members.require_manager; Invalid (422): an unknown role.
    """
    user = get_visible_user(email)
    unit = units.get_unit(unit_code.strip())
    members.require_manager(unit)
    return members.set_member(unit, user, role)


def deactivate_user(user: User, via: str) -> User:
    """End the user's sessions and make their API tokens stop working (the login and
    token checks refuse inactive users). Audited; deactivating twice changes nothing.

    Raises:
        Conflict (409): the caller's own account (which would lock them out mid-action).
    """
    if user == access.caller():
        raise Conflict("you cannot deactivate your own account")
    if user.active:
        user.active = False
        user.end_sessions()
        audit.record("user.deactivated", target_type="user", target_id=user.id,
                     details={"email": user.email, "via": via})
    return user


def deactivate(email: str, via: str) -> User:
    """Deactivate the user with this email (admins only).

    Raises:
        Forbidden (403): the caller is not an admin; NotFound (404): no such user.
    """
    access.require_admin("deactivating a user")
    return deactivate_user(members.get_user(email), via)


def set_time_zone(email: str, zone: str | None) -> User:
    """The IANA zone the user reads pages' times in; blank: the site's TIME_ZONE again.
    A preference, so not audited.

    Raises:
        Forbidden (403): the caller is neither the user nor an admin; NotFound (404): no
            such user; Invalid (422, field timezone): not an IANA zone name.
    """
    access.require_self_or_admin(email, "setting a user's time zone")
    user = members.get_user(email)
    zone = (zone or "").strip()
    user.time_zone = check_timezone(zone) if zone else None
    return user
