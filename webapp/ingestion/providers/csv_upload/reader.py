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
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import Counter
from collections.abc import Iterator
from itertools import chain
from typing import BinaryIO

from webapp.ingestion.failures import InvalidFile

SAMPLE_BYTES = 64 * 1024  # looked at up front: binary check and delimiter sniffing
DELIMITERS = (",", ";", "\t")  # in order of preference when nothing else decides
_SNIFF_RECORDS = 50

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


def _reject_binary(head: bytes, sample: str) -> None:
    for signature, what in _SIGNATURES:
        if head.startswith(signature):
            raise InvalidFile(f"The file {what}.")
    if "\x00" in sample or len(_CONTROL.findall(sample)) > _MAX_CONTROL_RATIO * len(sample):
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
                 records: Iterator[list[str]]):
        self.raw_header = raw_header
        self.header = header  # raw_header through normalise_name()
        self.delimiter = delimiter
        self.encoding = encoding  # "utf-8" (with cp1252 fallback), "cp1252" or "utf-16"
        self.header_row = header_row
        self._first_row: tuple[int, list[str]] | None = first_row
        self._records = records

    def rows(self) -> Iterator[tuple[int, dict[str, str]]]:
        """Yield `(row_number, {column: raw value})` for every non-blank data row.

        Values are the raw strings (not stripped); columns missing from a short row
        are "". Can be iterated once. Raises InvalidFile if the CSV breaks mid-file.
        """
        if self._first_row is None:
            raise RuntimeError("CsvTable.rows() can be iterated only once")
        number, first = self._first_row
        self._first_row = None
        header, width = self.header, len(self.header)
        number -= 1
        try:
            for record in chain((first,), self._records):
                number += 1
                # A filled first cell settles nearly every row without the full scan.
                if not (record and record[0].strip()) and _is_blank(record):
                    continue
                if len(record) < width:
                    record += [""] * (width - len(record))
                # zip drops extra fields; strict=False is left out as it costs time per row.
                yield number, dict(zip(header, record))  # noqa: B905
        except csv.Error as error:
            raise InvalidFile(_broken_row_message(number + 1, error)) from None


def _check_header(header: list[str]) -> None:
    repeated = [name for name, count in Counter(header).items() if name and count > 1]
    if repeated:
        columns = "columns" if len(repeated) > 1 else "column"
        raise InvalidFile(f"The header repeats the {columns} {', '.join(repeated)}; "
                          "each column may appear only once.")


def _broken_row_message(number: int, error: csv.Error) -> str:
    return (f"Row {number} could not be read as CSV ({error}); "
            "check the quotes in that row and the ones before it.")


def open_csv(stream: BinaryIO) -> CsvTable:
    """Open an uploaded CSV file for streaming.

    Args:
        stream: the file's bytes, read from the current position; left open.

    Returns:
        A CsvTable whose header is known and which has at least one data row.

    Raises:
        InvalidFile: empty or blank file, binary content, repeated column names, or a
            header without data rows.
    """
    head = _read_head(stream)
    if not head:
        raise InvalidFile("The file is empty (0 bytes).")
    complete = len(head) < SAMPLE_BYTES
    encoding, errors = _pick_encoding(head, complete)
    sample = head.decode(encoding, errors)
    _reject_binary(head, sample)
    delimiter = _sniff_delimiter(sample, complete)

    text = io.TextIOWrapper(io.BufferedReader(_Replay(head, stream), SAMPLE_BYTES),
                            encoding=encoding, errors=errors, newline="")
    # strict: an unclosed quote must fail loudly, not swallow the rest of the file.
    records = csv.reader(text, delimiter=delimiter, strict=True)
    number = 0
    try:
        header = _next_filled(records)
        if header is None:
            raise InvalidFile("The file is empty: it contains only blank lines.")
        number, raw_header = header
        names = [normalise_name(name) for name in raw_header]
        _check_header(names)
        first = _next_filled(records, number)
    except csv.Error as error:
        raise InvalidFile(_broken_row_message(number + 1, error)) from None
    if first is None:
        raise InvalidFile("The file has a header but no data rows.")
    return CsvTable(raw_header, names, delimiter, encoding.removesuffix("-sig"), number,
                    first, records)


def _next_filled(records: Iterator[list[str]],
                 number: int = 0) -> tuple[int, list[str]] | None:
    """The next non-blank record and its row number, counting the blank ones skipped."""
    for record in records:
        number += 1
        if not _is_blank(record):
            return number, record
    return None
