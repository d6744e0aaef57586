"""/admin/users: admins and managers list and search users, create them, give them
roles; admins deactivate them. Each form posts here and calls one function of
webapp/organisation/users.py; done, it goes back with a message (303, so reloading
never posts twice); refused for what was typed, the page comes again with the reason
beside the form and the values kept."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from webapp.auth import requires_admin
from webapp.errors import Forbidden, Refusal
from webapp.extensions import db
from webapp.models import UNIT_ROLES
from webapp.organisation import users
from webapp.views.paging import page_number

users_admin_bp = Blueprint("users_admin", __name__, url_prefix="/admin/users")

PAGE_SIZE = 50


def _index_page(form_error: Refusal | None = None, sent=None):
    query = (request.args.get("q") or "").strip()
    page = page_number()
    items, total = users.user_page(query=query or None, limit=PAGE_SIZE,
                                   offset=(page - 1) * PAGE_SIZE)
    return render_template("admin/users.html", users=items, total=total, page=page,
                           page_size=PAGE_SIZE, query=query, roles=UNIT_ROLES,
                           form_error=form_error, sent=sent or {})


@users_admin_bp.get("")
def index():
    return _index_page()


@users_admin_bp.post("")
def create():
    form = request.form
    try:
        user = users.create_user(form.get("email", ""), form.get("name", ""),
                                 admin=form.get("admin") == "1",
                                 unit_code=form.get("unit_code", "").strip() or None,
                                 role=form.get("role") or None, via="page")
    except Forbidden:  # not about what was typed: the error page
        raise
    except Refusal as refused:  # about what was typed: the form again, beside itself
        db.session.rollback()
        return _index_page(refused, form), refused.status_code
    db.session.commit()
    flash(f"Created {user.email}. They log in with single sign-on, or with a password "
          "an admin sets (flask users set-password).")
    return redirect(url_for("users_admin.index", q=user.email), 303)


def _user_page(email: str, form_error: Refusal | None = None, sent=None):
    return render_template("admin/user.html", **users.user_detail(email), roles=UNIT_ROLES,
                           form_error=form_error, sent=sent or {})


@users_admin_bp.get("/<email>")
def user(email: str):
    return _user_page(email)


@users_admin_bp.post("/<email>/memberships")
def membership_add(email: str):
    form = request.form
    try:
        membership = users.give_membership(email, form.get("unit_code", ""),
                                           form.get("role", ""))
    except Forbidden:
        raise
    except Refusal as refused:
        db.session.rollback()
        return _user_page(email, refused, form), refused.status_code
    db.session.commit()
    flash(f"{email} is {membership.role} of {membership.unit.code} and every unit below it.")
    return redirect(url_for("users_admin.user", email=email), 303)


@users_admin_bp.post("/<email>/deactivate")
@requires_admin
def deactivate(email: str):
    user = users.deactivate(email, via="page")
    db.session.commit()
    flash(f"{user.email} is deactivated: their sessions ended and their API tokens no "
          "longer work.")
    return redirect(url_for("users_admin.user", email=user.email), 303)
