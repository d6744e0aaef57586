"""CSVFactorsProvider: emission factors of one factor type, upserted on their identity.

The factor type's declared schema (csv_upload/schemas.py) drives it.
"""

from __future__ import annotations

from webapp.ingestion.providers.csv_upload import schemas
from webapp.ingestion.providers.csv_upload.base import CSVProvider
from webapp.ingestion.providers.csv_upload.columns import FactorSchema


class CSVFactorsProvider(CSVProvider):
    target_type = "factors"

    def pick_schema(self, header: list[str]) -> FactorSchema:
        return schemas.pick_factor_schema(self.ctx.factor_type_slug or "", header)

