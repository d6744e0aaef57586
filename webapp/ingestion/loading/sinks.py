"""Bulk writes with COPY: data entries straight into their table after clearing the
provider's previous slice; factors into a staging table, then one upsert statement.

Everything happens on one connection inside one transaction that the runner commits
together with the job's `completed` state, so a failed or cancelled job leaves the
target tables exactly as they were.
"""

from __future__ import annotations

import queue
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import orjson
import psycopg

from webapp.ingestion.loading import replacing


def _dumps(value: dict[str, Any]) -> str:
    # orjson: ten times faster than json here, and this runs once per loaded row.
    return orjson.dumps(value).decode()


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


class _BatchLoader(threading.Thread):
    """Runs `load(item)` for each submitted item, in order, on its own thread.

    The job's connection belongs to this thread while rows stream, so PostgreSQL stores
    one batch while the job's thread validates the next. The queue is short: memory
    stays bounded, and a slow database slows the reader instead of filling RAM.
    """

    _END = object()

    def __init__(self, load: Callable[[Any], None], depth: int = 2):
        super().__init__(daemon=True, name="entry-loader")
        self._load = load
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._stopping = False
        self.error: BaseException | None = None

    def run(self) -> None:
        while (item := self._queue.get()) is not self._END:
            if self.error is None and not self._stopping:
                try:
                    self._load(item)
                except BaseException as error:  # noqa: BLE001 - handed to the job's thread
                    self.error = error

    def submit(self, item: Any) -> None:
        if self.error is not None:
            raise self.error
        if not self.is_alive():
            self.start()
        self._queue.put(item)

    def close(self, *, discard: bool = False) -> None:
        """Wait until every item is loaded (or, with `discard`, skip the rest); re-raise
        the error that stopped loading, if any, unless discarding."""
        if self.is_alive():
            self._stopping = discard
            self._queue.put(self._END)
            self.join()
        if self.error is not None and not discard:
            raise self.error


class EntrySink:
    """Replaces the slice (module, year, source, entry_type) a provider owns, narrowed to
    the request's filters: with `scope` {data key: values}, only the entries whose key
    holds one of the values are replaced (the provider writes no row outside them).

    Each batch becomes one COPY statement into data_entries, inside the job's one
    transaction, run by a loader thread: PostgreSQL inserts a batch and checks its
    foreign key while the job validates the next. (One COPY for the whole file queues
    every row's foreign-key check until its end: a serial tail of seconds per million
    rows, measured.) The previous rows of a slice are deleted, in the same transaction,
    before its first new row; readers keep seeing them until commit, and the one-active-
    job rule keeps other jobs off the slice.
    """

    COLUMNS = "inventory_id, module_id, year, entry_type, data, kg_co2eq, source, job_id"

    ENTRY_COLUMNS = ("id, inventory_id, module_id, year, entry_type, data, kg_co2eq, "
                     "emission, source, job_id, created_at, updated_at")

    def __init__(self, conn: psycopg.Connection, *, job_id: int, inventory_id: int,
                 module_id: int, year: int, source: str,
                 scope: dict[str, list[str]] | None = None, keep_replaced: bool = False,
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
        self._loader = _BatchLoader(self._load)

    def _slice(self, entry_type: str) -> tuple[str, list[Any]]:
        """The WHERE clause of one entry type's slice, narrowed to the request's scope."""
        sql = "module_id = %s AND year = %s AND source = %s AND entry_type = %s"
        params: list[Any] = [self.module_id, self.year, self.source, entry_type]
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
        """Delete the slice's rows (kept for undo when asked); how many there were."""
        if not self.keep_replaced:
            return self.conn.execute(f"DELETE FROM data_entries WHERE {where}", params).rowcount
        # Kept for undo in the same statement: one pass over the slice, no Python loop.
        return self.conn.execute(
            f"WITH gone AS (DELETE FROM data_entries WHERE {where} "
            f"RETURNING {self.ENTRY_COLUMNS}) "
            f"INSERT INTO replaced_entries (replaced_by, {self.ENTRY_COLUMNS}) "
            f"SELECT %s, {self.ENTRY_COLUMNS} FROM gone", [*params, self.job_id]).rowcount

    @property
    def deleted(self) -> int:
        return sum(self.replaced.values())

    def _load(self, item: tuple[list[str], Counter[str], bytes]) -> None:
        """On the loader thread: clear the slices this batch opens, then COPY it."""
        new_entry_types, per_type, lines = item
        for entry_type in new_entry_types:
            self._delete_slice(entry_type)
        with self.conn.cursor() as cur, cur.copy(
                f"COPY data_entries ({self.COLUMNS}) FROM STDIN") as copy:
            copy.write(lines)
        self.net.update(per_type)

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
        for entry_type in sorted(entry_types - self.cleared):
            self._delete_slice(entry_type)
        self._refuse_unconfirmed_shrink()
        self._store_counts()
        # No "unchanged" here: comparing every new row with every replaced one costs about
        # a fifth of a load (measured); previews count it (loading/preview.py).
        return {"inserted": self.inserted, "updated": 0, "deleted": self.deleted}

    def _refuse_unconfirmed_shrink(self) -> None:
        """ReplaceNotConfirmed (409) when a slice would lose more than half its rows and
        the request did not confirm it; the job's rollback then restores everything."""
        if self.confirm_replace:
            return
        for entry_type, before in sorted(self.replaced.items()):
            after = before + self.net[entry_type]
            if replacing.needs_confirmation(before, after):
                raise replacing.refusal(self.source, entry_type, self.year, before, after)

    def _store_counts(self) -> None:
        adjust_entry_counts(self.conn, self.module_id, {
            (entry_type, self.source): n for entry_type, n in self.net.items()})

    def abort(self, error: BaseException) -> None:
        """Stop loading so the transaction can roll back; the rollback discards it all."""
        self._loader.close(discard=True)


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
