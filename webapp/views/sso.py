"""Log in with the university's account (OpenID Connect): off to the provider, and back.
Registered only when single sign-on is configured (webapp/views/__init__.py)."""

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_login import login_user

from webapp.errors import AppError
from webapp.extensions import db
from webapp.sso import provider
from webapp.sso.accounts import log_in_from_claims
from webapp.views.auth import safe_next

sso_bp = Blueprint("sso", __name__, url_prefix="/login/sso")
NEXT_KEY = "sso_next"  # where to land after the provider sends the user back


@sso_bp.get("")
def start():
    session[NEXT_KEY] = safe_next(request.args.get("next"))
    try:
        return provider.redirect_to_provider(url_for("sso.callback", _external=True))
    except AppError as error:
        return _refused(error)


@sso_bp.get("/callback")
def callback():
    try:
        issuer, claims = provider.verified_claims()
        user = log_in_from_claims(issuer, claims)
    except AppError as error:
        db.session.rollback()
        return _refused(error)
    login_user(user)
    return redirect(safe_next(session.pop(NEXT_KEY, None)))


def _refused(error: AppError):
    session.pop(NEXT_KEY, None)
    return render_template("auth/sso_refused.html", message=error.message,
                           status=error.status_code), error.status_code
