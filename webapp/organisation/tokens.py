"""API tokens of a user: list, create (the clear token is returned once, only its hash
is stored), revoke. The command line and the tokens page call these.

A token acts with all its owner's memberships, so only the owner and admins manage it
(access.require_self_or_admin); a unit's manager does not, whatever the unit.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from webapp import access, audit
from webapp.errors import Conflict, Invalid, NotFound
from webapp.extensions import db
from webapp.models import ApiToken, User
from webapp.organisation import members

MAX_NAME = 100


def token_owner(email: str) -> User:
    """The user whose tokens the caller asks for.

    Raises:
        Forbidden (403): the caller is neither that user nor an admin.
        NotFound (404): nobody has the email (only an admin can learn this).
    """
    access.require_self_or_admin(email, "managing API tokens")
    return members.get_user(email)


def tokens_of(owner: User) -> list[ApiToken]:
    """Newest first, revoked ones too (they say when they were revoked)."""
    return list(db.session.execute(select(ApiToken).filter_by(user_id=owner.id)
                                   .order_by(ApiToken.id.desc())).scalars())


def create_token(owner: User, name: str, via: str) -> tuple[ApiToken, str]:
    """A new token for `owner` (in the caller's transaction) and its clear value, to be
    shown once: nothing keeps it. Audited with its name, never its value.

    Raises:
        Conflict (409): the owner is deactivated (the token could not work).
        Invalid (422): a blank or too long name.
    """
    if not owner.active:
        raise Conflict(f"{owner.email} is deactivated: a token of theirs would not work")
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME:
        raise Invalid(f"the token needs a name of 1 to {MAX_NAME} characters "
                      "(what uses it, e.g. 'nightly export')", field="name")
    token, clear = ApiToken.issue(owner, name)
    db.session.add(token)
    db.session.flush()
    audit.record("token.created", target_type="api_token", target_id=token.id,
                 details={"email": owner.email, "name": name, "via": via})
    return token, clear


def _revoke(token: ApiToken, via: str) -> None:
    token.revoked_at = datetime.now(UTC)
    audit.record("token.revoked", target_type="api_token", target_id=token.id,
                 details={"email": token.owner.email, "name": token.name, "via": via})


def revoke_token(owner: User, token_id: int, via: str) -> ApiToken:
    """Revoke one of `owner`'s tokens: the next call with it is a 401. Audited; revoking
    a revoked token changes nothing.

    Raises:
        NotFound (404): `owner` has no token with this id.
    """
    token = db.session.execute(select(ApiToken).filter_by(
        id=token_id, user_id=owner.id)).scalar()
    if token is None:
        raise NotFound(f"{owner.email} has no API token #{token_id}")
    if token.revoked_at is None:
        _revoke(token, via)
    return token


def revoke_tokens_named(owner: User, name: str, via: str) -> int:
    """Revoke `owner`'s live tokens called `name`; how many there were."""
    live = db.session.execute(select(ApiToken).filter_by(
        user_id=owner.id, name=name, revoked_at=None)).scalars().all()
    for token in live:
        _revoke(token, via)
    return len(live)
