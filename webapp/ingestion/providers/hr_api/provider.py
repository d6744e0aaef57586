"""Headcount from the HR REST API: OAuth2 client credentials, pages of JSON records.

Source logic only: get a token (which checks the credentials before anything is
fetched), then read the job's year page by page (optionally some units), mapping each
page to member entries before the next is asked for, so memory holds one page. The
blocking HTTP calls run in a thread so the pipeline's event loop stays responsive.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any, ClassVar

from webapp.ingestion.providers.base import (
    DataIngestionProvider,
    JobTracker,
    ProviderContext,
    RowSink,
    StoredValues,
)
from webapp.ingestion.providers.filters import ProviderFilter
from webapp.ingestion.providers.hr_api.client import HrClient, Page
from webapp.ingestion.providers.hr_api.mapping import ENTRY_TYPE, map_record
from webapp.ingestion.providers.hr_api.settings import HrSettings


class HrHeadcountProvider(DataIngestionProvider):
    """headcount / hr_api / data_entries. Reads HR_* from `ctx.settings`."""

    provider_name: ClassVar[str] = "hr_api"
    target_type: ClassVar[str] = "data_entries"
    settings_type: ClassVar[type] = HrSettings
    # An institution-wide sync routes each person to the unit HR gives them.
    unit_key: ClassVar[str | None] = "unit_code"
    unit_label: ClassVar[str] = "unit_code"
    label: ClassVar[str] = "HR API (headcount)"
    # HR's records cannot be fixed from here: load the good ones, report the rest.
    default_on_error: ClassVar[str] = "skip"
    filters: ClassVar[tuple[ProviderFilter, ...]] = (ProviderFilter(
        name="unit_code", label="Unit code",
        help="One or more unit codes; none = every unit. A sync of some units "
             "replaces only their people.",
        scope="unit_code"),)

    def __init__(self, ctx: ProviderContext, tracker: JobTracker | None = None,
                 sink: RowSink | None = None, client: HrClient | None = None):
        super().__init__(ctx, tracker, sink)
        self._client = client  # tests may inject one; otherwise built from ctx.settings
        self._total: int | None = None

    def units_of(self, raw: list[dict[str, Any]]) -> dict[int, Any]:
        return {row["_row"]: row["record"].get("unit_code") for row in raw
                if isinstance(row.get("record"), dict)}

    @classmethod
    def filter_choices(cls, declared: ProviderFilter, stored: StoredValues) -> list[str]:
        """The unit codes this module holds people of: the slices a filtered sync
        replaces. Not asked of HR, so the page never waits on it."""
        return stored(declared.scope) if declared.name == "unit_code" else []

    @property
    def client(self) -> HrClient:
        if self._client is None:
            # Raises ProviderUnavailable (503) when the server lacks the configuration.
            self._client = HrClient(HrSettings.from_mapping(self.ctx.settings),
                                    log=self.ctx.log)
        return self._client

    async def validate_connection(self) -> bool:
        """Get a token: wrong credentials fail the job before any record is read."""
        await asyncio.to_thread(self.client.authenticate)
        return True

    async def fetch_data(self, filters: dict[str, Any]) -> AsyncIterator[list[dict[str, Any]]]:
        """One batch per page, in the API's order; `_row` numbers records from 1."""
        pages: Iterator[Page] = self.client.pages(self.ctx.year,
                                                  (filters or {}).get("unit_code"))
        fetched = 0
        while (page := await asyncio.to_thread(next, pages, None)) is not None:
            self._total = page.total if page.total is not None else self._total
            yield [{"_row": fetched + offset, "record": record}
                   for offset, record in enumerate(page.items, start=1)]
            fetched += len(page.items)

    async def transform_data(self, raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
        clean = []
        for row in raw:
            entry, problems = map_record(row["record"])
            for column, value, reason in problems:
                self.reject(row["_row"], column, value, reason)
            if entry is not None:
                entry["_row"] = row["_row"]  # names the record if it is outside the filter
                clean.append(entry)
        return clean

    def slice_entry_types(self) -> set[str]:
        # Always members, even when HR has nobody left for the year: the re-sync must
        # still replace the people loaded before.
        return {ENTRY_TYPE}

    def total_hint(self) -> int | None:
        return self._total

    async def close(self) -> None:
        if self._client is not None:
            await asyncio.to_thread(self._client.close)
