"""/admin/sync (admins): "Sync every unit", the page form of POST
/api/v1/sync/institution/{year} (SPEC §14). A year, a module type, a provider whose rows
name their unit (a file for csv_upload), what to do with a bad row; the job's page next."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, request, url_for
from flask_login import current_user

from webapp.auth import requires_admin
from webapp.errors import Invalid, Refusal
from webapp.extensions import db
from webapp.feeds.choices import form_choices
from webapp.feeds.kind import institution_request
from webapp.jobs import service
from webapp.views.htmx import page_or_fragment

sync_admin_bp = Blueprint("sync_admin", __name__, url_prefix="/admin/sync")


@sync_admin_bp.get("")
@requires_admin
def form():
    """The form; htmx asks again for the provider field when the module type changes."""
    choices = form_choices(request.args.get("module_type"), current_app.config)
    return page_or_fragment("admin/sync.html", "admin/_sync_providers.html", **choices)


@sync_admin_bp.post("")
@requires_admin
def run():
    form = request.form
    try:
        job = service.create_job(institution_request(_year(form.get("year")), {
            "provider_type": form.get("provider_type"),
            "module_type": form.get("module_type"),
            "config": {"on_error": form["on_error"]} if form.get("on_error") else None,
            "new_file": _file()}), current_user)
    except Refusal as refused:
        db.session.rollback()
        flash(f"Not started: {refused.message}", "error")
        return redirect(url_for("sync_admin.form", module_type=form.get("module_type")), 303)
    flash(f"Syncing every unit's {form.get('module_type')} module from "
          f"{form.get('provider_type')} as job #{job.id}.")
    return redirect(url_for("jobs.detail", job_id=job.id), 303)


def _year(raw: str | None) -> int:
    try:
        return int(raw or "")
    except ValueError:
        raise Invalid("choose a year", field="year") from None


def _file():
    file = request.files.get("file")
    return (file.stream, file.filename, file.mimetype) if file and file.filename else None
