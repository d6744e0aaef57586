"""The CSV provider's batches are bounded in rows and in text, so a file of 500 wide
columns never holds thousands of 40 KB rows at once; and the limits come from settings."""

import asyncio
import io

import pytest

from webapp.errors import InvalidFile
from webapp.ingestion.providers.base import ProviderContext
from webapp.ingestion.providers.csv_upload.base import Records
from webapp.ingestion.providers.csv_upload.entries import CSVDataEntriesProvider

HEADER = "origin_iata,destination_iata,user_institutional_id,cabin_class"


def provider(data: bytes, **settings) -> CSVDataEntriesProvider:
    ctx = ProviderContext(job_id=1, module_id=2, module_type="travel", inventory_id=1,
                          year=2025, target_type="data_entries", settings=settings,
                          open_upload=lambda: io.BytesIO(data))
    return CSVDataEntriesProvider(ctx)


def batches(source: CSVDataEntriesProvider) -> list[Records]:
    async def collect():
        await source.validate_connection()
        return [batch async for batch in source.fetch_data({})]
    return asyncio.run(collect())


def test_narrow_rows_come_in_batches_of_5000():
    data = (HEADER + "\n" + "GVA,CDG,1,economy\n" * 12_000).encode()
    assert [len(batch) for batch in batches(provider(data))] == [5000, 5000, 2000]


def test_wide_rows_come_in_batches_of_about_8_mb_of_text():
    filler = "," + ",".join(["y" * 80] * 490)  # about 40 KB a row
    header = HEADER + "," + ",".join(f"extra_{n}" for n in range(490))
    data = (header + "\n" + f"GVA,CDG,1,economy{filler}\n" * 1000).encode()
    sizes = [len(batch) for batch in batches(provider(data))]
    row_chars = len(f"GVA,CDG,1,economy{filler}\n")
    assert sum(sizes) == 1000 and len(sizes) == 5
    assert max(sizes) == -(-(8 << 20) // row_chars)  # the row that reaches 8 MB ends it


def test_row_numbers_ride_along_each_row():
    data = (HEADER + "\n\nGVA,CDG,1,economy\nZRH,GVA,2\n").encode()
    [batch] = batches(provider(data))
    assert batch.numbers == [3, 4]
    assert batch.cells == [["GVA", "CDG", "1", "economy"], ["ZRH", "GVA", "2", ""]]


def test_the_limits_are_read_from_the_settings():
    data = (HEADER + "\nGVA,CDG,1,economy,x,y,z\n").encode()
    with pytest.raises(InvalidFile, match=r"^Row 2 has 7 columns; a file may have at most 6"):
        batches(provider(data, CSV_MAX_COLUMNS=6))
    with pytest.raises(InvalidFile, match=r"^Row 2 has a cell longer than 1 KB"):
        batches(provider((HEADER + "\nGVA,CDG," + "1" * 1025 + ",eco\n").encode(),
                         CSV_MAX_FIELD_KB=1))
