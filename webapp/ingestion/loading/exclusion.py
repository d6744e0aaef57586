"""A unit's load and an institution-wide load (webapp/feeds/) of the same module type and
year never run at once: both replace the unit's slice, and the one committing second
would not see the other's new rows, leaving them twice. Each refuses while the other is
pending or running. (Two requests racing past these checks within the same instant
are not caught: the one-active-job index covers each kind alone.)"""

from __future__ import annotations

from sqlalchemy import text

from webapp.errors import Conflict
from webapp.extensions import db


def refuse_while_institution_load(module_type: str, year: int) -> None:
    """Raises Conflict (409) while every unit's `module_type` of `year` is syncing."""
    active = db.session.execute(text(
        "SELECT id FROM data_ingestion_jobs WHERE status IN ('pending', 'processing') "
        "AND (metadata->>'dry_run') IS NULL AND module_id IS NULL "
        "AND target_type = 'data_entries' AND year = :year "
        "AND metadata->'request'->>'module_type' = :type ORDER BY id LIMIT 1"),
        {"year": year, "type": module_type}).scalar()
    if active is not None:
        raise Conflict(f"job {active} is syncing every unit's {module_type} of {year}; "
                       "wait for it or cancel it", active_job_id=active)


def refuse_while_unit_loads(module_type: str, year: int) -> None:
    """Raises Conflict (409) while a load into one unit's `module_type` of `year` is
    pending or running."""
    active = db.session.execute(text(
        "SELECT j.id FROM data_ingestion_jobs j JOIN modules m ON m.id = j.module_id "
        "WHERE j.status IN ('pending', 'processing') AND (j.metadata->>'dry_run') IS NULL "
        "AND j.target_type = 'data_entries' AND j.year = :year AND m.module_type = :type "
        "ORDER BY j.id LIMIT 1"), {"year": year, "type": module_type}).scalar()
    if active is not None:
        raise Conflict(f"job {active} is loading one unit's {module_type} of {year}; wait "
                       "for it or cancel it before syncing every unit", active_job_id=active)
