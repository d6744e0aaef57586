"""Small providers for engine tests, registered only when this module is imported
(the test app and the test workers import it through PROVIDER_PLUGINS).

`synthetic` makes up plain rows at a pace the test sets, so tests can watch progress,
cancel mid-job or kill the worker mid-job. config: rows, batch, delay_s, fail_at_row,
bad_rows (row numbers to reject), boom (raise a plain exception at that row),
refused_from_row (from that row on, rows PostgreSQL refuses: entry_type too long).
"""

from __future__ import annotations

import asyncio
from typing import Any

from webapp.errors import UpstreamError
from webapp.ingestion.providers.base import DataIngestionProvider
from webapp.ingestion.providers.filters import ProviderFilter
from webapp.ingestion.providers.registry import REGISTRY


class SyntheticProvider(DataIngestionProvider):
    provider_name = "synthetic"
    target_type = "data_entries"
    label = "Synthetic (tests)"
    default_on_error = "skip"
    # Rows carry data.centre = the first centre asked for (or "X"); config.stray_centre
    # makes one row (row 2) claim another centre, as a source ignoring the filter would.
    filters = (ProviderFilter(name="centre", label="Centre", help="Centres (tests).",
                              scope="centre"),)

    def _conf(self, key: str, default: Any) -> Any:
        return self.ctx.config.get(key, default)

    async def validate_connection(self) -> bool:
        return True

    def total_hint(self) -> int | None:
        return self._conf("rows", 100)

    async def fetch_data(self, filters):
        rows, batch = self._conf("rows", 100), self._conf("batch", 10)
        for start in range(1, rows + 1, batch):
            await asyncio.sleep(self._conf("delay_s", 0))
            end = min(rows, start + batch - 1)
            if self._conf("fail_at_row", None) and start <= self._conf("fail_at_row", 0) <= end:
                raise UpstreamError("The synthetic source broke (HTTP 500)")
            if self._conf("boom", None) and start <= self._conf("boom", 0) <= end:
                raise RuntimeError("secret-ish internal detail")
            centre = (filters.get("centre") or ["X"])[0]
            stray = self._conf("stray_centre", None)
            yield [{"_row": n, "n": n, "centre": stray if stray and n == 2 else centre}
                   for n in range(start, end + 1)]

    async def transform_data(self, raw):
        clean = []
        bad = set(self._conf("bad_rows", []))
        refused_from = self._conf("refused_from_row", None)
        for row in raw:
            if row["_row"] in bad:
                self.reject(row["_row"], "n", row["n"], "is odd on purpose")
                continue
            refused = refused_from is not None and row["_row"] >= refused_from
            clean.append({"_row": row["_row"],
                          "entry_type": "x" * 60 if refused else "synthetic",
                          "data": {"n": row["n"], "centre": row["centre"]},
                          "kg_co2eq": float(row["n"])})
        return clean

    def slice_entry_types(self) -> set[str]:
        return {"synthetic"}


REGISTRY[("travel", "synthetic", "data_entries")] = SyntheticProvider
REGISTRY[("headcount", "synthetic", "data_entries")] = SyntheticProvider
