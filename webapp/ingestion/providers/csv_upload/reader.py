"""Reading messy real-world CSV files as a stream.

`open_csv()` takes the uploaded bytes and returns a `CsvTable`: the header (normalised
names), the sniffed delimiter and `rows()`, an iterator of `(row_number, values)`.
Memory does not grow with the file: only the first 64 KB are looked at up front, then
rows are decoded and parsed one at a time by the C `csv` module.

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

Limits (`Limits`, from CSV_MAX_COLUMNS and CSV_MAX_FIELD_KB): a row may have at most
`max_columns` fields and a cell at most `max_field_kb` KB; a NUL byte anywhere is binary
data. They are enforced while reading, before the `csv` module builds a row, so memory
stays flat whatever the file: `_Lines` hands csv.reader physical lines read in bounded
pieces and refuses a row whose text outgrows the limits; csv's own field_size_limit bounds
each cell. A refusal is an InvalidFile naming the row and the limit.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from itertools import chain
from typing import Any, BinaryIO

from webapp.errors import InvalidFile
from webapp.text import clip_cell

SAMPLE_BYTES = 64 * 1024  # looked at up front: binary check and delimiter sniffing
DELIMITERS = (",", ";", "\t")  # in order of preference when nothing else decides
_SNIFF_RECORDS = 50

# -- limits ---------------------------------------------------------------------------

_PIECE = 64 * 1024  # characters per readline(); a longer physical line comes in pieces
# A row this long or shorter goes to csv as it is (its fields cost at most ~20 bytes per
# character); past it, delimiters are counted first, so no row becomes millions of fields.
_COUNT_PAST = 1 << 20
# A row's text is held twice while its pieces are joined, at up to 4 bytes a character:
# 16 Mi characters keeps that well under the worker's 250 MB whatever the settings.
_MAX_ROW_CHARS = 16 << 20


@dataclass(frozen=True)
class Limits:
    """How wide a file and how long a cell may be (CSV_MAX_COLUMNS, CSV_MAX_FIELD_KB)."""

    max_columns: int = 500
    max_field_kb: int = 64

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> Limits:
        # Unset or below 1 (which would refuse every file): the default.
        columns = int(settings.get("CSV_MAX_COLUMNS") or 0)
        field_kb = int(settings.get("CSV_MAX_FIELD_KB") or 0)
        return cls(columns if columns >= 1 else cls.max_columns,
                   field_kb if field_kb >= 1 else cls.max_field_kb)

    @property
    def max_field_chars(self) -> int:
        return self.max_field_kb * 1024

    @property
    def max_row_chars(self) -> int:
        # Each full cell may come with its delimiter and two quotes, the row with CRLF.
        return min(self.max_columns * (self.max_field_chars + 3) + 2, _MAX_ROW_CHARS)

    def too_many_columns(self, count: int | None = None) -> str:
        what = f"{count:,} columns" if count else f"more than {self.max_columns:,} columns"
        return (f"has {what}; a file may have at most {self.max_columns:,} "
                "(CSV_MAX_COLUMNS)")

    def cell_too_long(self) -> str:
        return (f"has a cell longer than {self.max_field_kb:,} KB, the most a cell may "
                "hold (CSV_MAX_FIELD_KB); if a quote opens that cell, check that it is closed")

    def row_too_long(self) -> str:
        return (f"is longer than {_size(self.max_row_chars)}, the most a row may hold "
                f"(CSV_MAX_COLUMNS × CSV_MAX_FIELD_KB, at most {_size(_MAX_ROW_CHARS)})")


def _size(chars: int) -> str:
    return f"{round(chars / 2**20):,} MB" if chars >= 2**20 else f"{round(chars / 1024):,} KB"


class _Refused(Exception):
    """A row broke a limit; the message follows "Row N" (the caller knows N)."""


_NUL = "contains a NUL byte: binary data, not CSV text; save it from the spreadsheet as CSV"
_BINARY = "contains binary data, not CSV text; save it from the spreadsheet as CSV"


class _Lines:
    """The decoded text as physical lines for csv.reader, each row's checked on the way.

    readline() is given a bound, so a line of any length arrives in pieces of at most
    `_PIECE` characters; a longer line is joined back only while its row stays within
    the limits. `row_chars` is the length of the row being read: whoever reads the
    records sets it to 0 at each new one (a quoted newline makes one row of many lines).
    """

    def __init__(self, text: io.TextIOBase, delimiter: str, limits: Limits):
        self.row_chars = 0
        self._delimiters = 0  # counted once the row is past _COUNT_PAST characters
        self._readline = text.readline
        self._delimiter = delimiter
        self.limits = limits
        # Rows up to this long need no look: short of both the row limit and the count.
        self._watch = min(_COUNT_PAST, limits.max_row_chars)
        self._binary = False

    def binary_seen(self) -> None:
        """The bytes just read look binary: from now on every line is looked at, and the
        first binary one is refused with its row number."""
        self._binary, self._watch = True, -1

    def __iter__(self) -> Iterator[str]:
        readline, piece = self._readline, _PIECE
        while True:
            line = readline(piece)
            self.row_chars += len(line)
            if self.row_chars > self._watch or "\x00" in line:
                self._check(line)
            if len(line) < piece:  # nearly every line: whole, or "" at the end
                if not line:
                    return
                yield line
            else:
                yield from self._long(line)

    def _check(self, line: str) -> None:
        if "\x00" in line:
            raise _Refused(_NUL)
        if self._binary and _looks_binary(line):
            raise _Refused(_BINARY)
        if self.row_chars > self.limits.max_row_chars:
            raise _Refused(self.limits.row_too_long())
        if self.row_chars <= _COUNT_PAST:
            return
        if self.row_chars - len(line) <= _COUNT_PAST:  # this row just crossed the mark
            self._delimiters = 0
        self._delimiters += line.count(self._delimiter)
        if self._delimiters > self.limits.max_columns:
            raise _Refused(self.limits.too_many_columns())

    def _long(self, line: str) -> Iterator[str]:
        """The physical line that `line`, a full piece, begins; and, when a lone CR at a
        piece's end turns out to have ended it, the lines that follow up to a normal end."""
        parts = [line]
        while len(line) == _PIECE and line[-1] != "\n":
            more = self._readline(_PIECE)
            if line[-1] == "\r" and more != "\n":  # not CRLF: the line ended at the CR
                yield "".join(parts)
                parts = []
            if not more:
                break
            self.row_chars += len(more)
            if self.row_chars > self._watch or "\x00" in more:
                self._check(more)
            parts.append(more)
            line = more
        if parts:
            yield "".join(parts)

# -- encoding -------------------------------------------------------------------------

_FALLBACK_ERRORS = "carbon_sync_cp1252"


def _cp1252_char(byte: int) -> str:
    try:
        return bytes([byte]).decode("cp1252")
    except UnicodeDecodeError:  # 0x81, 0x8D, 0x8F, 0x90, 0x9D: undefined in cp1252
        return chr(byte)


_CP1252 = tuple(_cp1252_char(byte) for byte in range(256))


def _decode_as_cp1252(error: UnicodeError) -> tuple[str, int]:
    """Codec error handler: decode the bytes UTF-8 rejected as Windows-1252."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    bad = error.object[error.start:error.end]
    return "".join(_CP1252[byte] for byte in bad), error.end


codecs.register_error(_FALLBACK_ERRORS, _decode_as_cp1252)

_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
# A well-formed UTF-8 multi-byte character; Windows-1252 text almost never contains one.
_UTF8_CHARACTER = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}"
                             rb"|[\xf0-\xf4][\x80-\xbf]{3}")


def _pick_encoding(head: bytes, complete: bool) -> tuple[str, str]:
    """(codec, error handler) for the file whose first bytes are `head`."""
    if head.startswith(_UTF16_BOMS):
        return "utf-16", "replace"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        cut_short = not complete and error.start >= len(head) - 3
        if not cut_short and not _UTF8_CHARACTER.search(head):
            # Windows-1252 throughout the sample: decoding it whole is twice as fast as
            # falling back byte by byte. Its 5 undefined bytes still go to the handler.
            return "cp1252", _FALLBACK_ERRORS
    return "utf-8-sig", _FALLBACK_ERRORS


# -- recognising files that are not CSV at all ----------------------------------------

_SIGNATURES = (
    (b"PK\x03\x04", "looks like an Excel workbook (.xlsx) or another zip archive; "
                    "export it as CSV"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "looks like an Excel 97-2003 workbook (.xls); "
                                          "export it as CSV"),
    (b"\x89PNG", "is a PNG image, not a CSV file"),
    (b"\xff\xd8\xff", "is a JPEG image, not a CSV file"),
    (b"GIF8", "is a GIF image, not a CSV file"),
    (b"%PDF", "is a PDF document, not a CSV file"),
    (b"\x1f\x8b", "is a gzip archive; decompress it first"),
)
# Control characters that never occur in text. Tab, CR, LF, form feed, vertical tab and
# the DOS end-of-file mark (0x1A) are left out: old exports do contain those.
_CONTROL = re.compile("[\x00-\x08\x0e-\x19\x1b-\x1f\x7f]")
_MAX_CONTROL_RATIO = 0.05
# The same characters as bytes, for a look at raw chunks of UTF-8 or Windows-1252 text
# (in both, these bytes are those characters and occur in no other character).
_NOT_CONTROL_BYTES = bytes(b for b in range(256) if not _CONTROL.match(chr(b)))


def _looks_binary(text: str) -> bool:
    return len(_CONTROL.findall(text)) > _MAX_CONTROL_RATIO * len(text)


def _reject_binary(head: bytes, sample: str) -> None:
    for signature, what in _SIGNATURES:
        if head.startswith(signature):
            raise InvalidFile(f"The file {what}.")
    if "\x00" in sample or _looks_binary(sample):
        raise InvalidFile("The file contains binary data, not CSV text; "
                          "save it from the spreadsheet as CSV.")


# -- header names and delimiter -------------------------------------------------------

_SEPARATOR_RUNS = re.compile(r"[\s_\-]+")


def normalise_name(raw: str) -> str:
    """Column name as matched against schemas: "  Origin-IATA " -> "origin_iata"."""
    return _SEPARATOR_RUNS.sub("_", raw.replace("\ufeff", "").strip().lower()).strip("_")


def _is_blank(record: list[str]) -> bool:
    return not any(field.strip() for field in record)


def _sniff_delimiter(sample: str, complete: bool) -> str:
    """The delimiter giving the header most columns that the next rows agree with.

    Each candidate splits the first records of the sample. Among those that give the
    header more than one column, the winner is the one whose data rows have the width
    of its header most often, then the one with the most header columns. When none
    splits the header, the file has one column and the delimiter does not matter.
    """
    if not complete:  # drop the last, probably cut, line
        cut = max(sample.rfind("\n"), sample.rfind("\r"))
        sample = sample[:cut + 1] if cut > 0 else sample

    def score(delimiter: str) -> tuple[float, int]:
        records = []
        try:
            for record in csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter):
                if not _is_blank(record):
                    records.append(len(record))
                if len(records) > _SNIFF_RECORDS:
                    break
        except csv.Error:
            return (0.0, 0)
        if not records or records[0] < 2:
            return (0.0, 0)  # does not split the header: no better than any other
        width, rest = records[0], records[1:]
        agreement = sum(n == width for n in rest) / len(rest) if rest else 1.0
        return (agreement, width)

    # max() keeps the first of equal scores, so DELIMITERS order breaks ties.
    return max(DELIMITERS, key=score)


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
        if self.on_binary is not None and len(data.translate(None, _NOT_CONTROL_BYTES)) > \
                _MAX_CONTROL_RATIO * len(data):
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
                 records: Iterator[list[str]], lines: _Lines, limits: Limits):
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

    def rows(self) -> Iterator[tuple[int, dict[str, str]]]:
        """Yield `(row_number, {column: raw value})` for every non-blank data row.

        Values are the raw strings (not stripped); columns missing from a short row
        are "". Can be iterated once. Raises InvalidFile if the CSV breaks mid-file or
        a row breaks a limit.
        """
        if self._first_row is None:
            raise RuntimeError("CsvTable.rows() can be iterated only once")
        number, first = self._first_row
        self._first_row = None
        header, width = self.header, len(self.header)
        lines, widest = self._lines, self.limits.max_columns
        # Set again: another file, opened since, may have set the process-wide limit.
        csv.field_size_limit(self.limits.max_field_chars)
        number -= 1
        try:
            for record in chain((first,), self._records):
                self.chars_read += lines.row_chars
                lines.row_chars = 0  # the next record is a new row
                number += 1
                if len(record) < width:
                    record += [""] * (width - len(record))
                elif len(record) > widest:  # even a blank one: its width is the fault
                    _check_width(record, self.limits, number)
                # A filled first cell settles nearly every row without the full scan.
                if not (record and record[0].strip()) and _is_blank(record):
                    continue
                # zip drops extra fields; strict=False is left out as it costs time per row.
                yield number, dict(zip(header, record))  # noqa: B905
        except _Refused as refused:  # from _Lines, while reading the next row
            raise InvalidFile(f"Row {number + 1} {refused}.") from None
        except csv.Error as error:
            raise InvalidFile(_unreadable_row(number + 1, error, self.limits)) from None


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
    encoding, errors = _pick_encoding(head, complete)
    sample = head.decode(encoding, errors)
    _reject_binary(head, sample)
    delimiter = _sniff_delimiter(sample, complete)

    replay = _Replay(head, stream)
    text = io.TextIOWrapper(io.BufferedReader(replay, SAMPLE_BYTES),
                            encoding=encoding, errors=errors, newline="")
    lines = _Lines(text, delimiter, limits)
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
    except _Refused as refused:
        raise InvalidFile(f"Row {counter[0] + 1} {refused}.") from None
    except csv.Error as error:
        raise InvalidFile(_unreadable_row(counter[0] + 1, error, limits)) from None
    if first is None:
        raise InvalidFile("The file has a header but no data rows.")
    return CsvTable(raw_header, names, delimiter, encoding.removesuffix("-sig"), number,
                    first, records, lines, limits)


def _next_filled(records: Iterator[list[str]], lines: _Lines,
                 counter: list[int]) -> tuple[int, list[str]] | None:
    """The next non-blank record and its row number; `counter` counts every record.
    `lines.row_chars` is left at the length of the record returned."""
    for record in records:
        counter[0] += 1
        _check_width(record, lines.limits, counter[0])
        if not _is_blank(record):
            return counter[0], record
        lines.row_chars = 0
    return None
