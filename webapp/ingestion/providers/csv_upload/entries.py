"""CSVDataEntriesProvider: one generic, module-aware provider for data-entry files.

The module's declared schemas (csv_upload/schemas.py) drive it: adding a module type or
an entry type is a schema declaration, not code here.
"""

from __future__ import annotations

from webapp.ingestion.providers.csv_upload import schemas
from webapp.ingestion.providers.csv_upload.base import CSVProvider
from webapp.ingestion.providers.csv_upload.columns import EntrySchema


class CSVDataEntriesProvider(CSVProvider):
    target_type = "data_entries"
    # An institution-wide file names each row's unit (SPEC §14); base._routed routes it.
    unit_key = "unit_code"
    unit_label = "unit_code"

    def pick_schema(self, header: list[str]) -> EntrySchema:
        pick = (schemas.pick_entry_schema if self.ctx.routes is None
                else schemas.pick_routed_entry_schema)
        return pick(self.ctx.module_type, header, self.ctx.config.get("entry_type"))

    def slice_entry_types(self) -> set[str]:
        # A file of planes replaces this provider's planes, even when it has no valid row.
        return {self.schema.entry_type} if self.schema else set()
