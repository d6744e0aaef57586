"""A user's API tokens, for the user and for admins: the list, a new token (its value is
shown on the answer to the form that created it, once: nothing stores it), revoke."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)

from webapp import time_zones
from webapp.errors import Conflict, Invalid
from webapp.extensions import db
from webapp.organisation import tokens

tokens_bp = Blueprint("tokens", __name__, url_prefix="/users/<email>/tokens")


def user_page(email: str, status: int = 200, **context):
    """The user's own page: their API tokens, and the time zone they read times in."""
    owner = tokens.token_owner(email)
    response = make_response(render_template(
        "tokens/index.html", owner=owner, tokens=tokens.tokens_of(owner), zones=time_zones.zones(),
        site_zone=current_app.config["TIME_ZONE"], **context), status)
    # A page that may hold a clear token is kept by no cache, nor the back button's.
    response.headers["Cache-Control"] = "no-store"
    return response


@tokens_bp.get("")
def index(email: str):
    return user_page(email)


@tokens_bp.post("")
def create(email: str):
    owner = tokens.token_owner(email)
    try:
        token, clear = tokens.create_token(owner, request.form.get("name", ""), via="page")
    except (Invalid, Conflict) as refused:
        db.session.rollback()
        return user_page(email, refused.status_code, form_error=refused)
    db.session.commit()
    return user_page(email, 201, created=token, clear_token=clear)


@tokens_bp.post("/<id:token_id>/revoke")
def revoke(email: str, token_id: int):
    token = tokens.revoke_token(tokens.token_owner(email), token_id, via="page")
    db.session.commit()
    flash(f"Token “{token.name}” is revoked: a call with it now gets 401.")
    return redirect(url_for("tokens.index", email=email), 303)
