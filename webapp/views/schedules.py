"""The module page's Schedules section: add (preset or custom cron, time zone), enable or
disable, run now, delete. Each form posts here, calls the schedules service and goes
back to the page with a message (303, so reloading never posts twice)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from webapp.auth import requires_role
from webapp.ingestion.jobs import queries
from webapp.ingestion.jobs.states import TargetType
from webapp.ingestion.refusals import ServiceError
from webapp.schedules import cron, firing
from webapp.schedules import service as schedules
from webapp.schedules.access import may_change, schedule_role

schedules_bp = Blueprint("schedules", __name__)


@schedules_bp.app_context_processor
def schedules_section() -> dict[str, Any]:
    """What _schedules.html needs, computed only when the module page includes it."""

    def module_schedules(module) -> dict[str, Any]:
        rows, _ = schedules.for_module(module.id)
        # The webhook in full only for those who may change the schedule (SPEC §12).
        items = [{**schedules.body(s, full_webhook=may_change(s, current_user)),
                  "next_local": cron.local(s.next_run_at, s.timezone),
                  "last_local": cron.local(s.last_run_at, s.timezone)} for s in rows]
        return {"items": items, "presets": cron.PRESETS, "zones": cron.zones(),
                "providers": [p for p in queries.providers(module) if not p["needs_upload"]
                              and p["target_type"] == TargetType.DATA_ENTRIES]}

    return {"module_schedules": module_schedules}


def _back(module_id: int, message: str, category: str = "info"):
    flash(message, category)
    return redirect(url_for("modules.detail", module_id=module_id) + "#schedules", 303)


@schedules_bp.post("/modules/<id:module_id>/schedules")
@requires_role("editor")
def add(module_id: int):
    form = request.form
    preset = form.get("preset", "daily")
    payload = {"module_id": module_id, "provider_type": form.get("provider_type", ""),
               "year": _year(form.get("year")), "timezone": form.get("timezone") or "UTC",
               "cron": form.get("cron", "") if preset == "custom" else preset,
               "webhook_url": form.get("webhook_url") or None}
    try:
        schedule = schedules.create(payload, current_user)
    except ServiceError as error:
        return _back(module_id, f"Schedule not added: {error.message}", "error")
    return _back(module_id, f"Schedule #{schedule.id} added; next run "
                            f"{schedule.next_run_at:%Y-%m-%d %H:%M} UTC.")


def _year(raw: str | None) -> Any:
    return int(raw) if raw and raw.strip().isascii() and raw.strip().isdigit() else raw


@schedules_bp.post("/schedules/<id:schedule_id>/toggle")
@requires_role(schedule_role)
def toggle(schedule_id: int):
    schedule = schedules.get(schedule_id)
    schedules.update(schedule_id, {"enabled": not schedule.enabled}, current_user)
    state = "enabled" if schedule.enabled else "disabled"
    return _back(schedule.module_id, f"Schedule #{schedule_id} {state}.")


@schedules_bp.post("/schedules/<id:schedule_id>/run")
@requires_role(schedule_role)
def run(schedule_id: int):
    schedule = schedules.get(schedule_id)
    try:
        job = firing.run_now(schedule, current_user)
    except ServiceError as error:
        return _back(schedule.module_id, f"Not started: {error.message}", "error")
    return redirect(url_for("modules.detail", module_id=schedule.module_id)
                    + f"#job-{job.id}", 303)


@schedules_bp.post("/schedules/<id:schedule_id>/delete")
@requires_role(schedule_role)
def delete(schedule_id: int):
    module_id = schedules.get(schedule_id).module_id
    schedules.delete(schedule_id, current_user)
    return _back(module_id, f"Schedule #{schedule_id} deleted.")


@schedules_bp.errorhandler(ServiceError)
def service_error(error: ServiceError):
    return render_template("errors/error.html", code=error.status,
                           message=error.message), error.status
