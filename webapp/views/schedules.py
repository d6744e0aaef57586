"""The module page's Schedules section: add (preset or custom cron, time zone, the
provider's filters, webhook), enable or disable, run now, delete after a confirmation.
Each form posts here and calls the schedules service; done, it goes back to the page
with a message (303, so reloading never posts twice); refused, the page is rendered
again with the reason beside the form and what was typed kept."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from webapp import catalog, time_zones
from webapp.errors import Refusal
from webapp.models import SyncSchedule
from webapp.models.jobs import TargetType
from webapp.schedules import cron, firing
from webapp.schedules import service as schedules
from webapp.times import timestamp
from webapp.views.htmx import page_or_fragment
from webapp.views.modules import filters_from_form, refused_page

schedules_bp = Blueprint("schedules", __name__)


@schedules_bp.app_context_processor
def schedules_section() -> dict[str, Any]:
    """What _schedules.html needs, computed only when the module page includes it."""

    def module_schedules(module) -> dict[str, Any]:
        rows, _ = schedules.for_module(module.id)
        providers = [p for p in catalog.providers(module) if not p["needs_upload"]
                     and p["target_type"] == TargetType.DATA_ENTRIES]
        return {"items": [_item(s, providers) for s in rows], "presets": cron.PRESETS,
                "zones": time_zones.zones(), "providers": providers}

    return {"module_schedules": module_schedules}


def _item(schedule: SyncSchedule, providers: list[dict[str, Any]]) -> dict[str, Any]:
    """A row of the list: the API's body (webhook masked for those who may not change
    it) with local times and the filters under their labels."""
    labels = {f["name"]: f["label"] for p in providers
              if p["provider_type"] == schedule.provider_type for f in p["filters"]}
    return {**schedules.body(schedule, full_webhook=schedules.may_change(schedule)),
            "next_local": timestamp(schedule.next_run_at, schedule.timezone),
            "last_local": timestamp(schedule.last_run_at, schedule.timezone),
            "filters_shown": [(labels.get(name, name), ", ".join(values))
                              for name, values in sorted((schedule.filters or {}).items())]}


def _back(module_id: int, message: str, category: str = "info"):
    flash(message, category)
    return redirect(url_for("modules.detail", module_id=module_id) + "#schedules", 303)


@schedules_bp.post("/modules/<id:module_id>/schedules")
def add(module_id: int):
    form = request.form
    preset, provider_type = form.get("preset", "daily"), form.get("provider_type", "")
    try:
        schedule = schedules.create({
            "module_id": module_id, "provider_type": provider_type,
            "year": _year(form.get("year")), "timezone": form.get("timezone") or "UTC",
            "cron": form.get("cron", "") if preset == "custom" else preset,
            "filters": filters_from_form(module_id, provider_type, form),
            "webhook_url": form.get("webhook_url") or None}, current_user)
    except Refusal as error:
        return refused_page(module_id, "schedule", error)
    return _back(module_id, f"Schedule #{schedule.id} added; next run "
                            f"{timestamp(schedule.next_run_at, schedule.timezone)}.")


def _year(raw: str | None) -> Any:
    return int(raw) if raw and raw.strip().isascii() and raw.strip().isdigit() else raw


@schedules_bp.post("/schedules/<id:schedule_id>/toggle")
def toggle(schedule_id: int):
    schedule = schedules.get(schedule_id)
    schedules.update(schedule_id, {"enabled": not schedule.enabled}, current_user)
    state = "enabled" if schedule.enabled else "disabled"
    return _back(schedule.module_id, f"Schedule #{schedule_id} {state}.")


@schedules_bp.post("/schedules/<id:schedule_id>/run")
def run(schedule_id: int):
    schedule = schedules.get(schedule_id)
    schedules.require_change(schedule)  # a refusal of the caller is a 403, not a message
    try:
        job = firing.run_now(schedule, current_user)
    except Refusal as error:
        return _back(schedule.module_id, f"Not started: {error.message}", "error")
    return redirect(url_for("modules.detail", module_id=schedule.module_id)
                    + f"#job-{job.id}", 303)


@schedules_bp.get("/schedules/<id:schedule_id>/delete")
def confirm_delete(schedule_id: int):
    """What deleting will stop, with the button that deletes (a page, no script)."""
    schedule = schedules.get(schedule_id)
    schedules.require_change(schedule)
    return page_or_fragment("schedules/delete.html", "schedules/_delete_confirm.html",
                            schedule=schedule, item=_item(schedule, catalog.providers(
                                schedule.module)))


@schedules_bp.post("/schedules/<id:schedule_id>/delete")
def delete(schedule_id: int):
    module_id = schedules.get(schedule_id).module_id
    schedules.delete(schedule_id, current_user)
    return _back(module_id, f"Schedule #{schedule_id} deleted.")


@schedules_bp.errorhandler(Refusal)
def service_error(error: Refusal):
    return render_template("errors/error.html", code=error.status_code,
                           message=error.message), error.status_code
