"""Scheduled syncs (SPEC §11): create, list, read, change, delete, run now. Changing the
schedules of a unit's data needs its editor role, of factors an admin (like their
syncs): the schedules service asks webapp/access.py."""

from __future__ import annotations

from flask import request
from flask_login import current_user

from webapp import catalog
from webapp.api import api_bp
from webapp.api.params import accepted, int_arg, json_object, listing, page_args
from webapp.schedules import firing
from webapp.schedules import service as schedules
from webapp.security import INT4_MAX


def _shown(schedule) -> dict:
    return schedules.body(schedule, full_webhook=schedules.may_change(schedule))


@api_bp.post("/schedules")
def schedules_create():
    return _shown(schedules.create(json_object(), current_user)), 201


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
def schedules_update(schedule_id: int):
    return _shown(schedules.update(schedule_id, json_object(), current_user))


@api_bp.delete("/schedules/<id:schedule_id>")
def schedules_delete(schedule_id: int):
    schedules.delete(schedule_id, current_user)
    return "", 204


@api_bp.post("/schedules/<id:schedule_id>/run")
def schedules_run(schedule_id: int):
    job = firing.run_now(schedules.get(schedule_id), current_user)
    return accepted(job, schedule_id=schedule_id)
