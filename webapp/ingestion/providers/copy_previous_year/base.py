"""What the two copy providers share: a read-only connection of their own, one snapshot
for the whole copy, and the copied rows streamed through a server-side cursor.

The source is this app's database, read on a connection the provider opens itself
(`ProviderContext.open_database`): the job's own connection belongs to the sink, which
writes on it while the copy is read. REPEATABLE READ makes the counts asked first and
the rows streamed later one snapshot, so a load of the source year meanwhile cannot
make the copy half old, half new.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import psycopg

from webapp.errors import JobFailure, ProviderUnavailable
from webapp.ingestion.providers.base import DataIngestionProvider

COPY_FROM = "copy_from"  # config key: the year to copy (default: the year before the job's)


class CopyProvider(DataIngestionProvider):
    provider_name: ClassVar[str] = "copy_previous_year"
    label: ClassVar[str] = "Copy of the previous year"
    copies_stored_data: ClassVar[bool] = True
    batch_size: ClassVar[int] = 5_000
    # Only rows of the source query are yielded, so none can be skipped; a failure means
    # the copy is wrong as a whole.
    default_on_error: ClassVar[str] = "abort"

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._conn: psycopg.Connection | None = None
        self._total: int | None = None

    @property
    def source_year(self) -> int:
        """The year copied: `config.copy_from`, else the year before the job's.

        Raises:
            JobFailure (422): copy_from is not a whole number, or is the job's own year.
        """
        value = self.ctx.config.get(COPY_FROM, self.ctx.year - 1)
        if not isinstance(value, int) or isinstance(value, bool):
            raise JobFailure(f"config.{COPY_FROM} must be a year (a whole number), "
                             f"got {str(value)[:40]!r}", status_code=422)
        if value == self.ctx.year:
            raise JobFailure(f"config.{COPY_FROM} is the job's own year {value}; a year "
                             "cannot be copied onto itself", status_code=422)
        return value

    def total_hint(self) -> int | None:
        return self._total

    async def _query(self, sql: str, params: tuple) -> list[tuple]:
        """All rows of a small query (lookups, counts) on the copy's snapshot."""
        conn = await self._connection()
        return await asyncio.to_thread(lambda: conn.execute(sql, params).fetchall())

    async def _connection(self) -> psycopg.Connection:
        if self._conn is None:
            if self.ctx.open_database is None:
                raise ProviderUnavailable("This server gives copy jobs no database "
                                          "connection to read the earlier year from.")
            conn = await asyncio.to_thread(self.ctx.open_database)
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            conn.read_only = True
            self._conn = conn
        return self._conn

    async def _stream(self, sql: str, params: tuple) -> AsyncIterator[list[tuple]]:
        """The rows of `sql` in batches of `batch_size`, through a server-side cursor: only
        one batch is ever in memory, whatever the source's size."""
        conn = await self._connection()
        # Not closed here: a pipeline that stops early abandons this generator, and
        # close() ending the connection ends the cursor with it.
        cursor = conn.cursor(name="copy_forward")
        await asyncio.to_thread(cursor.execute, sql, params)
        while rows := await asyncio.to_thread(cursor.fetchmany, self.batch_size):
            yield rows

    async def close(self) -> None:
        if self._conn is not None:
            await asyncio.to_thread(self._conn.close)  # ends the read-only transaction
