"""Sinks for previews (`config.dry_run`): the whole load runs, nothing is written.

A preview must never hold a lock a real load waits on, so it writes into no live table:
its entries go into a temporary `data_entries` that shadows the real one for this
transaction (PostgreSQL looks in the session's temporary schema first), and what the
load would replace is counted with plain reads, which lock no row. The runner rolls the
transaction back, so the temporary tables vanish with it.
"""

from __future__ import annotations

from typing import Any

import psycopg

from webapp.emissions import recalculate_module
from webapp.emissions.recalculation import _LOCK_CLASS
from webapp.ingestion.loading.sinks import EntrySink, FactorSink

PREVIEW_ROWS = 20  # the rows a preview shows, as they would be stored


class PreviewEntrySink(EntrySink):
    dry_run = True

    def __init__(self, conn: psycopg.Connection, **kwargs: Any):
        kwargs["keep_replaced"] = False
        super().__init__(conn, **kwargs)
        self.preview: list[dict[str, Any]] = []
        for table in ("data_entries", "module_emission_summaries"):
            # INCLUDING ALL: the summary's ON CONFLICT needs its unique key; no foreign
            # keys are copied, so nothing here locks a module or an inventory.
            conn.execute(f"CREATE TEMPORARY TABLE {table} (LIKE public.{table} "
                         "INCLUDING ALL) ON COMMIT DROP")

    def _remove(self, where: str, params: list[Any]) -> int:
        """Count the slice's rows instead: a preview deletes nothing."""
        return self.conn.execute(
            f"SELECT count(*) FROM public.data_entries WHERE {where}", params).fetchone()[0]

    def _refuse_unconfirmed_shrink(self) -> None:
        """A preview shows what a load would replace instead; its "Load it" confirms."""

    def _store_counts(self) -> None:
        """A preview changes no count."""

    def finish(self, entry_types: set[str]) -> dict[str, int]:
        counts = super().finish(entry_types)
        counts["unchanged"] = sum(self._unchanged(entry_type)
                                  for entry_type in sorted(self.cleared))
        self.preview = self._first_rows()
        return counts

    def _unchanged(self, entry_type: str) -> int:
        """New rows whose data equals a row they replace, each old row matched once (a
        multiset intersection). Compared as jsonb's text, which is canonical: grouping
        by that is twice as fast as by jsonb (measured)."""
        where, params = self._slice(entry_type)
        return int(self.conn.execute(
            "WITH o AS (SELECT data::text AS d, count(*) AS n FROM public.data_entries "
            f"WHERE {where} GROUP BY 1), n AS (SELECT data::text AS d, count(*) AS n "
            "FROM pg_temp.data_entries WHERE entry_type = %s GROUP BY 1) "
            "SELECT COALESCE(sum(LEAST(o.n, n.n)), 0) FROM o JOIN n USING (d)",
            [*params, entry_type]).fetchone()[0])

    def _first_rows(self) -> list[dict[str, Any]]:
        """The first rows as they would be stored, with their emissions when a
        recalculation can run now (the rest are dropped first: it then costs nothing)."""
        self.conn.execute("DELETE FROM pg_temp.data_entries WHERE id NOT IN (SELECT id FROM "
                          "pg_temp.data_entries ORDER BY id LIMIT %s)", [PREVIEW_ROWS])
        # The recalculation's own lock, taken only if free: a real recalculation of this
        # module never waits for a preview (the preview then shows no figures).
        if self.conn.execute("SELECT pg_try_advisory_xact_lock(%s, %s)",
                             (_LOCK_CLASS, self.module_id)).fetchone()[0]:
            recalculate_module(self.conn, self.module_id)
        rows = self.conn.execute(
            "SELECT entry_type, data, kg_co2eq, emission FROM pg_temp.data_entries "
            "ORDER BY id").fetchall()
        return [{"entry_type": t, "data": d, "kg_co2eq": kg, "emission": e}
                for t, d, kg, e in rows]


class PreviewFactorSink(FactorSink):
    dry_run = True

    def __init__(self, conn: psycopg.Connection, **kwargs: Any):
        kwargs["keep_replaced"] = False
        super().__init__(conn, **kwargs)
        self.preview: list[dict[str, Any]] = []

    def finish(self, entry_types: set[str] | None = None) -> dict[str, int]:
        """What the upsert would do, read against the live factors without writing."""
        compared = (
            f"WITH {self._SOURCE} SELECT s.seq, s.classification, s.\"values\", "
            "CASE WHEN f.id IS NULL THEN 'insert' WHEN f.\"values\" IS DISTINCT FROM "
            "s.\"values\" THEN 'update' ELSE 'unchanged' END AS change FROM source s "
            "LEFT JOIN emission_factors f ON f.factor_type_id = %(ft)s AND f.year = %(year)s "
            "AND f.classification = s.classification")
        params = {"ft": self.factor_type_id, "year": self.year}
        inserted, updated, unchanged = self.conn.execute(
            f"SELECT count(*) FILTER (WHERE change = 'insert'), count(*) FILTER (WHERE "
            f"change = 'update'), count(*) FILTER (WHERE change = 'unchanged') "
            f"FROM ({compared}) c", params).fetchone()
        self.preview = [
            {"classification": c, "values": v, "change": change}
            for c, v, change in self.conn.execute(
                f"SELECT classification, \"values\", change FROM ({compared}) c "
                "ORDER BY seq LIMIT %(limit)s", {**params, "limit": PREVIEW_ROWS})]
        return {"inserted": inserted, "updated": updated, "unchanged": unchanged}
