"""`UndoCopy`: the rows a load replaces, copied into `replaced_entries` for undo (SPEC
§11) on a connection of its own while the load goes on.

In the load's own transaction the copy sat on the load's critical path: one PostgreSQL
backend does everything a load writes, and copying a million replaced rows took it
1.7 s (measured). A second backend copies them while the first stores the new rows.

Why the copy holds exactly the rows the load deleted:
- a slice's copy starts only after the load's DELETE of it returned. The deleted rows
  are locked by the load until it ends and stay visible to every other transaction, so
  the copy's snapshot reads them as they were, and none of the load's new rows;
- before committing, the counts are compared: as many rows copied as deleted, or the
  load fails and both roll back.

The copy commits just before the load does. A load that fails earlier rolls the copy
back too; one that fails in between (its own commit failing, a cancel at the last
moment) leaves copies no undo reads, as only completed loads can be undone. They are
removed when the job runs again (a retry after a lost worker: same job, same
`replaced_by`), or purged with the rest after UNDO_KEEP_DAYS.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg

from webapp.ingestion.loading.background import InOrder


class UndoCopy:
    """Copies slices of data_entries into replaced_entries, in the background."""

    def __init__(self, connect: Callable[[], psycopg.Connection], job_id: int, columns: str):
        self._connect = connect
        self._conn: psycopg.Connection | None = None
        self.job_id, self.columns = job_id, columns
        self.copied = 0
        self._copier = InOrder(self._copy, "undo-copy")

    def start(self, where: str, params: list[Any]) -> None:
        """Copy the slice (a WHERE clause over data_entries) the load's transaction has
        just deleted, and holds locked."""
        self._copier.submit((where, params))

    def _copy(self, item: tuple[str, list[Any]]) -> None:
        where, params = item
        if self._conn is None:
            self._conn = self._connect()
            # What an earlier run of this job left, had it failed between the two commits.
            self._conn.execute("DELETE FROM replaced_entries WHERE replaced_by = %s",
                               (self.job_id,))
        self.copied += self._conn.execute(
            f"INSERT INTO replaced_entries (replaced_by, {self.columns}) "
            f"SELECT %s, {self.columns} FROM data_entries WHERE {where}",
            [self.job_id, *params]).rowcount

    def commit(self, deleted: int) -> None:
        """Wait for the copies and commit them, if they hold the `deleted` rows."""
        self._copier.close()
        try:
            if self.copied != deleted:
                raise RuntimeError(f"{self.copied:,} rows were kept for undo, but the load "
                                   f"replaced {deleted:,}")
            if self._conn is not None:
                self._conn.commit()
        finally:
            self._close()

    def abort(self) -> None:
        self._copier.close(discard=True)
        self._close()  # closing without a commit rolls the copies back

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
