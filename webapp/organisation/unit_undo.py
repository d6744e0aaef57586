"""Undo of a units import (SPEC §11 and §13): the tree as it was before the import.

The import keeps, in its own transaction, each unit it changed as it was (name, parent,
active) and each unit it created (`replaced_units`). Its undo, a job like any other
(`POST /api/v1/sync/undo/{id}`), in one transaction:

- refuses (409, nothing changed) when a unit the import wrote has changed since (its
  `updated_at` is after the import's: a later `flask units import`; a later units *job*
  is refused before the undo is created, as for loads): putting it back would silently
  throw that change away;
- gives the changed units their previous name, parent and active flag, and their
  previous `updated_at`, so a unit an undo put back does not count as changed later;
- removes the units the import created, unless something refers to them by then (an
  inventory, a member, a unit the undo does not remove): those stay, made inactive, and
  the undo's message names them; removing them would take data or memberships along;
- refuses (409) when the tree put back would have a cycle (a unit moved since under one
  the undo moves back), then stores every path again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import insert, text

from webapp.errors import TreeChanged
from webapp.extensions import db
from webapp.jobs import kinds, lifecycle, signals
from webapp.jobs.requests import Checked, SyncRequest
from webapp.models import DataIngestionJob, ReplacedUnit, TargetType
from webapp.organisation.units import store_paths
from webapp.text import clip_message

NAMED_IN_MESSAGE = 10  # units a message names before "and N more"
PURGE_EVERY_S = 3600
_last_purge = 0.0


@dataclass(frozen=True)
class UnitState:
    """A unit as an import may change it, and when it last changed."""

    id: int
    name: str
    parent_id: int | None
    active: bool
    updated_at: datetime

    @property
    def place(self) -> tuple:
        """What an import writes: the same place in the tree means unchanged."""
        return self.name, self.parent_id, self.active


def unit_states() -> dict[str, UnitState]:
    """Every unit's state by code (the import's caller locks the table first)."""
    return {code: UnitState(unit_id, *rest) for unit_id, code, *rest in db.session.execute(
        text("SELECT id, code, name, parent_id, active, updated_at FROM units"))}


def keep_replaced(job_id: int, before: dict[str, UnitState], codes: list[str]) -> int:
    """Keep, for undo, each of `codes` (the units the import named, once each) that the
    import created or changed, as it was before. In the import's transaction, so the
    kept rows' `kept_at` is the import's `updated_at`; returns how many."""
    after = unit_states()
    kept = []
    for code in codes:
        was, now = before.get(code), after.get(code)
        if now is None or (was is not None and was.place == now.place):
            continue  # refused (skip), or unchanged
        kept.append({"replaced_by": job_id, "unit_id": now.id, "code": code,
                     "inserted": was is None, "name": was and was.name,
                     "parent_id": was and was.parent_id, "active": was and was.active,
                     "updated_at": was and was.updated_at})
    if kept:
        db.session.execute(insert(ReplacedUnit), kept)
    return len(kept)


class UnitsUndoKind(kinds.JobKind):
    """Puts the unit tree back as it was before a completed units import."""

    name = "units_undo"
    audit_action = "job.undo"
    changes_data = False  # the tree changes no figure: nothing to recalculate

    def claims(self, request: SyncRequest) -> bool:
        return request.target_type == TargetType.UNITS and request.undo_of is not None

    def check(self, request: SyncRequest) -> Checked:
        # The import's request was checked when it ran; the undo only needs its job.
        return Checked(None, None, None, {"provider_type": request.provider_type,
                                          "filters": {}, "config": {}})

    def run(self, job: DataIngestionJob, attempt: str, log) -> None:
        job_id, undone = job.id, job.info.undo_of
        try:
            lifecycle.record_data_session(job_id, attempt)
            db.session.execute(text("LOCK TABLE units IN SHARE ROW EXCLUSIVE MODE"))
            counts, kept = restore_units(undone)
            lifecycle.complete_job(job_id, counts, {"phase": "done", "percent": 100},
                                   attempt=attempt, extra={"kept_units": kept})
            db.session.commit()
        except Exception as error:  # noqa: BLE001 - every failure must end the job
            lifecycle.rollback()
            if not isinstance(error, TreeChanged):
                log.exception("units undo of job %s ended early", undone)
            lifecycle.end_with(job_id, error, attempt, log)

    def completion_message(self, job: DataIngestionJob, counts: dict[str, Any],
                           extra: dict[str, Any]) -> str:
        message = (f"Undid job #{job.info.undo_of}: restored {counts.get('restored', 0):,} "
                   f"units, removed {counts.get('removed', 0):,}")
        kept = extra.get("kept_units") or []
        if kept:
            message += (f"; kept {len(kept):,} it created, now inactive, that something "
                        f"refers to: {_named(kept)}")
        return clip_message(message)


def restore_units(undone: int) -> tuple[dict[str, int], list[str]]:
    """In the undo's transaction: (counts, codes of the created units kept inactive).

    Raises:
        TreeChanged (409): a unit changed since the import, or the tree would have a cycle.
    """
    changed = db.session.execute(text(
        "SELECT r.code FROM replaced_units r JOIN units u ON u.id = r.unit_id "
        "WHERE r.replaced_by = :j AND u.updated_at > r.kept_at ORDER BY r.code"),
        {"j": undone}).scalars().all()
    if changed:
        raise TreeChanged(f"{_named(changed)} changed after job {undone} (a later import); "
                          "undoing it would throw that away, so nothing was changed")
    restored = db.session.execute(text(
        "UPDATE units u SET name = r.name, parent_id = r.parent_id, active = r.active, "
        "updated_at = r.updated_at FROM replaced_units r WHERE r.replaced_by = :j "
        "AND NOT r.inserted AND u.id = r.unit_id"), {"j": undone}).rowcount
    removed = 0
    while True:  # leaves first: a created unit goes once nothing is below it
        gone = db.session.execute(text(
            "DELETE FROM units u USING replaced_units r WHERE r.replaced_by = :j "
            "AND r.inserted AND u.id = r.unit_id "
            "AND NOT EXISTS (SELECT 1 FROM units c WHERE c.parent_id = u.id) "
            "AND NOT EXISTS (SELECT 1 FROM inventories i WHERE i.unit_id = u.id) "
            "AND NOT EXISTS (SELECT 1 FROM memberships m WHERE m.unit_id = u.id)"),
            {"j": undone}).rowcount
        if not gone:
            break
        removed += gone
    kept = db.session.execute(text(
        "UPDATE units u SET active = false, updated_at = now() FROM replaced_units r "
        "WHERE r.replaced_by = :j AND r.inserted AND u.id = r.unit_id RETURNING u.code"),
        {"j": undone}).scalars().all()
    _refuse_cycles(undone)
    store_paths()
    db.session.execute(text("DELETE FROM replaced_units WHERE replaced_by = :j"), {"j": undone})
    return {"restored": restored, "removed": removed, "kept": len(kept)}, sorted(kept)


def _refuse_cycles(undone: int) -> None:
    """Units no longer reachable from a root are in a cycle the undo would make."""
    looping = db.session.execute(text("""
        WITH RECURSIVE tree AS (
            SELECT id FROM units WHERE parent_id IS NULL
            UNION ALL
            SELECT u.id FROM units u JOIN tree t ON u.parent_id = t.id)
        SELECT code FROM units WHERE id NOT IN (SELECT id FROM tree) ORDER BY code""")
    ).scalars().all()
    if looping:
        raise TreeChanged(f"undoing job {undone} would make {_named(looping)} their own "
                          "ancestors (the tree changed since); nothing was changed")


def _named(codes: list[str]) -> str:
    shown = ", ".join(codes[:NAMED_IN_MESSAGE])
    more = len(codes) - NAMED_IN_MESSAGE
    return f"{shown} and {more:,} more" if more > 0 else shown


@signals.reaper_round.connect
def _purge_on_reaper_round(_sender: object) -> None:
    """What imports kept goes once their undo window closes (about hourly, as loads')."""
    global _last_purge
    if time.monotonic() - _last_purge < PURGE_EVERY_S:
        return
    _last_purge = time.monotonic()
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM replaced_units WHERE kept_at < now() - "
                          "make_interval(days => :d)"),
                     {"d": current_app.config["UNDO_KEEP_DAYS"]})


kinds.register(UnitsUndoKind())
