"""CSVFactorsProvider: emission factors of one factor type, upserted on their identity.

The factor type's declared schema (ingestion/schemas.py) drives it.
"""

from __future__ import annotations

from webapp.ingestion.providers.csv_upload import schemas
from webapp.ingestion.providers.csv_upload.base import CSVProvider


class CSVFactorsProvider(CSVProvider):
    target_type = "factors"

    def pick_schema(self, header: list[str]) -> schemas.FactorSchema:
        return schemas.pick_factor_schema(self.ctx.factor_type_slug or "", header)

