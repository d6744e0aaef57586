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
    """The user these verified claims name, created if new, memberships replaced and the
    login audited, all in one transaction (committed here). A refusal stores nothing.

    Raises:
        LoginRefused: the account is deactivated, or the claims have no usable email.
        Conflict: another account (a local one) already has this email.
    """
    subject = str(claims["sub"])[:255]
    user = db.session.execute(db.select(User).filter_by(
        oidc_issuer=issuer, oidc_subject=subject)).scalar()
    if user is None:
        user = _create(issuer, subject, claims)
    elif not user.active:
        raise LoginRefused("Your Carbon Sync account is deactivated. Ask an "
                           "administrator if you need it again.")
    groups = claims.get(current_app.config["OIDC_GROUPS_CLAIM"])
    held = replace_sso_memberships(user.id, groups)
    audit.record("login.sso", target_type="user", target_id=user.id, user=user,
                 details={"memberships": held})
    db.session.commit()
    return user


def _create(issuer: str, subject: str, claims: dict[str, Any]) -> User:
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email or len(email) > 255:
        raise LoginRefused("The university login did not give an email address, so no "
                           "account could be created. Ask the IT service desk.")
    email = email.strip().lower()
    # Linking by email would let whoever controls an address at the provider take over
    # a local account (an admin's): an administrator links such accounts deliberately.
    if db.session.execute(db.select(User.id).filter_by(email=email)).scalar() is not None:
        raise Conflict(f"An account with the email {email} already exists but is not "
                       "linked to your university login. Ask an administrator.")
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
