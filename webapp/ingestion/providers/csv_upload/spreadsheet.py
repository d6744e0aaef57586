"""Reading uploaded workbooks (.xlsx, .ods) as the same kind of table a CSV file gives.

`open_table()` is what every upload goes through: it looks at the file's first bytes, not
its name, and opens a CSV file with `open_csv()` or a workbook with `open_workbook()`.
A `SheetTable` has the interface of a `CsvTable` (header, raw_header, header_row,
`batches()`, `records()`, `rows()`), so the same `RowValidator` reads its rows, and the
same data gives the same rows and errors as a CSV export of it would.

Reader: python-calamine-plus, a fork of python-calamine (Rust's calamine) that streams an
.xlsx sheet row by row: measured on 200,000 travel rows it read them in 0.9 s at 14 MB
peak RSS, against 1.6 s / 203 MB for python-calamine (the whole sheet in memory) and
14.6 s / 41 MB for openpyxl's read-only mode (bench/spreadsheets.py). An .ods sheet is
read whole (calamine does not stream it): its `content.xml` is bounded below instead.

Cells become the text a user sees, so the validator parses them as CSV text:
- text as it is (a code typed as text, "00123", keeps its zeros);
- whole numbers without ".0" ("12"), other numbers with the 15 significant digits Excel
  shows (0.1 + 0.2 is "0.3", not "0.30000000000000004");
- dates as YYYY-MM-DD; a date with a time as its date (the date parser takes only
  YYYY-MM-DD); a time of day as HH:MM:SS;
- TRUE / FALSE for booleans (the yes/no parser takes both);
- a formula as the value Excel saved with it;
- an error (#DIV/0!, #N/A, ...) as a row error naming its cell, collected in
  `take_cell_errors()` and left out of the rows (only in the columns a caller reads);
- a whole number in a zero-padded number format ("0000") as Excel shows it ("0892"): a
  workbook with such a format is streamed with its cells' styles (about half as fast),
  the others without.

Row numbers are the sheet's (as Excel shows them); errors name the cell (`Travel!C17`).
"""

from __future__ import annotations

import io
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import Any, BinaryIO

import python_calamine_plus as calamine

from webapp.errors import InvalidFile
from webapp.ingestion.providers.base import RowError
from webapp.ingestion.providers.csv_upload.limits import Limits
from webapp.ingestion.providers.csv_upload.reader import (
    CsvTable,
    _check_header,
    _Replay,
    normalise_name,
    open_csv,
)
from webapp.ingestion.providers.csv_upload.sheet_cells import (
    TEXT_OF,
    cell_text,
    column_letters,
    sheet_prefix,
    shown_value,
)
from webapp.ingestion.providers.csv_upload.sniffing import is_blank
from webapp.ingestion.providers.csv_upload.workbook_files import (
    PASSWORD,
    damaged,
    is_workbook,
    pick_sheet,
    workbook_kind,
)
from webapp.text import clip_cell

# What Excel shows for an error value; a cell holding one arrives as this text.
EXCEL_ERRORS = frozenset({
    "#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA",
    "#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!",
    "#EXTERNAL!", "#PYTHON!"})


def open_table(stream: BinaryIO, limits: Limits | None = None,
               sheet: Any = None) -> CsvTable | SheetTable:
    """Open an upload, a CSV file or a workbook, by its content.

    Args:
        stream: the file's bytes from the current position (need not be seekable); left open.
        limits: the widest row and longest cell allowed (CSV_MAX_COLUMNS, CSV_MAX_FIELD_KB).
        sheet: a workbook's sheet to read (`config.sheet`); None: the first one.

    Raises:
        InvalidFile: the file cannot be read (see open_csv and open_workbook).
    """
    limits = limits or Limits()
    head = stream.read(8)
    replay = io.BufferedReader(_Replay(head, stream))
    if is_workbook(head):
        return open_workbook(replay, limits, sheet)
    _check_sheet_name(sheet)  # one table in a CSV file: a sheet name is not needed
    return open_csv(replay, limits)


def _check_sheet_name(sheet: Any) -> None:
    if sheet is not None and not (isinstance(sheet, str) and sheet.strip()):
        raise InvalidFile(f"config.sheet must be the name of a sheet (text), got "
                          f"{clip_cell(repr(sheet))}.")


def open_workbook(stream: BinaryIO, limits: Limits, sheet: Any = None) -> SheetTable:
    """Open a workbook upload at a sheet: the first one, or the one named `sheet`.

    The file is copied to a temporary file first: a zip's directory is at its end, so
    reading one needs seeking, and uploads come as a stream out of the database. On disk,
    not in memory: an upload may be 50 MB and more. The file is deleted when the table
    is closed (or the process ends).

    Raises:
        InvalidFile: password-protected, macros, legacy .xls, damaged or truncated, not
            a workbook, no such sheet, an empty sheet or one without data rows, a
            header row or a cell past the limits.
    """
    _check_sheet_name(sheet)
    # Not a `with`: the file lives as long as the table (SheetTable.close() deletes it).
    spool = tempfile.NamedTemporaryFile(prefix="carbon-sync-upload-", suffix=".sheet")  # noqa: SIM115
    try:
        shutil.copyfileobj(stream, spool, 1 << 20)
        spool.flush()
        kind, padded = workbook_kind(spool)
        try:
            workbook = calamine.CalamineWorkbook.from_path(spool.name)
        except calamine.PasswordError:
            raise InvalidFile(PASSWORD) from None
        except calamine.CalamineError as error:
            raise InvalidFile(damaged(error)) from None
        name = pick_sheet(workbook, sheet)
        table = SheetTable(workbook, kind, name, limits, spool, padded)
    except BaseException:
        spool.close()
        raise
    return table


# -- the table --------------------------------------------------------------------------


class SheetTable:
    """An opened sheet: its header and, once, its rows, as `CsvTable` gives them."""

    delimiter = None
    encoding = None

    def __init__(self, workbook: Any, kind: str, sheet: str, limits: Limits, spool: Any,
                 padded: dict[int, int] | None = None):
        self.workbook = workbook
        # {style index: digits} of the styles showing numbers zero-padded ("0000"): with
        # any, the sheet is streamed with its cells' styles, so 892 reads as Excel shows it.
        self._padded = padded or {}
        self.kind = kind  # "xlsx" or "ods"
        self.sheet = sheet
        self.limits = limits
        self._spool = spool
        self._prefix = sheet_prefix(sheet)
        self.chars_read = 0
        # Error cells (#N/A...) of the rows read so far, each a row error; their rows are
        # left out of the batches. A caller takes them with take_cell_errors().
        self._cell_errors: list[RowError] = []
        self._read_columns: set[int] | None = None
        self._number = 0  # rows read so far, blank ones included
        self._rows = self._sheet_rows()
        header = self._next_filled()
        if header is None:
            self.close()
            raise InvalidFile(_empty(workbook, sheet))
        self.header_row, raw = header
        self.raw_header = [cell_text(cell) for cell in raw]
        while self.raw_header and not self.raw_header[-1].strip():
            self.raw_header.pop()  # padding to the sheet's width, not columns
        self.header = [normalise_name(name) for name in self.raw_header]
        try:
            _check_header(self.header)
        except InvalidFile:
            self.close()
            raise
        self._positions = {name: index for index, name in enumerate(self.header) if name}
        self._first = self._next_filled()
        if self._first is None:
            self.close()
            raise InvalidFile("The file has a header but no data rows.")

    # -- reading -----------------------------------------------------------------------
    def _sheet_rows(self) -> Iterator[list[Any]]:
        """The sheet's rows from row 1, blank ones included. A file that breaks while
        read (bad XML, a damaged zip entry) raises a CalamineError: the reader of the
        rows knows which row it is."""
        yield from (self._whole_sheet_rows() if self.kind == "ods" else self._streamed_rows())

    def _streamed_rows(self) -> Iterator[list[Any]]:
        """An .xlsx sheet's rows, each padded to the width the sheet declares; a sheet
        wider than the limit is read no further than one column past it (enough to see
        whether anything is there)."""
        widest = self.limits.max_columns
        stream = self._stream(None)
        first = next(stream, None)
        if first is None:
            return
        if len(first) > widest + 1:
            stream = self._stream(widest)
            first = next(stream)
        yield first
        yield from stream

    def _stream(self, max_col: int | None) -> Iterator[list[Any]]:
        if not self._padded:
            return self.workbook.stream_sheet_by_name(self.sheet, max_col=max_col)
        padded = self._padded
        rows = self.workbook.stream_sheet_by_name(self.sheet, rich=True, max_col=max_col)
        return ([shown_value(cell, padded) for cell in row] for row in rows)

    def _whole_sheet_rows(self) -> Iterator[list[Any]]:
        sheet = self.workbook.get_sheet_by_name(self.sheet)
        start = sheet.start
        if start is None:
            return
        top, left = start
        for _ in range(top):
            yield []
        pad = [""] * left
        for row in sheet.iter_rows():
            yield pad + row if left else row

    def _next_filled(self) -> tuple[int, list[Any]] | None:
        """The next non-blank row and its number (as the sheet shows it)."""
        try:
            for row in self._rows:
                self._number += 1
                self._check_width(row, self._number)
                if row.count("") != len(row) and not is_blank(list(map(cell_text, row))):
                    return self._number, row
        except calamine.CalamineError as error:
            self.close()
            raise InvalidFile(damaged(error, f"row {self._number + 1}")) from None
        return None

    def _check_width(self, row: list[Any], number: int) -> None:
        widest = self.limits.max_columns
        if len(row) > widest and any(cell != "" for cell in row[widest:]):
            raise InvalidFile(f"Row {number} {self.limits.too_many_columns()}.")

    def batches(self, max_rows: int, max_chars: int
                ) -> Iterator[tuple[list[int], list[list[str]]]]:
        """As CsvTable.batches(): (row numbers, cells as text) of the non-blank rows."""
        if self._first is None:
            raise RuntimeError("SheetTable rows can be iterated only once")
        number, first = self._first
        self._first = None
        try:
            yield from self._read(number, first, max_rows, max_chars)
        except calamine.CalamineError as error:
            raise InvalidFile(damaged(error, f"row {self._number + 1}")) from None
        finally:
            self.close()

    def _read(self, number: int, first: list[Any], max_rows: int, max_chars: int
              ) -> Iterator[tuple[list[int], list[list[str]]]]:
        width, widest = len(self.header), self.limits.max_columns
        max_cell = self.limits.max_field_chars
        text, errors = TEXT_OF, EXCEL_ERRORS
        numbers: list[int] = []
        cells: list[list[str]] = []
        chars = 0
        number -= 1
        for row in _chain_first(first, self._rows):
            number += 1
            self._number = number  # names the row if the next one cannot be read
            size = len(row)
            if size > widest:
                self._check_width(row, number)
                del row[widest:]
            if row.count("") == size:
                continue
            record = [cell if cell.__class__ is str else text[cell.__class__](cell)
                      for cell in row]
            if not record[0].strip() and is_blank(record):  # spaces only: blank, as in CSV
                continue
            if size < width:
                record += [""] * (width - size)
            length = sum(map(len, record))
            if length > max_cell and max(map(len, record)) > max_cell:
                raise InvalidFile(f"Row {number} {self.limits.cell_too_long()}.")
            if not errors.isdisjoint(record) and self._error_cells(number, record):
                continue
            chars += length
            numbers.append(number)
            cells.append(record)
            if len(numbers) >= max_rows or chars >= max_chars:
                self.chars_read += chars
                yield numbers, cells
                numbers, cells, chars = [], [], 0
        self.chars_read += chars
        if numbers:
            yield numbers, cells

    def read_columns(self, names: Iterable[str]) -> None:
        """Only these columns' error cells are row errors (the columns a caller reads);
        by default every named column's."""
        self._read_columns = {self._positions[n] for n in names if n in self._positions}

    def _error_cells(self, number: int, record: list[str]) -> bool:
        """Record the error cells of this row in the columns read; True if it has any."""
        read = self._read_columns if self._read_columns is not None \
            else set(self._positions.values())
        found = False
        for index, cell in enumerate(record):
            if cell in EXCEL_ERRORS and index in read:
                found = True
                self._cell_errors.append(RowError(
                    number, self.header[index], cell,
                    f"is an Excel error ({cell}): fix the formula or type the value",
                    self._ref(number, index)))
        return found

    def take_cell_errors(self) -> list[RowError]:
        """The error cells found since the last call (rows left out of the batches)."""
        found, self._cell_errors = self._cell_errors, []
        return found

    def records(self) -> Iterator[tuple[int, list[str]]]:
        for numbers, cells in self.batches(1, 0):
            yield numbers[0], cells[0]

    def rows(self) -> Iterator[tuple[int, dict[str, str]]]:
        header = self.header
        for number, record in self.records():
            yield number, dict(zip(header, record))  # noqa: B905

    # -- cells -------------------------------------------------------------------------
    def _ref(self, number: int, index: int) -> str:
        return f"{self._prefix}{column_letters(index)}{number}"

    def cell_ref(self, row: int, column: str) -> str | None:
        """The cell of `column` (a header name; for a check of several columns, "a + b",
        the first) in row `row`, e.g. Travel!C17; None for a column not in the sheet."""
        index = self._positions.get(column.split(" + ")[0])
        return None if index is None or row < 1 else self._ref(row, index)

    def close(self) -> None:
        if self._spool is not None:
            self._spool.close()
            self._spool = None


def with_cells(table: CsvTable | SheetTable, errors: list[RowError]) -> list[RowError]:
    """`errors` with the cell each is in, when the table is a sheet's."""
    return [error if error.cell else replace(error, cell=table.cell_ref(error.row, error.column))
            for error in errors]


def _empty(workbook: Any, sheet: str) -> str:
    if len(workbook.sheet_names) == 1:
        return f"The workbook is empty: its only sheet, {sheet!r}, has no cells."
    return (f"The sheet {sheet!r} is empty; name the sheet to read in config.sheet "
            f"(the workbook's sheets are {', '.join(map(repr, workbook.sheet_names[:20]))}).")


def _chain_first(first: list[Any], rest: Iterator[list[Any]]) -> Iterator[list[Any]]:
    yield first
    yield from rest
