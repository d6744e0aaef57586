"""Reading messy real-world CSV files as a stream.

`open_csv()` takes the uploaded bytes and returns a `CsvTable`: the header (normalised
names), the sniffed delimiter and its rows: `records()` (cells in the header's order),
`batches()` of them, or `rows()` (by column name).
Memory does not grow with the file: only the first 64 KB are looked at up front (the
encoding, binary content and delimiter are sniffed from them in `sniffing.py`), then rows
are decoded and parsed one at a time by the C `csv` module.

What is accepted, and why:

- Encoding: UTF-8 with or without BOM, and Windows-1252 / Latin-1 as Excel exports them.
  A file whose first 64 KB are Windows-1252 (not UTF-8, and without a single UTF-8
  character) is decoded as Windows-1252. Any other file is decoded as UTF-8, and only
  the bytes that are not valid UTF-8 are decoded as Windows-1252. Both are done by a
  codec error handler inside the incremental decoder, so they work across chunk
  boundaries and even on a file that mixes both; the five bytes Windows-1252 leaves
  undefined decode as Latin-1. UTF-16 with a BOM (Excel's "Unicode text") is read too.
- Line endings: LF, CRLF and CR; a quoted field may hold delimiters and newlines and is
  still one row.
- Delimiter: comma, semicolon or tab, sniffed from the header line.
- Header names are normalised by `normalise_name()`: stripped, lowercased, and each run
  of spaces, underscores or hyphens turned into one "_" ("Origin IATA" -> "origin_iata").
  Columns with an empty name are ignored.

Row numbers are the rows a spreadsheet shows: the header is row 1 (when the file starts
with it) and every record counts as one row, blank ones included, so "row 17" in an
error is row 17 in Excel. Blank rows are skipped. A row with more fields than the header
has the extra ones ignored; a row with fewer gets "" for the missing ones.

Limits (`Limits` in `limits.py`, from CSV_MAX_COLUMNS and CSV_MAX_FIELD_KB): a row may
have at most `max_columns` fields and a cell at most `max_field_kb` KB; a NUL byte
anywhere is binary data. They are enforced while reading, before the `csv` module builds
a row, so memory stays flat whatever the file: `BoundedLines` hands csv.reader physical
lines read in bounded pieces and refuses a row whose text outgrows the limits; csv's own
field_size_limit bounds each cell. A refusal is an InvalidFile naming the row and the limit.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from itertools import chain
from typing import BinaryIO

from webapp.errors import InvalidFile
from webapp.ingestion.providers.csv_upload.limits import BoundedLines, Limits, RowRefused
from webapp.ingestion.providers.csv_upload.sniffing import (
    MAX_CONTROL_RATIO,
    NOT_CONTROL_BYTES,
    SAMPLE_BYTES,
    is_blank,
    pick_encoding,
    reject_binary,
    sniff_delimiter,
)
from webapp.text import clip_cell

# -- header names ---------------------------------------------------------------------

_SEPARATOR_RUNS = re.compile(r"[\s_\-]+")


def normalise_name(raw: str) -> str:
    """Column name as matched against schemas: "  Origin-IATA " -> "origin_iata"."""
    return _SEPARATOR_RUNS.sub("_", raw.replace("\ufeff", "").strip().lower()).strip("_")


# -- the stream -----------------------------------------------------------------------


class _Replay(io.RawIOBase):
    """The bytes already read for sniffing, then the rest of the caller's stream.

    Lets us look at the start of any stream (seekable or not) without keeping more
    than that start in memory. Closing it leaves the caller's stream open.
    """

    def __init__(self, head: bytes, rest: BinaryIO):
        super().__init__()
        self._head = memoryview(head)
        self._rest = rest
        # Called when a chunk after the head is binary (the head is checked up front).
        self.on_binary: Callable[[], None] | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._rest.read(len(buffer))
        buffer[:len(data)] = data
        if self.on_binary is not None and len(data.translate(None, NOT_CONTROL_BYTES)) > \
                MAX_CONTROL_RATIO * len(data):
            self.on_binary()
        return len(data)


def _read_head(stream: BinaryIO) -> bytes:
    chunks, size = [], 0
    while size < SAMPLE_BYTES:
        chunk = stream.read(SAMPLE_BYTES - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


class CsvTable:
    """An opened CSV file: its header, its delimiter and, once, its rows."""

    def __init__(self, raw_header: list[str], header: list[str], delimiter: str,
                 encoding: str, header_row: int, first_row: tuple[int, list[str]],
                 records: Iterator[list[str]], lines: BoundedLines, limits: Limits):
        self.raw_header = raw_header
        self.header = header  # raw_header through normalise_name()
        self.delimiter = delimiter
        self.encoding = encoding  # "utf-8" (with cp1252 fallback), "cp1252" or "utf-16"
        self.header_row = header_row
        self._first_row: tuple[int, list[str]] | None = first_row
        self._records = records
        self._lines = lines
        self.limits = limits
        self.chars_read = 0  # text of the rows read so far: lets a reader batch by size

    def records(self) -> Iterator[tuple[int, list[str]]]:
        """Yield `(row_number, cells)` for every non-blank data row, the cells being the
        raw strings (not stripped) in the header's order; a short row is padded with "",
        a long one keeps its extra cells after the header's. Can be iterated once. Raises
        InvalidFile if the CSV breaks mid-file or a row breaks a limit.
        """
        for numbers, cells in self.batches(1, 0):
            yield numbers[0], cells[0]

    def batches(self, max_rows: int, max_chars: int
                ) -> Iterator[tuple[list[int], list[list[str]]]]:
        """`records()` in batches of at most `max_rows` rows or about `max_chars`
        characters of text: (row numbers, cells of each row). The loop every row of a
        file goes through: one generator step per batch, not per row."""
        if self._first_row is None:
            raise RuntimeError("CsvTable rows can be iterated only once")
        number, first = self._first_row
        self._first_row = None
        width = len(self.header)
        lines, widest = self._lines, self.limits.max_columns
        # Set again: another file, opened since, may have set the process-wide limit.
        csv.field_size_limit(self.limits.max_field_chars)
        numbers: list[int] = []
        cells: list[list[str]] = []
        chars = 0  # of the batch's rows
        number -= 1
        try:
            for record in chain((first,), self._records):
                chars += lines.row_chars
                lines.row_chars = 0  # the next record is a new row
                number += 1
                if len(record) < width:
                    record += [""] * (width - len(record))
                elif len(record) > widest:  # even a blank one: its width is the fault
                    _check_width(record, self.limits, number)
                # A filled first cell settles nearly every row without the full scan.
                if not (record and record[0].strip()) and is_blank(record):
                    continue
                numbers.append(number)
                cells.append(record)
                if len(numbers) >= max_rows or chars >= max_chars:
                    self.chars_read += chars
                    yield numbers, cells
                    numbers, cells, chars = [], [], 0
        except RowRefused as refused:  # from BoundedLines, while reading the next row
            raise InvalidFile(f"Row {number + 1} {refused}.") from None
        except csv.Error as error:
            raise InvalidFile(_unreadable_row(number + 1, error, self.limits)) from None
        self.chars_read += chars
        if numbers:
            yield numbers, cells

    def read_columns(self, names: Iterable[str]) -> None:
        """Which columns' error cells are row errors (SheetTable); a CSV file has none."""

    def take_cell_errors(self) -> list:
        """A workbook's error cells (SheetTable); a CSV file has none."""
        return []

    def cell_ref(self, row: int, column: str) -> None:
        """A workbook's cell of a row error (SheetTable); a CSV error names row and column."""
        return None

    def close(self) -> None:
        """Nothing to release: the caller owns the stream."""

    def rows(self) -> Iterator[tuple[int, dict[str, str]]]:
        """`records()` as `(row_number, {column: raw value})`; cells past the header's
        are left out."""
        header = self.header
        for number, record in self.records():
            # zip drops extra fields; strict=False is left out as it costs time per row.
            yield number, dict(zip(header, record))  # noqa: B905


def _check_width(record: list[str], limits: Limits, number: int) -> None:
    if len(record) > limits.max_columns:
        raise InvalidFile(f"Row {number} {limits.too_many_columns(len(record))}.")


def _check_header(header: list[str]) -> None:
    repeated = [name for name, count in Counter(header).items() if name and count > 1]
    if repeated:
        columns = "columns" if len(repeated) > 1 else "column"
        names = ", ".join(clip_cell(name) for name in repeated[:3])  # the message stays short
        more = ", ..." if len(repeated) > 3 else ""
        raise InvalidFile(f"The header repeats the {columns} {names}{more}; "
                          "each column may appear only once.")


def _unreadable_row(number: int, error: csv.Error, limits: Limits) -> str:
    if "field limit" in str(error):  # csv's field_size_limit, set from CSV_MAX_FIELD_KB
        return f"Row {number} {limits.cell_too_long()}."
    return (f"Row {number} could not be read as CSV ({error}); "
            "check the quotes in that row and the ones before it.")


def open_csv(stream: BinaryIO, limits: Limits | None = None) -> CsvTable:
    """Open an uploaded CSV file for streaming.

    Args:
        stream: the file's bytes, read from the current position; left open.
        limits: the widest row and longest cell allowed (default: 500 columns, 64 KB).

    Returns:
        A CsvTable whose header is known and which has at least one data row.

    Raises:
        InvalidFile: empty or blank file, binary content, repeated column names, a
            header without data rows, or a row that breaks a limit.
    """
    limits = limits or Limits()
    # Process-wide in the csv module: each file sets it to its own limit before reading.
    csv.field_size_limit(limits.max_field_chars)
    head = _read_head(stream)
    if not head:
        raise InvalidFile("The file is empty (0 bytes).")
    complete = len(head) < SAMPLE_BYTES
    encoding, errors = pick_encoding(head, complete)
    sample = head.decode(encoding, errors)
    reject_binary(head, sample)
    delimiter = sniff_delimiter(sample, complete)

    replay = _Replay(head, stream)
    text = io.TextIOWrapper(io.BufferedReader(replay, SAMPLE_BYTES),
                            encoding=encoding, errors=errors, newline="")
    lines = BoundedLines(text, delimiter, limits)
    if encoding != "utf-16":  # its bytes are not its characters; its NULs are still caught
        replay.on_binary = lines.binary_seen
    # strict: an unclosed quote must fail loudly, not swallow the rest of the file.
    records = csv.reader(lines, delimiter=delimiter, strict=True)
    counter = [0]  # rows read so far, blank ones included: a refusal names the next one
    try:
        header = _next_filled(records, lines, counter)
        if header is None:
            raise InvalidFile("The file is empty: it contains only blank lines.")
        number, raw_header = header
        lines.row_chars = 0
        names = [normalise_name(name) for name in raw_header]
        _check_header(names)
        first = _next_filled(records, lines, counter)
    except RowRefused as refused:
        raise InvalidFile(f"Row {counter[0] + 1} {refused}.") from None
    except csv.Error as error:
        raise InvalidFile(_unreadable_row(counter[0] + 1, error, limits)) from None
    if first is None:
        raise InvalidFile("The file has a header but no data rows.")
    return CsvTable(raw_header, names, delimiter, encoding.removesuffix("-sig"), number,
                    first, records, lines, limits)


def _next_filled(records: Iterator[list[str]], lines: BoundedLines,
                 counter: list[int]) -> tuple[int, list[str]] | None:
    """The next non-blank record and its row number; `counter` counts every record.
    `lines.row_chars` is left at the length of the record returned."""
    for record in records:
        counter[0] += 1
        _check_width(record, lines.limits, counter[0])
        if not is_blank(record):
            return counter[0], record
        lines.row_chars = 0
    return None
