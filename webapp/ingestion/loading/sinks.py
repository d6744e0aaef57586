"""Bulk writes with COPY: data entries straight into their table after clearing the
provider's previous slice; factors into a staging table, then one upsert statement.

Everything happens on one connection inside one transaction that the runner commits
together with the job's `completed` state, so a failed or cancelled job leaves the
target tables exactly as they were.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack, suppress
from typing import Any

import orjson
import psycopg

from webapp.ingestion.loading import replacing
from webapp.ingestion.loading.background import InOrder
from webapp.ingestion.loading.undo_copy import UndoCopy


def _dumps(value: dict[str, Any]) -> str:
    # orjson: ten times faster than json here, and this runs once per loaded row.
    return orjson.dumps(value).decode()


# Rows per COPY statement. Each statement ends with the foreign-key checks of its rows,
# and between two statements PostgreSQL waits for the loader thread, which waits for the
# GIL: with one statement per 5,000-row batch it sat idle 7 % of a load (measured in
# pg_stat_activity). A statement per 100,000 rows keeps both costs small.
COPY_ROWS = 100_000

_COPY_ESCAPES = {ord("\\"): "\\\\", ord("\t"): "\\t", ord("\n"): "\\n", ord("\r"): "\\r"}


def adjust_entry_counts(conn: psycopg.Connection, module_id: int,
                        changes: dict[tuple[str, str], int]) -> None:
    """Add `changes` {(entry type, source): +/- entries} to the module's stored counts
    (migration 0006), in the writer's transaction; a count that reaches zero goes."""
    changes = {key: n for key, n in changes.items() if n}
    if not changes:
        return
    types, sources = zip(*changes, strict=True)
    conn.execute(
        "INSERT INTO module_entry_counts AS c (module_id, entry_type, source, entries) "
        "SELECT %s, t, s, n FROM unnest(%s::text[], %s::text[], %s::bigint[]) AS d(t, s, n) "
        "ON CONFLICT (module_id, entry_type, source) "
        "DO UPDATE SET entries = c.entries + EXCLUDED.entries",
        (module_id, list(types), list(sources), list(changes.values())))
    conn.execute("DELETE FROM module_entry_counts WHERE module_id = %s AND entries <= 0",
                 (module_id,))


def recount_entries(conn: psycopg.Connection) -> int:
    """Rebuild every module's stored counts from its entries, for entries written around
    the app (by hand, in SQL): `flask recount-entries`. Loads wait while it counts."""
    conn.execute("LOCK TABLE data_entries IN SHARE MODE")
    conn.execute("DELETE FROM module_entry_counts")
    return conn.execute(
        "INSERT INTO module_entry_counts (module_id, entry_type, source, entries) "
        "SELECT module_id, entry_type, source, count(*) FROM data_entries "
        "GROUP BY 1, 2, 3").rowcount


def _copy_text(value: Any) -> bytes:
    """One field of COPY's text format."""
    return str(value).translate(_COPY_ESCAPES).encode()


def _copy_fields(*values: Any) -> bytes:
    return b"\t".join(_copy_text(value) for value in values)


class EntrySink:
    """Replaces the slice (module, year, source, entry_type) a provider owns, narrowed to
    the request's filters: with `scope` {data key: values}, only the entries whose key
    holds one of the values are replaced (the provider writes no row outside them).

    Batches are written into COPY statements of up to COPY_ROWS rows each, inside the
    job's one transaction, by a loader thread: PostgreSQL stores a batch while the job
    validates the next. (One COPY for the whole file would queue every row's foreign-key
    check until its end: a serial tail of seconds per million rows, measured.) The
    previous rows of a slice are deleted, in the same transaction, before its first new
    row; readers keep seeing them until commit, and the one-active-job rule keeps other
    jobs off the slice.
    """

    COLUMNS = "inventory_id, module_id, year, entry_type, data, kg_co2eq, source, job_id"

    ENTRY_COLUMNS = ("id, inventory_id, module_id, year, entry_type, data, kg_co2eq, "
                     "emission, source, job_id, created_at, updated_at")

    def __init__(self, conn: psycopg.Connection, *, job_id: int, inventory_id: int,
                 module_id: int, year: int, source: str,
                 scope: dict[str, list[str]] | None = None, keep_replaced: bool = False,
                 connect: Callable[[], psycopg.Connection] | None = None,
                 confirm_replace: bool = False):
        self.conn, self.source, self.module_id, self.year = conn, source, module_id, year
        self.job_id, self.keep_replaced = job_id, keep_replaced
        self.confirm_replace = confirm_replace
        self.scope = scope or {}
        self.cleared: set[str] = set()
        self.inserted = 0
        self.net: Counter[str] = Counter()  # entries gained per entry type (loader thread)
        self.replaced: Counter[str] = Counter()  # the slices' rows before, per entry type
        # The fields every line of this job shares, in COPY text form.
        self._line_start = _copy_fields(inventory_id, module_id, year)
        self._line_end = _copy_fields(source, job_id) + b"\n"
        self._loader = InOrder(self._load, "entry-loader")
        self._copying = ExitStack()  # the COPY under way and its cursor, across batches
        self._copy: psycopg.Copy | None = None
        self._copy_rows = 0
        # Kept for undo on a second connection (`connect`), off the load's critical path.
        self._undo = UndoCopy(connect, job_id, self.ENTRY_COLUMNS) if keep_replaced else None

    def _modules(self) -> tuple[str, list[Any]]:
        """The condition on module_id of this sink's slices: its one module."""
        return "module_id = %s", [self.module_id]

    def _slice(self, entry_type: str) -> tuple[str, list[Any]]:
        """The WHERE clause of one entry type's slice, narrowed to the request's scope."""
        modules, params = self._modules()
        sql = f"{modules} AND year = %s AND source = %s AND entry_type = %s"
        params = [*params, self.year, self.source, entry_type]
        for key, values in sorted(self.scope.items()):
            sql += " AND data->>%s = ANY(%s)"
            params += [key, list(values)]
        return sql, params

    def _delete_slice(self, entry_type: str) -> None:
        where, params = self._slice(entry_type)
        deleted = self._remove(where, params)
        self.replaced[entry_type] += deleted
        self.net[entry_type] -= deleted

    def _remove(self, where: str, params: list[Any]) -> int:
        """Delete the slice's rows, then have them copied for undo when asked; how many
        there were."""
        deleted = self.conn.execute(f"DELETE FROM data_entries WHERE {where}", params).rowcount
        if self._undo is not None and deleted:
            self._undo.start(where, params)
        return deleted

    @property
    def deleted(self) -> int:
        return sum(self.replaced.values())

    def _load(self, item: tuple[list[str], Counter[str], bytes]) -> None:
        """On the loader thread: clear the slices this batch opens, then write it into
        the COPY under way (or a new one)."""
        new_entry_types, per_type, lines = item
        if new_entry_types:
            self._end_copy()
            for entry_type in new_entry_types:
                self._delete_slice(entry_type)
        if self._copy is None:
            cursor = self._copying.enter_context(self.conn.cursor())
            self._copy = self._copying.enter_context(
                cursor.copy(f"COPY data_entries ({self.COLUMNS}) FROM STDIN"))
        self._copy.write(lines)
        self._copy_rows += sum(per_type.values())
        self.net.update(per_type)
        if self._copy_rows >= COPY_ROWS:
            self._end_copy()

    def _end_copy(self) -> None:
        """End the COPY under way: PostgreSQL checks its rows' foreign keys now."""
        self._copying.close()
        self._copy, self._copy_rows = None, 0

    def stage(self, rows: list[dict[str, Any]]) -> int:
        per_type = Counter(row["entry_type"] for row in rows)
        entry_types = set(per_type)
        new_entry_types = sorted(entry_types - self.cleared)
        self.cleared.update(new_entry_types)
        # The batch goes out as COPY text lines built here, in one write: half the cost
        # of write_row() per row (measured), which adapts each value through a dumper.
        heads = {entry_type: self._line_start + b"\t" + _copy_text(entry_type)
                 for entry_type in entry_types}
        tail = self._line_end
        lines = []
        for row in rows:
            kg_co2eq = row.get("kg_co2eq")
            lines.append(b"%b\t%b\t%b\t%b" % (
                heads[row["entry_type"]],
                # JSON escapes every control character, so a backslash is all COPY's
                # text format still needs escaped.
                orjson.dumps(row["data"]).replace(b"\\", b"\\\\"),
                b"\\N" if kg_co2eq is None else b"%r" % float(kg_co2eq), tail))
        self._loader.submit((new_entry_types, per_type, b"".join(lines)))
        self.inserted += len(rows)
        return len(rows)

    def finish(self, entry_types: set[str]) -> dict[str, int]:
        """Wait for the loads; clear slices that got no new row (a re-sync of an emptied
        source)."""
        self._loader.close()
        self._end_copy()
        for entry_type in sorted(entry_types - self.cleared):
            self._delete_slice(entry_type)
        self._refuse_unconfirmed_shrink()
        self._store_counts()
        if self._undo is not None:  # last: the job's own commit follows at once
            self._undo.commit(self.deleted)
        # No "unchanged" here: comparing every new row with every replaced one costs about
        # a fifth of a load (measured); previews count it (loading/preview.py).
        return {"inserted": self.inserted, "updated": 0, "deleted": self.deleted}

    def _refuse_unconfirmed_shrink(self) -> None:
        """ReplaceNotConfirmed (409) when a slice would lose more than half its rows and
        the request did not confirm it; the job's rollback then restores everything."""
        if self.confirm_replace:
            return
        replaced, net = self._by_entry_type(self.replaced), self._by_entry_type(self.net)
        for entry_type, before in sorted(replaced.items()):
            after = before + net[entry_type]
            if replacing.needs_confirmation(before, after):
                raise replacing.refusal(self.source, entry_type, self.year, before, after)

    def _by_entry_type(self, counts: Counter) -> Counter[str]:
        """`counts` per entry type: this sink keeps them so (one module)."""
        return counts

    def _store_counts(self) -> None:
        adjust_entry_counts(self.conn, self.module_id, {
            (entry_type, self.source): n for entry_type, n in self.net.items()})

    def abort(self, error: BaseException) -> None:
        """Stop loading so the transaction can roll back; the rollback discards it all."""
        self._loader.close(discard=True)
        # A COPY under way must end before the rollback: it is failed (PostgreSQL drops
        # its rows), which raises as asked, unless the connection is gone already.
        with suppress(psycopg.Error):
            self._copying.__exit__(type(error), error, error.__traceback__)
        if self._undo is not None:
            self._undo.abort()


class FactorSink:
    """Upserts factors on (factor type, year, classification); reports what changed."""

    # A classification repeated in one file: the last line wins, as in a spreadsheet.
    _SOURCE = ('source AS (SELECT DISTINCT ON (classification) seq, classification, '
               '"values" FROM staged_factors ORDER BY classification, seq DESC)')

    def __init__(self, conn: psycopg.Connection, *, job_id: int, factor_type_id: int,
                 year: int, keep_replaced: bool = False):
        self.conn, self.job_id, self.keep_replaced = conn, job_id, keep_replaced
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
        # For undo, the same statement keeps each written factor's previous state: every
        # sub-statement of a WITH sees the table as it was before the upsert.
        keep = ("previous AS (SELECT f.id, f.\"values\", f.job_id, f.updated_at "
                "FROM emission_factors f JOIN source s ON f.classification = s.classification "
                "WHERE f.factor_type_id = %(ft)s AND f.year = %(year)s), "
                "kept AS (INSERT INTO replaced_factors (replaced_by, id, inserted, \"values\", "
                "job_id, updated_at) SELECT %(job)s, w.id, w.is_new, p.\"values\", p.job_id, "
                "p.updated_at FROM written w LEFT JOIN previous p ON p.id = w.id) "
                ) if self.keep_replaced else ""
        inserted, updated = self.conn.execute(
            f"WITH {self._SOURCE}, "
            "written AS (INSERT INTO emission_factors (factor_type_id, year, classification, "
            '"values", job_id, created_at, updated_at) '
            'SELECT %(ft)s, %(year)s, classification, "values", %(job)s, now(), now() '
            "FROM source ON CONFLICT (factor_type_id, year, classification) DO UPDATE "
            'SET "values" = EXCLUDED."values", job_id = EXCLUDED.job_id, updated_at = now() '
            'WHERE emission_factors."values" IS DISTINCT FROM EXCLUDED."values" '
            f"RETURNING id, (xmax = 0) AS is_new), {keep}"
            "SELECT count(*) FILTER (WHERE is_new), count(*) FILTER (WHERE NOT is_new) "
            "FROM written",
            {"ft": self.factor_type_id, "year": self.year, "job": self.job_id}).fetchone()
        distinct = self.conn.execute(
            "SELECT count(DISTINCT classification) FROM staged_factors").fetchone()[0]
        return {"inserted": inserted, "updated": updated,
                "unchanged": distinct - inserted - updated}

    def abort(self, error: BaseException) -> None:
        """Nothing to stop: each batch's COPY ends before the next statement."""
