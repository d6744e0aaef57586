"""Who is calling: browser sessions (Flask-Login) or API bearer tokens, and what they may do.

Every route needs an authenticated caller except those in PUBLIC_ENDPOINTS. Anonymous
browsers are redirected to the login page; anonymous API calls get JSON 401.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import wraps

from flask import Flask, g, redirect, request, url_for
from flask_login import current_user
from sqlalchemy.orm import joinedload

from webapp.extensions import db, login_manager
from webapp.http_errors import error_response, is_api_request
from webapp.models import ApiToken, User

PUBLIC_ENDPOINTS = {"auth.login", "sso.start", "sso.callback", "static", "favicon",
                    "api.healthz"}


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """The session's "<user id>:<session version>" (User.get_id); a cookie whose version
    is behind the user's (logout, deactivation, new password) no longer logs anyone in."""
    user_id, _, version = session_id.partition(":")
    if not (user_id.isascii() and user_id.isdigit() and version.isascii()
            and version.isdigit()) or int(user_id) > 2**31 - 1:
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or str(user.session_version) != version:
        return None
    return user


@login_manager.request_loader
def load_user_from_token(req) -> User | None:
    """Bearer tokens authenticate API calls; a bad token is remembered to explain the 401."""
    header = req.headers.get("Authorization", "")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        g.token_problem = "Authorization header must be 'Bearer <token>'"
        return None
    # The owner in the same query: every poll of a script authenticates this way.
    row = db.session.execute(
        db.select(ApiToken).options(joinedload(ApiToken.owner))
        .where(ApiToken.token_hash == ApiToken.hash(token.strip()))
    ).scalar_one_or_none()
    if row is None:
        g.token_problem = "unknown API token"
        return None
    if row.revoked_at is not None:
        g.token_problem = "this API token was revoked"
        return None
    if not row.owner.active:
        g.token_problem = "the token's owner is deactivated"
        return None
    now = datetime.now(UTC)
    # A client polling every second must not turn each read into a write.
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=1):
        row.last_used_at = now
        db.session.commit()
    g.auth_via_token = True
    return row.owner


def _require_login():
    if request.endpoint in PUBLIC_ENDPOINTS or request.endpoint is None:
        return None
    if current_user.is_authenticated:
        return None
    if is_api_request():
        reason = g.get("token_problem") or (
            "authentication required: send 'Authorization: Bearer <token>'")
        return error_response(401, reason)
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def forbidden(role: str):
    return error_response(403, f"this action needs the {role} role")


def role_for_target(target_type: str) -> str:
    """Factors are reference data that SPEC §8 gives to admins, and so is the unit tree
    (SPEC §13); data entries to editors."""
    return "admin" if target_type in ("factors", "units") else "editor"


def job_role(job_id: int, **_) -> str:
    """The role a view on one job needs: the one its target needs (editor if no such job,
    so the view answers its own 404)."""
    from webapp.models import DataIngestionJob

    job = db.session.get(DataIngestionJob, job_id)
    return role_for_target(job.target_type) if job else "editor"


def requires_role(role: str | Callable[..., str], least: str = "editor") -> Callable:
    """Decorate a view so only users with at least `role` reach it (403 otherwise).

    `role` is a role name, or a resolver called with the view's arguments (e.g.
    `job_role`) for views whose role depends on what they act on; `least` is the lowest
    role such a resolver answers.
    """

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return _require_login()
            needed = role if isinstance(role, str) else role(**kwargs)
            if not current_user.can(needed):
                return forbidden(needed)
            return view(*args, **kwargs)

        # Read by the access tests that walk the URL map.
        wrapped.required_role = role if isinstance(role, str) else least
        return wrapped

    return decorator


def init_app(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "strong"
    app.before_request(_require_login)
