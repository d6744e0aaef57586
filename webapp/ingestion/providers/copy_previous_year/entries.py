"""CopyPreviousYearEntriesProvider: a module's entries loaded from the same unit's module
of the same type in the previous year (or `config.copy_from`).

Entries keep their entry type and data; their year becomes the job's (the sink writes
it) and their figures are left out, so the recalculation that follows every load
computes them with this year's factors. Like any provider's, the copy replaces its own
slice (source `copy_previous_year`): a second copy replaces the first, and undo brings
back what a copy replaced.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, ClassVar

from webapp.errors import NothingToCopy
from webapp.ingestion.providers.copy_previous_year.base import CopyProvider

# The module of the same type in the same unit's inventory of the source year, and the
# unit's code for messages. LEFT JOINs: a missing inventory and a missing module are
# told apart.
_SOURCE_MODULE = (
    "SELECT i.unit_code, m.module_type, pi.id, pm.id FROM modules m "
    "JOIN inventories i ON i.id = m.inventory_id "
    "LEFT JOIN inventories pi ON pi.unit_id = i.unit_id AND pi.year = %s "
    "LEFT JOIN modules pm ON pm.inventory_id = pi.id AND pm.module_type = m.module_type "
    "WHERE m.id = %s")


class CopyPreviousYearEntriesProvider(CopyProvider):
    """<module type> / copy_previous_year / data_entries."""

    target_type: ClassVar[str] = "data_entries"

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._source_module: int | None = None
        self._slice: set[str] = set()

    async def validate_connection(self) -> bool:
        """Find the source module and count its entries; NothingToCopy (422) if there is
        no inventory, no module or no entry to copy."""
        year = self.source_year
        [(unit, module_type, inventory, module)] = await self._query(
            _SOURCE_MODULE, (year, self.ctx.module_id))
        if inventory is None:
            raise NothingToCopy(f"{unit} has no inventory in {year} to copy from; nothing "
                                "was loaded")
        if module is None:
            raise NothingToCopy(f"{unit}'s inventory of {year} has no {module_type} module "
                                "to copy from; nothing was loaded")
        per_type = dict(await self._query(
            "SELECT entry_type, count(*) FROM data_entries WHERE module_id = %s "
            "AND year = %s GROUP BY entry_type", (module, year)))
        if not per_type:
            raise NothingToCopy(f"{unit} has no {module_type} entries in {year} to copy; "
                                "nothing was loaded")
        self._source_module, self._total = module, sum(per_type.values())
        # The slice is every entry type copied before too: an entry type the source year
        # no longer holds must leave this year's copy, or a re-run would not give the
        # same rows as the first copy would today.
        copied_before = await self._query(
            "SELECT entry_type FROM module_entry_counts WHERE module_id = %s "
            "AND source = %s", (self.ctx.module_id, self.provider_name))
        self._slice = set(per_type) | {entry_type for (entry_type,) in copied_before}
        return True

    async def fetch_data(self, filters: dict[str, Any]
                         ) -> AsyncIterator[list[dict[str, Any]]]:
        fetched = 0
        async for rows in self._stream(
                "SELECT entry_type, data FROM data_entries WHERE module_id = %s "
                "AND year = %s ORDER BY id", (self._source_module, self.source_year)):
            # _row: the entry's place in the copy (1-based), the number users would see.
            yield [{"_row": fetched + n, "entry_type": entry_type, "data": data}
                   for n, (entry_type, data) in enumerate(rows, start=1)]
            fetched += len(rows)

    async def transform_data(self, raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
        # Figures are not copied: kg_co2eq None has the recalculation compute them.
        return [{"entry_type": row["entry_type"], "data": row["data"], "kg_co2eq": None}
                for row in raw]

    def slice_entry_types(self) -> set[str]:
        return self._slice | super().slice_entry_types()
