"""A new year copied from an earlier one (SPEC §13, `POST /years/{year}` with
`copy_from`): the year is created as usual and, in the same transaction, the earlier
year's schedules are copied to the new year's modules, disabled; once that has
committed, one factor load per factor type copies the earlier year's factors, each a
job like any factor load (progress, history, undo).

The factor copies run as jobs, not in the year's transaction, so each is a factor
version of its own that undo takes back, and the recalculations that follow factor
loads are started by the usual signal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text

from webapp import audit
from webapp.errors import Invalid, Refusal
from webapp.extensions import db
from webapp.ingestion.providers.copy_previous_year.base import COPY_FROM, CopyProvider
from webapp.jobs import service
from webapp.jobs.requests import SyncRequest
from webapp.models import InventoryYear, User
from webapp.models.jobs import TargetType
from webapp.organisation import years

MAX_AUDITED_IDS = 1000  # schedule ids kept in the audit row; the count is always there

# Each schedule of a module of the earlier year, onto the module of the same type in
# the same unit's inventory of the new year (a unit without one, e.g. inactive now, is
# left out). Disabled, with no due time: enabling one counts its first due time from
# then. The creator stays the schedule's owner, so a copy never runs as someone else.
_COPY_SCHEDULES = text(
    "INSERT INTO sync_schedules (module_id, factor_type_id, provider_type, target_type, "
    "year, filters, config, cron, timezone, enabled, webhook_url, next_run_at, created_by) "
    "SELECT nm.id, s.factor_type_id, s.provider_type, s.target_type, :year, s.filters, "
    "s.config, s.cron, s.timezone, false, s.webhook_url, NULL, s.created_by "
    "FROM sync_schedules s JOIN modules om ON om.id = s.module_id "
    "JOIN inventories oi ON oi.id = om.inventory_id AND oi.year = :copy_from "
    "JOIN inventories ni ON ni.unit_id = oi.unit_id AND ni.year = :year "
    "JOIN modules nm ON nm.inventory_id = ni.id AND nm.module_type = om.module_type "
    "ORDER BY s.id RETURNING id")

# The factor types with factors in the earlier year, each with the new year's first
# module of its module type: a factor job belongs to a module of its year (factors
# themselves are per type and year, whichever module's job loads them).
_FACTOR_COPIES = text(
    "SELECT ft.id, ft.slug, (SELECT min(m.id) FROM modules m JOIN inventories i "
    "ON i.id = m.inventory_id WHERE i.year = :year AND m.module_type = ft.module_type) "
    "FROM factor_types ft WHERE EXISTS (SELECT 1 FROM emission_factors f "
    "WHERE f.factor_type_id = ft.id AND f.year = :copy_from) ORDER BY ft.id")


@dataclass(frozen=True)
class YearCopied:
    created: years.YearCreated
    copy_from: int
    schedules: int
    factor_jobs: list[int]
    # {factor type slug: why its factors were not copied} (no module to host the job,
    # or the job was refused, e.g. the queue is unreachable: copy them later by hand).
    factors_not_copied: dict[str, str] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        return {"year": self.created.year, "open": False,
                "inventories": self.created.inventories, "modules": self.created.modules,
                "copy_from": self.copy_from, "schedules_copied": self.schedules,
                "factor_jobs": self.factor_jobs,
                "factors_not_copied": [{"factor_type": slug, "message": message}
                                       for slug, message in self.factors_not_copied.items()]}


def check_copy_from(copy_from: int) -> int:
    """`copy_from` if it is an existing year.

    Raises:
        Invalid (422): naming it, when no such year exists.
    """
    exists = (years.FIRST_YEAR <= copy_from <= years.LAST_YEAR
              and db.session.get(InventoryYear, copy_from) is not None)
    if not exists:
        raise Invalid(f"copy_from {copy_from} is not an existing year; copy from a year "
                      "that GET /api/v1/years lists", copy_from=copy_from)
    return copy_from


def create_year_from(year: int, copy_from: int, user: User | None) -> YearCopied:
    """Create `year` (see years.create_year) with `copy_from`'s schedules, commit, then
    start the factor copies.

    Raises:
        Invalid (422): copy_from is no existing year, or `year` is out of range.
        Conflict (409): the year exists already.
    """
    check_copy_from(copy_from)
    created = years.create_year(year)
    schedule_ids = list(db.session.execute(
        _COPY_SCHEDULES, {"year": year, "copy_from": copy_from}).scalars())
    audit.record("year.copied", target_type="year", target_id=year, user=user, details={
        "copy_from": copy_from, "schedules": len(schedule_ids),
        "schedule_ids": schedule_ids[:MAX_AUDITED_IDS]})
    db.session.commit()
    jobs, not_copied = _start_factor_copies(year, copy_from, user)
    return YearCopied(created, copy_from, len(schedule_ids), jobs, not_copied)


def _start_factor_copies(year: int, copy_from: int, user: User | None
                         ) -> tuple[list[int], dict[str, str]]:
    """One copy job per factor type that has factors in `copy_from` (each committed and
    queued by the job service, audited there as any job)."""
    jobs, not_copied = [], {}
    rows = db.session.execute(_FACTOR_COPIES, {"year": year, "copy_from": copy_from}).all()
    for factor_type_id, slug, host_module in rows:
        if host_module is None:
            not_copied[slug] = f"the year {year} has no module to load {slug} factors into"
            continue
        try:
            job = service.create_job(SyncRequest(
                module_id=host_module, provider_type=CopyProvider.provider_name,
                target_type=TargetType.FACTORS, year=year, factor_type_id=factor_type_id,
                config={COPY_FROM: copy_from}), user)
        except Refusal as refusal:
            db.session.rollback()
            not_copied[slug] = refusal.message
            continue
        jobs.append(job.id)
    return jobs, not_copied
