"""Recalculate a module's emissions: set-based SQL, one transaction, summary included."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import psycopg

from webapp.emissions.airports import ensure_airports
from webapp.emissions.rules import RULES
from webapp.emissions.statements import (
    KEYS_TABLE,
    SOURCE_STATEMENT,
    SUMMARY_STATEMENT,
    RuleStatements,
    rule_statements,
    unruled_statement,
)

# Statements are built once per process from the declarations.
_STEPS: tuple[tuple[str, str | RuleStatements], ...] = (
    ("source", SOURCE_STATEMENT),
    *((entry_type, rule_statements(rule)) for entry_type, rule in RULES.items()),
    ("unruled", unruled_statement(list(RULES))),
)
STEP_COUNT = len(_STEPS) + 1  # and the summary
# A distinct missing reason per entry is possible (one unknown airport each): the
# summary keeps the most frequent ones so it stays small, and says how many there were.
REASONS_KEPT = 100
# Any constant: with the module id it names the lock two recalculations of one module
# take, so they run one after the other. A row lock on the module would also block the
# job service updating modules.last_sync_status; an advisory lock blocks nobody else.
_LOCK_CLASS = 0x454D4953  # "EMIS"

Progress = Callable[[str, int, int], None]  # (step name, steps done, steps in all)


class UnknownModule(LookupError):
    """The module to recalculate does not exist."""


@dataclass(frozen=True)
class Recalculation:
    module_id: int
    changed: dict[str, int]  # entries written per step (source, an entry type, unruled)
    entries: int
    entries_with_emissions: int
    total_kg_co2eq: float

    def as_metadata(self) -> dict:
        return {"changed": self.changed, "entries": self.entries,
                "entries_with_emissions": self.entries_with_emissions,
                "total_kg_co2eq": self.total_kg_co2eq}


def recalculate_module(conn: psycopg.Connection, module_id: int, *, job_id: int | None = None,
                       progress: Progress | None = None) -> Recalculation:
    """Compute `kg_co2eq` and `emission` of every entry of the module, and its summary.

    All in one transaction (a savepoint if `conn` is already in one): readers see the
    previous figures until it commits, and an exception anywhere, including one raised
    by `progress` (a cancellation), leaves them as they were.

    Args:
        job_id: recorded in the summary as the recalculation that produced it.
        progress: called before each statement, for progress reports and cancel checks.

    Raises:
        UnknownModule: no module has this id.
    """
    with conn.transaction():
        if conn.execute("SELECT pg_advisory_xact_lock(%s, %s), EXISTS "
                        "(SELECT 1 FROM modules WHERE id = %s)",
                        (_LOCK_CLASS, module_id, module_id)).fetchone()[1] is not True:
            raise UnknownModule(f"module {module_id} does not exist")
        ensure_airports(conn)
        params = {"module_id": module_id}
        changed: dict[str, int] = {}
        for done, (name, statement) in enumerate(_STEPS):
            if progress is not None:
                progress(name, done, STEP_COUNT)
            changed[name] = _run(conn, statement, params)
        if progress is not None:
            progress("summary", STEP_COUNT - 1, STEP_COUNT)
        totals = conn.execute(
            SUMMARY_STATEMENT + " RETURNING entries, entries_with_emissions, total_kg_co2eq",
            {**params, "job_id": job_id, "reasons_kept": REASONS_KEPT}).fetchone()
    return Recalculation(module_id, changed, *totals)


def _run(conn: psycopg.Connection, statement: str | RuleStatements, params: dict) -> int:
    """Run one step; the number of entries it wrote."""
    if isinstance(statement, str):
        return conn.execute(statement, params).rowcount
    conn.execute(statement.resolve, params)
    conn.execute(f"ANALYZE {KEYS_TABLE}")
    written = conn.execute(statement.update, params).rowcount
    conn.execute(f"DROP TABLE {KEYS_TABLE}")
    return written
