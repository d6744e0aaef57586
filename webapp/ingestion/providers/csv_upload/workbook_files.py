"""What a workbook upload is, before any row is read: an .xlsx or an .ods, or one of the
files refused with a sentence (password, macros, legacy .xls, .xlsb, damaged, a zip that
is no workbook, a part that expands past what the worker may hold); which sheet to read;
and which cell styles show numbers zero-padded. `spreadsheet.py` reads the rows."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable
from html import unescape
from typing import Any

import python_calamine_plus as calamine

from webapp.errors import Invalid, InvalidFile
from webapp.text import clip_cell

_ZIP = (b"PK\x03\x04", b"PK\x05\x06")  # a zip's first entry, or an empty zip
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls, or an encrypted .xlsx
_ENCRYPTED = "EncryptedPackage".encode("utf-16-le")  # a stream name in the OLE2 directory
_ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"

# Zip bomb guards. The parts read whole must fit the worker's memory: calamine keeps an
# .xlsx's shared strings, and an .ods sheet, in memory. A streamed sheet costs time, not
# memory, so only its ratio is bounded: real sheets compress 5-20 times, a bomb 1,000.
MAX_SHARED_STRINGS_MB = 64
MAX_ODS_CONTENT_MB = 32
MAX_RATIO = 200
_RATIO_FROM = 16 << 20  # small parts may compress as they like

_RESAVE = "open it in Excel, save it again as .xlsx and upload it again"


def check_sheet(config: dict[str, Any]) -> None:
    """At request time: config.sheet, when given, must be a sheet's name (Excel's are at
    most 31 characters). Whether the workbook has it is known only once it is read.

    Raises:
        Invalid (422): anything else.
    """
    sheet = config.get("sheet")
    if sheet is not None and not (isinstance(sheet, str) and sheet.strip()
                                  and len(sheet) <= 100):
        raise Invalid(f"config.sheet must be the name of a workbook's sheet (text of at "
                      f"most 100 characters), got {clip_cell(repr(sheet))}",
                      field="config.sheet")


def is_workbook(head: bytes) -> bool:
    """The first bytes of a zip (.xlsx, .ods) or of an OLE2 file (.xls, or an .xlsx
    encrypted with a password)."""
    return head.startswith(_ZIP) or head.startswith(_OLE2)


PASSWORD = ("The workbook is protected with a password; remove the password in Excel "
            "(File › Info › Protect Workbook › Encrypt with Password, then clear it), "
            "save it and upload it again.")


def damaged(error: Exception, where: str = "") -> str:
    at = f" at {where}" if where else ""
    return (f"The workbook could not be read{at}: it is damaged or incomplete "
            f"({clip_cell(str(error))}); {_RESAVE}.")


def workbook_kind(spool: Any) -> tuple[str, dict[int, int]]:
    """("xlsx" or "ods", the .xlsx's zero-padded styles), or the refusal the file deserves."""
    spool.seek(0)
    if spool.read(8) == _OLE2:
        if _holds(spool, _ENCRYPTED):
            raise InvalidFile(PASSWORD)
        raise InvalidFile("The file is an Excel 97-2003 workbook (.xls), which is not "
                          "read; save it from Excel as an Excel Workbook (.xlsx) or as "
                          "CSV and upload it again.")
    spool.seek(0)
    try:
        archive = zipfile.ZipFile(spool)
        names = set(archive.namelist())
        if "xl/workbook.xml" in names or "xl/workbook.bin" in names:
            if "xl/workbook.bin" in names:
                raise InvalidFile("The file is an Excel binary workbook (.xlsb), which is "
                                  "not read; save it from Excel as an Excel Workbook "
                                  "(.xlsx) and upload it again.")
            if any(name.lower().endswith("vbaproject.bin") for name in names):
                raise InvalidFile("The workbook contains macros; save it from Excel as "
                                  "an Excel Workbook (.xlsx), without macros, and upload "
                                  "it again.")
            _check_sizes(archive, [n for n in names if n == "xl/sharedStrings.xml"
                                   or n.startswith("xl/worksheets/")])
            return "xlsx", padded_styles(archive)
        if "content.xml" in names and "mimetype" in names \
                and archive.read("mimetype").strip() == _ODS_MIMETYPE:
            _check_sizes(archive, ["content.xml"])
            return "ods", {}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, KeyError) as error:
        raise InvalidFile(damaged(error)) from None
    raise InvalidFile("The file is a zip archive, not an Excel (.xlsx) or OpenDocument "
                      "(.ods) workbook; upload the workbook itself, or a CSV file.")


def _holds(spool: Any, needle: bytes) -> bool:
    spool.seek(0)
    tail = b""
    while chunk := spool.read(1 << 20):
        if needle in tail + chunk:
            return True
        tail = chunk[-len(needle):]
    return False


def _check_sizes(archive: zipfile.ZipFile, names: Iterable[str]) -> None:
    """Refuse a part that expands past what the worker may hold: a zip bomb, or more
    text than calamine should keep in memory. The sizes are the archive's own
    (declared); a part that lies about its size fails its CRC check when read."""
    for name in names:
        info = archive.getinfo(name)
        whole = {"xl/sharedStrings.xml": MAX_SHARED_STRINGS_MB,
                 "content.xml": MAX_ODS_CONTENT_MB}.get(name)
        if whole is not None and info.file_size > whole << 20:
            raise InvalidFile(f"The workbook holds {info.file_size / 2**20:,.0f} MB of "
                              f"text in {name}, more than the {whole} MB a workbook may "
                              "have; split it, or save it as CSV and upload that.")
        if info.file_size > _RATIO_FROM and info.file_size > MAX_RATIO * max(
                info.compress_size, 1):
            raise InvalidFile(f"The workbook's part {name} expands {info.file_size / 2**20:,.0f} "
                              f"MB from {info.compress_size / 2**20:,.1f} MB, more than "
                              f"{MAX_RATIO} times: not a normal workbook; save it as CSV "
                              "and upload that.")


def pick_sheet(workbook: Any, sheet: str | None) -> str:
    names = [m.name for m in workbook.sheets_metadata
             if m.typ == calamine.SheetTypeEnum.WorkSheet]
    if not names:
        raise InvalidFile("The workbook has no worksheet (only charts or macros).")
    if sheet is None:
        return names[0]
    for name in names:
        if name == sheet:
            return name
    for name in names:  # Excel's sheet names are unique whatever their case
        if name.casefold() == sheet.strip().casefold():
            return name
    shown = ", ".join(repr(name) for name in names[:20]) + (", ..." if len(names) > 20 else "")
    raise InvalidFile(f"The workbook has no sheet named {clip_cell(repr(sheet))} "
                      f"(config.sheet); its sheets are {shown}.")


_NUM_FMT = re.compile(rb'<numFmt\b[^>]*?numFmtId="(\d+)"[^>]*?formatCode="([^"]*)"')
_CELL_XFS = re.compile(rb"<cellXfs\b.*?</cellXfs>", re.S)
_XF_FORMAT = re.compile(rb'<xf\b([^>]*)')
_XF_NUM_FMT_ID = re.compile(rb'numFmtId="(\d+)"')
_ZEROS = re.compile(r"0{2,}")  # "0000": a number shown with at least that many digits
_MAX_STYLES_MB = 16


def padded_styles(archive: zipfile.ZipFile) -> dict[int, int]:
    """{style index: digits} of the cell styles whose number format pads with zeros
    ("0000" shows 892 as 0892). Read from xl/styles.xml, a small part: most workbooks
    have none, and are then streamed without styles (twice as fast)."""
    try:
        info = archive.getinfo("xl/styles.xml")
    except KeyError:
        return {}
    if info.file_size > _MAX_STYLES_MB << 20:
        return {}  # not a workbook anyone typed codes into; read the numbers as numbers
    styles = archive.read("xl/styles.xml")
    widths = {int(number): len(code) for number, code in _NUM_FMT.findall(styles)
              if _ZEROS.fullmatch(unescape(code.decode("utf-8", "replace")))}
    if not widths:
        return {}
    cell_xfs = _CELL_XFS.search(styles)
    found = {}
    for index, attributes in enumerate(_XF_FORMAT.findall(cell_xfs[0] if cell_xfs else b"")):
        number = _XF_NUM_FMT_ID.search(attributes)
        if number and int(number[1]) in widths:
            found[index] = widths[int(number[1])]
    return found
