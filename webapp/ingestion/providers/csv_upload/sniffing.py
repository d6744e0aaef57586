"""What the first bytes of an upload tell before any row is read: which encoding it is
in, whether it is text at all, and which delimiter it uses.

Only the first `SAMPLE_BYTES` are looked at, so memory does not grow with the file;
`reader.py` says what is accepted and why.
"""

from __future__ import annotations

import codecs
import csv
import io
import re

from webapp.errors import InvalidFile

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


def pick_encoding(head: bytes, complete: bool) -> tuple[str, str]:
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
MAX_CONTROL_RATIO = 0.05
# The same characters as bytes, for a look at raw chunks of UTF-8 or Windows-1252 text
# (in both, these bytes are those characters and occur in no other character).
NOT_CONTROL_BYTES = bytes(b for b in range(256) if not _CONTROL.match(chr(b)))


def looks_binary(text: str) -> bool:
    return len(_CONTROL.findall(text)) > MAX_CONTROL_RATIO * len(text)


def reject_binary(head: bytes, sample: str) -> None:
    for signature, what in _SIGNATURES:
        if head.startswith(signature):
            raise InvalidFile(f"The file {what}.")
    if "\x00" in sample or looks_binary(sample):
        raise InvalidFile("The file contains binary data, not CSV text; "
                          "save it from the spreadsheet as CSV.")


# -- delimiter ------------------------------------------------------------------------


def is_blank(record: list[str]) -> bool:
    return not any(field.strip() for field in record)


def sniff_delimiter(sample: str, complete: bool) -> str:
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
                if not is_blank(record):
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
