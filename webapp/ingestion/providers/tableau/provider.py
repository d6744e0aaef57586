"""Flights from the Tableau travel datasource, through the VizQL Data Service.

Source logic only: sign in, check the datasource has the captions we map, query one
year (and optionally some centres financiers), map rows to plane entries. The blocking
HTTP calls run in a thread so the pipeline's event loop stays responsive.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, ClassVar

from webapp.errors import UpstreamError
from webapp.ingestion.providers.base import (
    DataIngestionProvider,
    JobTracker,
    ProviderContext,
    RowSink,
    StoredValues,
)
from webapp.ingestion.providers.filters import ProviderFilter
from webapp.ingestion.providers.tableau.client import TableauClient, TableauSettings
from webapp.ingestion.providers.tableau.mapping import (
    CENTRE,
    FLIGHT_CAPTIONS,
    build_filters,
    map_flight_row,
)


class TableauFlightsProvider(DataIngestionProvider):
    """travel / tableau_api / data_entries. Reads TABLEAU_* from `ctx.settings`."""

    provider_name: ClassVar[str] = "tableau_api"
    target_type: ClassVar[str] = "data_entries"
    settings_type: ClassVar[type] = TableauSettings
    # An institution-wide sync routes each flight to the unit of its centre financier.
    unit_key: ClassVar[str | None] = "unit_institutional_id"
    unit_label: ClassVar[str] = CENTRE
    label: ClassVar[str] = "Tableau (flights)"
    # The user cannot fix Tableau's rows from here: load the good ones, report the rest.
    default_on_error: ClassVar[str] = "skip"
    batch_size: ClassVar[int] = 5_000
    filters: ClassVar[tuple[ProviderFilter, ...]] = (ProviderFilter(
        name="centre_financier", label="Centre financier",
        help="One or more centres financiers; none = all centres. "
             "A sync of some centres replaces only their flights.",
        scope="unit_institutional_id"),)

    def __init__(self, ctx: ProviderContext, tracker: JobTracker | None = None,
                 sink: RowSink | None = None, client: TableauClient | None = None):
        super().__init__(ctx, tracker, sink)
        self._client = client  # tests may inject one; otherwise built from ctx.settings
        self._total: int | None = None

    def units_of(self, raw: list[dict[str, Any]]) -> dict[int, Any]:
        return {row["_row"]: row.get(CENTRE) for row in raw}

    @classmethod
    def filter_choices(cls, declared: ProviderFilter, stored: StoredValues) -> list[str]:
        """The centres financiers this module holds flights of, from its stored entries.

        Not asked of Tableau: VizQL answers rows, not distinct values, so listing its
        centres means signing in and reading a whole year, seconds that every visit of the
        module page would wait for (and fail with when Tableau is down). The stored
        centres come from one bounded, indexed query, and they are exactly the slices a
        filtered sync replaces: what someone re-syncing a centre picks from. A centre not
        loaded yet can still be typed; the hint then names no example rather than one
        that may not exist.
        """
        return stored(declared.scope) if declared.name == "centre_financier" else []

    @property
    def client(self) -> TableauClient:
        if self._client is None:
            # Raises ProviderUnavailable (503) when the server lacks the configuration.
            settings = TableauSettings.from_mapping(self.ctx.settings)
            self._client = TableauClient(settings, log=self.ctx.log)
        return self._client

    @property
    def datasource_luid(self) -> str:
        return self.client.settings.datasource_luid

    async def validate_connection(self) -> bool:
        """Sign in and check every caption we map exists in the datasource."""
        client = self.client
        await asyncio.to_thread(client.sign_in)
        fields = await asyncio.to_thread(client.read_metadata, self.datasource_luid)
        present = {f.get("fieldCaption") for f in fields if isinstance(f, dict)}
        missing = [caption for caption in FLIGHT_CAPTIONS if caption not in present]
        if missing:
            raise UpstreamError(
                f"The Tableau flights datasource {self.datasource_luid} lacks the field"
                f"{'s' if len(missing) > 1 else ''} {', '.join(missing)}: check "
                "TABLEAU_FLIGHTS_DATASOURCE_LUID and the datasource's field captions.")
        return True

    async def fetch_data(self, filters: dict[str, Any]) -> AsyncIterator[list[dict[str, Any]]]:
        """Query the job's year once, then hand the rows out in bounded batches.

        VizQL Data Service returns a query's rows in one response, so batching here
        bounds the transform/load work per step, not the download itself.
        """
        query_filters = build_filters(self.ctx.year, (filters or {}).get("centre_financier"))
        rows = await asyncio.to_thread(
            self.client.query_datasource, self.datasource_luid, FLIGHT_CAPTIONS, query_filters)
        self._total = len(rows)
        for start in range(0, len(rows), self.batch_size):
            batch = rows[start:start + self.batch_size]
            # _row: the 1-based position in Tableau's answer, the row number users see.
            yield [{**row, "_row": start + offset + 1} for offset, row in enumerate(batch)]

    async def transform_data(self, raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
        clean = []
        for row in raw:
            entry, problems = map_flight_row(row, self.ctx.year)
            for column, value, reason in problems:
                self.reject(row["_row"], column, value, reason)
            if entry is not None:
                entry["_row"] = row["_row"]  # names the row if it is outside the filter
                clean.append(entry)
        return clean

    def slice_entry_types(self) -> set[str]:
        # Always planes, even when no row of the year is valid: a re-sync of a year that
        # is now empty upstream must still replace the planes loaded before.
        return {"plane"}

    def total_hint(self) -> int | None:
        return self._total

    async def close(self) -> None:
        if self._client is not None:
            await asyncio.to_thread(self._client.close)
