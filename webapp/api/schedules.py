"""Scheduled syncs (SPEC §11): create, list, read, change, delete, run now. Schedules of
data entries need the editor role, of factors the admin role (like their syncs)."""

from __future__ import annotations

from flask import request
from flask_login import current_user

from webapp import catalog
from webapp.api import api_bp
from webapp.api.params import accepted, int_arg, json_object, listing, page_args
from webapp.auth import forbidden, requires_role, role_for_target
from webapp.schedules import firing
from webapp.schedules import service as schedules
from webapp.schedules.access import may_change, schedule_role
from webapp.security import INT4_MAX


def _shown(schedule) -> dict:
    return schedules.body(schedule, full_webhook=may_change(schedule, current_user))


@api_bp.post("/schedules")
@requires_role("editor")
def schedules_create():
    payload = json_object()
    role = role_for_target(schedules.target_of(payload))
    if not current_user.can(role):
        return forbidden(role)
    return _shown(schedules.create(payload, current_user)), 201


@api_bp.get("/schedules")
def schedules_list():
    limit, offset = page_args(100)
    module_id = None
    if request.args.get("module_id"):
        module_id = catalog.get_module(int_arg("module_id", 0, 1, INT4_MAX)).id
    rows, total = schedules.for_module(module_id, limit=limit, offset=offset)
    return listing([_shown(s) for s in rows], total, limit, offset)


@api_bp.get("/schedules/<id:schedule_id>")
def schedules_one(schedule_id: int):
    return _shown(schedules.get(schedule_id))


@api_bp.patch("/schedules/<id:schedule_id>")
@requires_role(schedule_role)
def schedules_update(schedule_id: int):
    return _shown(schedules.update(schedule_id, json_object(), current_user))


@api_bp.delete("/schedules/<id:schedule_id>")
@requires_role(schedule_role)
def schedules_delete(schedule_id: int):
    schedules.delete(schedule_id, current_user)
    return "", 204


@api_bp.post("/schedules/<id:schedule_id>/run")
@requires_role(schedule_role)
def schedules_run(schedule_id: int):
    job = firing.run_now(schedules.get(schedule_id), current_user)
    return accepted(job, schedule_id=schedule_id)
