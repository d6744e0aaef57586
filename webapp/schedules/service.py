"""Creating, changing and reading schedules. Every change is audited in its transaction.

A schedule stores a sync request checked exactly as `create_job` checks one (through
`check_request`), so a due time fails only for reasons that arise later (a busy target,
a provider switched off)."""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import select

from webapp import access, audit, time_zones
from webapp.errors import BadRequest, Invalid, NotFound
from webapp.extensions import db
from webapp.ingestion.providers import registry
from webapp.jobs import service as jobs
from webapp.jobs.requests import SyncRequest, get_module
from webapp.models import Module, SyncSchedule, User
from webapp.models.jobs import TargetType
from webapp.schedules import cron, webhook
from webapp.security import INT4_MAX

CREATE_FIELDS = ("module_id", "module_type", "provider_type", "target_type",
                 "factor_type_id", "year", "filters", "config", "cron", "timezone",
                 "webhook_url", "enabled")
PATCH_FIELDS = ("filters", "config", "cron", "timezone", "webhook_url", "enabled")


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def body(schedule: SyncSchedule, *, full_webhook: bool) -> dict[str, Any]:
    """The schedule as the API and pages show it. `full_webhook` for those who may change
    it; others see the webhook masked, its path and query possibly holding a token."""
    return {"id": schedule.id, "module_id": schedule.module_id,
            "module_type": schedule.module_type,
            "provider_type": schedule.provider_type, "target_type": schedule.target_type,
            "factor_type_id": schedule.factor_type_id, "year": schedule.year,
            "filters": schedule.filters or {}, "config": schedule.config or {},
            "cron": schedule.cron, "cron_label": cron.describe(schedule.cron),
            "timezone": schedule.timezone, "webhook_url": schedule.webhook_url if full_webhook
            else webhook.masked(schedule.webhook_url),
            "enabled": schedule.enabled, "next_run_at": _iso(schedule.next_run_at),
            "last_run_at": _iso(schedule.last_run_at), "last_job_id": schedule.last_job_id,
            "last_outcome": schedule.last_outcome, "last_message": schedule.last_message,
            "created_by": schedule.created_by, "created_at": _iso(schedule.created_at),
            "updated_at": _iso(schedule.updated_at)}


def get(schedule_id: int) -> SyncSchedule:
    """The schedule, if the caller may see its module.

    Raises:
        NotFound: no such schedule, or one out of the caller's sight (the same sentence).
    """
    missing = f"schedule {schedule_id} does not exist"
    schedule = db.session.get(SyncSchedule, schedule_id) if schedule_id <= INT4_MAX else None
    if schedule is None:
        raise NotFound(missing)
    access.check_inventory(schedule.module.inventory_id if schedule.module else None,
                           missing)
    return schedule


def may_change(schedule: SyncSchedule) -> bool:
    """Whether the caller may change `schedule`: only they see its full webhook URL
    (SPEC §12 continued)."""
    return access.may(access.unit_of(schedule.module),
                      access.role_to_change(schedule.target_type))


def require_change(schedule: SyncSchedule) -> None:
    """Changing, deleting or running a schedule needs what its syncs need.

    Raises:
        Forbidden (403).
    """
    access.require(access.unit_of(schedule.module), access.role_to_change(
        schedule.target_type), "changing this schedule")


def for_module(module_id: int | None, *, limit: int = 100, offset: int = 0
               ) -> tuple[list[SyncSchedule], int]:
    query = select(SyncSchedule).where(access.of_visible_inventory(
        select(Module.inventory_id).where(Module.id == SyncSchedule.module_id)
        .scalar_subquery()))
    if module_id is not None:
        query = query.where(SyncSchedule.module_id == module_id)
    total = db.session.execute(select(db.func.count()).select_from(query.subquery())
                               ).scalar_one()
    rows = db.session.execute(query.order_by(SyncSchedule.id).limit(limit).offset(offset)
                              ).scalars()
    return list(rows), total


def target_of(payload: dict[str, Any]) -> str:
    """The target a create payload asks for (data entries unless it says factors)."""
    return payload.get("target_type") or TargetType.DATA_ENTRIES


def _unknown_fields(payload: dict[str, Any], allowed: tuple[str, ...]) -> None:
    unknown = sorted(str(key)[:40] for key in payload if key not in allowed)
    if unknown:
        raise Invalid(f"unknown field{'s' if len(unknown) > 1 else ''} "
                      f"{', '.join(map(repr, unknown[:5]))}; accepted: {', '.join(allowed)}")


def _int_field(payload: dict[str, Any], name: str, required: bool) -> int | None:
    value = payload.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise BadRequest(f"{name} must be a whole number")
    if not 0 < value <= INT4_MAX:
        raise NotFound(f"{name} {value} does not exist")
    return value


def _webhook_url(payload: dict[str, Any]) -> str | None:
    return webhook.check_url(payload.get("webhook_url"),
                             current_app.config.get("WEBHOOK_ALLOW_PRIVATE", False))


def _enabled(payload: dict[str, Any]) -> bool:
    value = payload.get("enabled", True)
    if not isinstance(value, bool):
        raise BadRequest("enabled must be true or false")
    return value


def create(payload: dict[str, Any], user: User | None) -> SyncSchedule:
    """Check and store a schedule; its first due time is the next one after now.

    Raises:
        BadRequest, NotFound, Invalid (422: csv_upload, a bad cron, zone or URL), Unavailable.
    """
    _unknown_fields(payload, CREATE_FIELDS)
    if payload.get("module_id") is None and payload.get("module_type") is not None:
        return _create_institution_wide(payload, user)
    module_id = _int_field(payload, "module_id", required=True)
    factor_type_id = _int_field(payload, "factor_type_id", required=False)
    target_type, provider_type = target_of(payload), payload.get("provider_type")
    module = get_module(module_id)
    if not isinstance(target_type, str):
        raise BadRequest("target_type must be 'data_entries' or 'factors'")
    access.require(module.inventory.unit, access.role_to_change(target_type),
                   "scheduling its syncs")
    if not isinstance(provider_type, str) or not provider_type:
        raise BadRequest("provider_type is required (a string)")
    if target_type in (TargetType.DATA_ENTRIES, TargetType.FACTORS) and registry.resolve(
            module.module_type, provider_type, target_type).needs_upload:
        raise Invalid(f"{provider_type} needs a file for every load, so it cannot be "
                      "scheduled; schedules are for API providers", field="provider_type")
    checked = jobs.check_request(SyncRequest(
        module_id=module_id, provider_type=provider_type, target_type=target_type,
        year=payload.get("year"), filters=payload.get("filters"),
        config=payload.get("config"), factor_type_id=factor_type_id))
    return _store(SyncSchedule(
        module_id=module_id, factor_type_id=factor_type_id if checked.factor_type else None,
        provider_type=provider_type, target_type=target_type), checked, payload, user)


def _create_institution_wide(payload: dict[str, Any], user: User | None) -> SyncSchedule:
    """A schedule of every unit's sync of a module type (admins; webapp/feeds/)."""
    from webapp.feeds.kind import institution_request

    access.require_admin("scheduling every unit's sync")
    if payload.get("target_type") not in (None, TargetType.DATA_ENTRIES):
        raise Invalid("a schedule of every unit syncs data entries", field="target_type")
    if payload.get("factor_type_id") is not None:
        raise Invalid("factor_type_id is for one module's factors", field="factor_type_id")
    request = institution_request(payload.get("year"), payload)
    checked = jobs.check_request(request)
    if registry.resolve(request.module_type, request.provider_type,
                        TargetType.DATA_ENTRIES).needs_upload:
        raise Invalid(f"{request.provider_type} needs a file for every load, so it cannot "
                      "be scheduled; schedules are for API providers", field="provider_type")
    return _store(SyncSchedule(module_type=request.module_type,
                               provider_type=request.provider_type,
                               target_type=TargetType.DATA_ENTRIES), checked, payload, user)


def _store(schedule: SyncSchedule, checked, payload: dict[str, Any],
           user: User | None) -> SyncSchedule:
    """The checked request's year, filters and config, the timing and the webhook of
    `payload`: stored, audited, committed."""
    expression = cron.check_cron(payload.get("cron"))
    zone = time_zones.check_timezone(payload.get("timezone"))
    schedule.year = checked.year
    schedule.filters = checked.stored_request["filters"]
    schedule.config = checked.stored_request["config"]
    schedule.cron, schedule.timezone = expression, zone
    schedule.webhook_url, schedule.enabled = _webhook_url(payload), _enabled(payload)
    schedule.next_run_at = cron.next_after(expression, zone, jobs.now())
    schedule.created_by = user.id if user else None
    db.session.add(schedule)
    db.session.flush()
    _audit("schedule.created", schedule, user)
    db.session.commit()
    return schedule


def update(schedule_id: int, payload: dict[str, Any], user: User | None) -> SyncSchedule:
    """Change cron, zone, enabled, webhook, filters or config. A new cron or zone, or
    enabling again, counts the next due time from now (no catch-up of the paused time)."""
    _unknown_fields(payload, PATCH_FIELDS)
    schedule = get(schedule_id)
    require_change(schedule)
    changed = sorted(payload)
    if "filters" in payload or "config" in payload:
        checked = jobs.check_request(SyncRequest(
            module_id=schedule.module_id, provider_type=schedule.provider_type,
            target_type=schedule.target_type, year=schedule.year,
            filters=payload.get("filters", schedule.filters),
            config=payload.get("config", schedule.config),
            factor_type_id=schedule.factor_type_id, module_type=schedule.module_type))
        schedule.filters = checked.stored_request["filters"]
        schedule.config = checked.stored_request["config"]
    if "cron" in payload:
        schedule.cron = cron.check_cron(payload["cron"])
    if "timezone" in payload:
        schedule.timezone = time_zones.check_timezone(payload["timezone"])
    if "webhook_url" in payload:
        schedule.webhook_url = _webhook_url(payload)
    was_enabled = schedule.enabled
    if "enabled" in payload:
        schedule.enabled = _enabled(payload)
    if {"cron", "timezone"} & set(payload) or (schedule.enabled and not was_enabled):
        schedule.next_run_at = cron.next_after(schedule.cron, schedule.timezone, jobs.now())
    _audit("schedule.updated", schedule, user, changed=changed)
    db.session.commit()
    return schedule


def delete(schedule_id: int, user: User | None) -> None:
    """Delete a schedule (and its run records); a job it already started runs on."""
    schedule = get(schedule_id)
    require_change(schedule)
    _audit("schedule.deleted", schedule, user)
    db.session.delete(schedule)
    db.session.commit()


def _audit(action: str, schedule: SyncSchedule, user: User | None, **extra) -> None:
    # The webhook URL may carry a token in its path or query: only its presence is kept.
    audit.record(action, target_type="schedule", target_id=schedule.id, user=user, details={
        "module_id": schedule.module_id, "module_type": schedule.module_type,
        "provider_type": schedule.provider_type,
        "target_type": schedule.target_type, "cron": schedule.cron,
        "timezone": schedule.timezone, "enabled": schedule.enabled,
        "webhook": bool(schedule.webhook_url), **extra})
