"""Bulk writes: COPY clean rows into a temporary staging table, then one set-based
statement replaces (data entries) or upserts (factors) the target rows.

Everything happens on one connection inside one transaction that the runner commits
together with the job's `completed` state, so a failed or cancelled job leaves the
target tables exactly as they were.
"""

from __future__ import annotations

import json
from typing import Any

import psycopg

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


class EntrySink:
    """Replaces the slice (module, year, source, entry_type) a provider owns."""

    def __init__(self, conn: psycopg.Connection, *, job_id: int, inventory_id: int,
                 module_id: int, year: int, source: str):
        self.conn, self.job_id, self.source = conn, job_id, source
        self.inventory_id, self.module_id, self.year = inventory_id, module_id, year
        self.staged = 0
        conn.execute("CREATE TEMPORARY TABLE IF NOT EXISTS staged_entries ("
                     "entry_type text NOT NULL, data jsonb NOT NULL, kg_co2eq float8) "
                     "ON COMMIT DROP")

    def stage(self, rows: list[dict[str, Any]]) -> int:
        with self.conn.cursor() as cur, cur.copy(
                "COPY staged_entries (entry_type, data, kg_co2eq) FROM STDIN") as copy:
            for row in rows:
                copy.write_row((row["entry_type"], _dumps(row["data"]), row.get("kg_co2eq")))
        self.staged += len(rows)
        return len(rows)

    def finish(self, entry_types: set[str]) -> dict[str, int]:
        """Delete the provider's previous rows of these entry types, insert the staged ones."""
        deleted = self.conn.execute(
            "DELETE FROM data_entries WHERE module_id = %s AND year = %s AND source = %s "
            "AND entry_type = ANY(%s)",
            (self.module_id, self.year, self.source, sorted(entry_types))).rowcount
        inserted = self.conn.execute(
            "INSERT INTO data_entries (inventory_id, module_id, year, entry_type, data, "
            "kg_co2eq, source, job_id, created_at, updated_at) "
            "SELECT %s, %s, %s, entry_type, data, kg_co2eq, %s, %s, now(), now() "
            "FROM staged_entries",
            (self.inventory_id, self.module_id, self.year, self.source, self.job_id)).rowcount
        return {"inserted": inserted, "updated": 0, "deleted": deleted}


class FactorSink:
    """Upserts factors on (factor type, year, classification); reports what changed."""

    def __init__(self, conn: psycopg.Connection, *, job_id: int, factor_type_id: int,
                 year: int):
        self.conn, self.job_id = conn, job_id
        self.factor_type_id, self.year = factor_type_id, year
        self.staged = 0
        conn.execute("CREATE TEMPORARY TABLE IF NOT EXISTS staged_factors ("
                     "seq bigint NOT NULL, classification jsonb NOT NULL, "
                     "\"values\" jsonb NOT NULL) ON COMMIT DROP")

    def stage(self, rows: list[dict[str, Any]]) -> int:
        with self.conn.cursor() as cur, cur.copy(
                'COPY staged_factors (seq, classification, "values") FROM STDIN') as copy:
            for row in rows:
                self.staged += 1
                copy.write_row((self.staged, _dumps(row["classification"]),
                                _dumps(row["values"])))
        return len(rows)

    def finish(self, entry_types: set[str] | None = None) -> dict[str, int]:
        # A classification repeated in one file: the last line wins, as in a spreadsheet.
        inserted, updated = self.conn.execute(
            'WITH source AS (SELECT DISTINCT ON (classification) classification, "values" '
            "FROM staged_factors ORDER BY classification, seq DESC), "
            "written AS (INSERT INTO emission_factors (factor_type_id, year, classification, "
            '"values", job_id, created_at, updated_at) '
            'SELECT %s, %s, classification, "values", %s, now(), now() FROM source '
            "ON CONFLICT (factor_type_id, year, classification) DO UPDATE "
            'SET "values" = EXCLUDED."values", job_id = EXCLUDED.job_id, updated_at = now() '
            'WHERE emission_factors."values" IS DISTINCT FROM EXCLUDED."values" '
            "RETURNING (xmax = 0) AS is_new) "
            "SELECT count(*) FILTER (WHERE is_new), count(*) FILTER (WHERE NOT is_new) "
            "FROM written",
            (self.factor_type_id, self.year, self.job_id)).fetchone()
        distinct = self.conn.execute(
            "SELECT count(DISTINCT classification) FROM staged_factors").fetchone()[0]
        return {"inserted": inserted, "updated": updated,
                "unchanged": distinct - inserted - updated}
