"""A user's own settings, on their page (the API tokens page): the time zone they read
pages' times in (SPEC §15; blank: the site's TIME_ZONE)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for

from webapp.errors import Invalid
from webapp.extensions import db
from webapp.organisation import users
from webapp.views.tokens import user_page

account_bp = Blueprint("account", __name__, url_prefix="/users/<email>")


@account_bp.post("/time-zone")
def time_zone(email: str):
    try:
        user = users.set_time_zone(email, request.form.get("time_zone"))
    except Invalid as refused:
        db.session.rollback()
        return user_page(email, refused.status_code, zone_error=refused)
    db.session.commit()
    flash(f"Times are shown in {user.time_zone}." if user.time_zone
          else "Times are shown in the site's time zone.")
    return redirect(url_for("tokens.index", email=email) + "#time-zone", 303)
