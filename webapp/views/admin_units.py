"""/admin/units: the unit tree (top units, drill down with ?parent=CODE, search with
?q=), a units CSV imported as a tracked job (admins), and each unit's members for those
who manage it: add by email with a role, change
a role, remove. Who sees a unit without managing it gets 403 on its members, who does
not see it 404 (webapp/access.py, as for the members API)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from webapp import access
from webapp.auth import requires_admin
from webapp.errors import BadRequest, Forbidden, Refusal
from webapp.extensions import db
from webapp.jobs import service
from webapp.models import UNIT_ROLES
from webapp.organisation import unit_admin, users
from webapp.organisation.unit_jobs import units_jobs, units_request
from webapp.views.paging import page_number

units_admin_bp = Blueprint("units_admin", __name__, url_prefix="/admin/units")

PAGE_SIZE = 50


@units_admin_bp.get("")
def tree():
    parent = (request.args.get("parent") or "").strip() or None
    query = (request.args.get("q") or "").strip() or None
    page = page_number()
    found = unit_admin.tree_page(parent=parent, query=query, limit=PAGE_SIZE,
                                 offset=(page - 1) * PAGE_SIZE)
    imports = units_jobs(limit=5)[0] if access.sees_everything() else []
    return render_template("admin/units.html", **found, query=query or "", page=page,
                           page_size=PAGE_SIZE, imports=imports)


@units_admin_bp.post("/import")
@requires_admin
def import_file():
    """The units CSV as a tracked job (the API's POST /units/import): its page next."""
    file = request.files.get("file")
    on_error = request.form.get("on_error") or "abort"
    try:
        if file is None or not file.filename:
            raise BadRequest("Choose a units CSV file or Excel workbook to import.")
        job = service.create_job(units_request(
            "csv_upload", {"on_error": on_error},
            new_file=(file.stream, file.filename, file.mimetype)), current_user)
    except Refusal as refused:
        db.session.rollback()
        flash(f"Not imported: {refused.message}", "error")
        return redirect(url_for("units_admin.tree"), 303)
    flash(f"Importing {file.filename} as job #{job.id}.")
    return redirect(url_for("jobs.detail", job_id=job.id), 303)


def _members_page(code: str, form_error: Refusal | None = None, sent=None):
    return render_template("admin/unit_members.html", **unit_admin.members_page(code),
                           roles=UNIT_ROLES, form_error=form_error, sent=sent or {})


@units_admin_bp.get("/<code>/members")
def members(code: str):
    return _members_page(code)


@units_admin_bp.post("/<code>/members")
def member_set(code: str):
    """Add a member, or change a member's role (the same form, one per row)."""
    form = request.form
    try:
        membership = unit_admin.set_member(code, form.get("email", ""), form.get("role", ""))
    except Forbidden:  # not about what was typed: the error page
        raise
    except Refusal as refused:  # an unknown email or role: the form again, beside itself
        db.session.rollback()
        return _members_page(code, refused, form), refused.status_code
    db.session.commit()
    flash(f"{form.get('email', '').strip().lower()} is {membership.role} of {code} and "
          "every unit below it.")
    return redirect(url_for("units_admin.members", code=code), 303)


@units_admin_bp.post("/<code>/members/<email>/remove")
def member_remove(code: str, email: str):
    unit_admin.remove_member(code, email)
    db.session.commit()
    flash(f"{email} is no longer a member of {code}.")
    # The user's page removes memberships with this form too, and goes back there, or
    # to the list when that was the caller's last sight of the user.
    if request.form.get("back") == "user":
        if users.sees_user(email):
            return redirect(url_for("users_admin.user", email=email), 303)
        return redirect(url_for("users_admin.index"), 303)
    return redirect(url_for("units_admin.members", code=code), 303)
