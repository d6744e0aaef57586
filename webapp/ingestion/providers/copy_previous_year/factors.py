"""CopyPreviousYearFactorsProvider: a factor type's factors of the previous year (or
`config.copy_from`) loaded as the job's year's, upserted like any factor load, so a copy
is a new factor version per type that undo takes back. `POST /years/{year}` with
`copy_from` runs one per factor type (webapp/organisation/year_copy.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, ClassVar

from webapp.errors import NothingToCopy
from webapp.ingestion.providers.copy_previous_year.base import CopyProvider


class CopyPreviousYearFactorsProvider(CopyProvider):
    """generic / copy_previous_year / factors."""

    target_type: ClassVar[str] = "factors"

    async def validate_connection(self) -> bool:
        year = self.source_year
        [(total,)] = await self._query(
            "SELECT count(*) FROM emission_factors WHERE factor_type_id = %s AND year = %s",
            (self.ctx.factor_type_id, year))
        if not total:
            raise NothingToCopy(f"there are no {self.ctx.factor_type_slug} factors of "
                                f"{year} to copy; nothing was loaded")
        self._total = total
        return True

    async def fetch_data(self, filters: dict[str, Any]
                         ) -> AsyncIterator[list[dict[str, Any]]]:
        fetched = 0
        async for rows in self._stream(
                'SELECT classification, "values" FROM emission_factors '
                "WHERE factor_type_id = %s AND year = %s ORDER BY id",
                (self.ctx.factor_type_id, self.source_year)):
            yield [{"_row": fetched + n, "classification": classification, "values": values}
                   for n, (classification, values) in enumerate(rows, start=1)]
            fetched += len(rows)

    async def transform_data(self, raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{"classification": row["classification"], "values": row["values"]}
                for row in raw]
