"""Memberships that single sign-on's groups claim gives (SPEC §13).

The provider's groups claim (OIDC_GROUPS_CLAIM, default `groups`) lists values
`carbon:<role>:<unit code>`, e.g. `carbon:editor:F0892`. At each login the user's
memberships with source "sso" become exactly what the claim says now; "manual" ones (a
manager, an admin, the CLI) are never touched. Values that are not ours (other
applications' groups), malformed, or that name an unknown unit are ignored and logged,
since the provider, not the user, would have to fix them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from webapp.extensions import db
from webapp.models import Membership, Unit
from webapp.models.organisation import UNIT_ROLES

PREFIX = "carbon:"
log = logging.getLogger(__name__)


@dataclass
class GroupGrants:
    """What a groups claim grants: {unit code: role}, and the values it ignored."""

    roles: dict[str, str] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)


def parse_groups(claim: object) -> GroupGrants:
    """Read `carbon:<role>:<unit code>` values; two roles for one unit keep the higher.

    A claim that is not a list (a provider sending one string) is read as one value.
    """
    values = [claim] if isinstance(claim, str) else claim if isinstance(claim, list) else []
    grants = GroupGrants()
    for value in values:
        if not isinstance(value, str) or not value.startswith(PREFIX):
            continue  # another application's group: not ours to judge
        role, _, code = value[len(PREFIX):].partition(":")
        code = code.strip()
        if role not in UNIT_ROLES or not code or len(code) > 50 or ":" in code:
            grants.ignored.append(value[:120])
            continue
        held = grants.roles.get(code)
        if held is None or UNIT_ROLES.index(role) > UNIT_ROLES.index(held):
            grants.roles[code] = role
    return grants


def replace_sso_memberships(user_id: int, claim: object) -> dict[str, str]:
    """Make the user's "sso" memberships exactly what `claim` grants, in the caller's
    transaction. A unit where the user has a manual membership keeps the manual one.

    Returns:
        {unit code: role} of the "sso" memberships now held.
    """
    grants = parse_groups(claim)
    units = dict(db.session.execute(
        db.select(Unit.code, Unit.id).where(Unit.code.in_(list(grants.roles)))).all()) \
        if grants.roles else {}
    unknown = sorted(set(grants.roles) - set(units))
    if grants.ignored or unknown:
        # Values only (group names and unit codes), never tokens: they are not secrets.
        log.warning("single sign-on: user %s: ignored groups %s; unknown units %s",
                    user_id, grants.ignored, unknown)
    db.session.execute(db.delete(Membership).where(Membership.user_id == user_id,
                                                   Membership.source == "sso"))
    manual = set(db.session.execute(
        db.select(Membership.unit_id).where(Membership.user_id == user_id)).scalars())
    held = {}
    for code, unit_id in units.items():
        if unit_id in manual:
            continue  # one membership per (user, unit): the manual one wins
        db.session.add(Membership(user_id=user_id, unit_id=unit_id,
                                  role=grants.roles[code], source="sso"))
        held[code] = grants.roles[code]
    db.session.flush()
    return held
