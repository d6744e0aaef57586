"""What the two CSV providers share: open the stored upload, check its header against a
declared schema, stream its rows in bounded batches, validate each row."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from webapp.errors import InvalidFile
from webapp.ingestion.providers.base import DataIngestionProvider, RowError
from webapp.ingestion.providers.csv_upload.limits import Limits
from webapp.ingestion.providers.csv_upload.reader import CsvTable
from webapp.ingestion.providers.csv_upload.spreadsheet import SheetTable, open_table
from webapp.ingestion.providers.csv_upload.validation import RowValidator


@dataclass(frozen=True)
class Records:
    """A batch of a file's rows: each row's cells in the header's order, and its number
    as a spreadsheet shows it."""

    numbers: list[int]
    cells: list[list[str]]
    # A workbook's error cells (#N/A...) found in the rows read: their rows are not in
    # `numbers`, and each is a row error.
    cell_errors: list[RowError] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.numbers)


class CSVProvider(DataIngestionProvider):
    provider_name = "csv_upload"
    label = "CSV or Excel upload"
    needs_upload = True
    batch_size: ClassVar[int] = 5000
    # A batch also ends at this much text: 5,000 rows of 500 wide columns would be GBs.
    batch_chars: ClassVar[int] = 8 << 20

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.table: CsvTable | SheetTable | None = None
        self.schema: Any = None
        self.validator: RowValidator | None = None
        self._stream = None

    def pick_schema(self, header: list[str]) -> Any:
        """The declared schema this file's header must fit (raises InvalidFile)."""
        raise NotImplementedError

    async def validate_connection(self) -> bool:
        if self.ctx.open_upload is None:
            raise InvalidFile("No file was uploaded for this job.")
        self._stream = self.ctx.open_upload()
        self.table = open_table(self._stream, Limits.from_settings(self.ctx.settings),
                                self.ctx.config.get("sheet"))
        self.schema = self.pick_schema(self.table.header)
        self.validator = RowValidator(self.schema, self.table.header)
        # An error cell (#N/A) in a column the schema does not read is no error.
        self.table.read_columns(column.name for column in self.schema.columns)
        return True

    async def fetch_data(self, filters: dict[str, Any]) -> AsyncIterator[Records]:
        table = self.table
        assert table is not None
        for numbers, cells in table.batches(self.batch_size, self.batch_chars):
            yield Records(numbers, cells, table.take_cell_errors())
        if errors := table.take_cell_errors():  # a last row of error cells: no batch after it
            yield Records([], [], errors)

    async def transform_data(self, raw: Records) -> list[dict[str, Any]]:
        assert self.validator is not None
        for error in raw.cell_errors:
            self.reject(error.row, error.column, error.value, error.reason)
        if not raw.numbers:
            return []
        clean, errors = self.validator.validate_batch(raw.numbers, raw.cells)
        for error in errors:
            self.reject(error.row, error.column, error.value, error.reason)
        if self.ctx.routes is not None:  # routing reports a refused unit by its row
            _number_rows(clean, raw.numbers, {error.row for error in errors})
        return clean

    def cell_of(self, row: int, column: str) -> str | None:
        return None if self.table is None else self.table.cell_ref(row, column)

    async def close(self) -> None:
        if self.table is not None:
            self.table.close()  # a workbook's temporary copy
        if self._stream is not None:
            self._stream.close()


def _number_rows(clean: list[dict[str, Any]], numbers: list[int], invalid: set[int]) -> None:
    """Give each clean row its `_row`: the validator keeps the batch's order and leaves
    out exactly the rows with errors, so the clean rows are the other numbers, in order."""
    for row, number in zip(clean, (n for n in numbers if n not in invalid), strict=True):
        row["_row"] = number
