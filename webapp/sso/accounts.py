"""The account behind a single sign-on login: found by (issuer, subject), created on the
first login (never an admin), its memberships re-read from the groups claim."""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy.exc import IntegrityError

from webapp import audit
from webapp.errors import Conflict
from webapp.extensions import db
from webapp.models import User
from webapp.organisation.sso_memberships import replace_sso_memberships
from webapp.sso.provider import LoginRefused


def log_in_from_claims(issuer: str, claims: dict[str, Any]) -> User:
    """The user these verified claims name, created if new (or, the first time, the
    account an admin or a manager created for this email), memberships replaced and the
    login audited, all in one transaction (committed here). A refusal stores nothing.

    Raises:
        LoginRefused: the account is deactivated, or the claims have no usable email.
        Conflict: another account (a local one) already has this email.
    """
    subject = str(claims["sub"])[:255]
    user = db.session.execute(db.select(User).filter_by(
        oidc_issuer=issuer, oidc_subject=subject)).scalar()
    if user is None:
        user = _first_login(issuer, subject, claims)
    if not user.active:
        raise LoginRefused("Your Carbon Sync account is deactivated. Ask an "
                           "administrator if you need it again.")
    groups = claims.get(current_app.config["OIDC_GROUPS_CLAIM"])
    held = replace_sso_memberships(user.id, groups)
    audit.record("login.sso", target_type="user", target_id=user.id, user=user,
                 details={"memberships": held})
    db.session.commit()
    return user


def _first_login(issuer: str, subject: str, claims: dict[str, Any]) -> User:
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email or len(email) > 255:
        raise LoginRefused("The university login did not give an email address, so no "
                           "account could be created. Ask the IT service desk.")
    email = email.strip().lower()
    existing = db.session.execute(db.select(User).filter_by(email=email)).scalar()
    if existing is not None:
        return _link(existing, issuer, subject)
    name = claims.get("name") if isinstance(claims.get("name"), str) else ""
    user = User(email=email, name=(name or email.split("@")[0])[:200],
                password_hash=None, oidc_issuer=issuer,
                oidc_subject=subject)
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError:  # the same person's first login in two tabs at once
        db.session.rollback()
        raise Conflict("Your account was being created by another login at the same "
                       "moment. Log in again.") from None
    audit.record("user.created", target_type="user", target_id=user.id, user=user,
                 details={"email": email, "admin": False, "via": "sso"})
    return user


def _link(user: User, issuer: str, subject: str) -> User:
    """The first login of a user an admin or a manager created for this address (POST
    /api/v1/users, /admin/users): no password, no provider identity yet, not an admin.
    From now on the provider's identity, not the email, finds them.

    Raises:
        Conflict: any other account with the email. Linking it by email would let
            whoever controls the address at the provider take over an account that
            logs in otherwise (with a password, or another identity), or an admin's:
            an administrator links such accounts deliberately.
    """
    if user.password_hash is not None or user.oidc_subject is not None or user.is_admin:
        raise Conflict(f"An account with the email {user.email} already exists but is not "
                       "linked to your university login. Ask an administrator.")
    user.oidc_issuer, user.oidc_subject = issuer, subject
    audit.record("user.linked", target_type="user", target_id=user.id, user=user,
                 details={"email": user.email, "via": "sso"})
    return user
