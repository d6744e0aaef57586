"""Workbooks made in the tests, so no test depends on an opaque binary fixture: `xlsx()`
writes rows with XlsxWriter as Excel would store them (dates as date cells, numbers as
numbers, text as text), `csv_of()` the same rows as the CSV a user would type, `ods()` a
minimal OpenDocument spreadsheet, `encrypted()` an .xlsx protected with a password the
way Excel does it (msoffcrypto-tool), `with_macros()` an .xlsm holding a VBA project."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from xml.sax.saxutils import escape

import xlsxwriter


class Formula:
    """A formula cell and the value Excel saved with it (e.g. "#DIV/0!")."""

    def __init__(self, formula: str, value: Any):
        self.formula, self.value = formula, value


class Styled:
    """A number shown with a number format (e.g. "0000")."""

    def __init__(self, value: float, num_format: str):
        self.value, self.num_format = value, num_format


Rows = Sequence[Sequence[Any]]


def xlsx(rows: Rows, sheet: str = "Travel", *, first_row: int = 0, first_col: int = 0,
         more_sheets: dict[str, Rows] | None = None, vba: bytes | None = None) -> bytes:
    """An .xlsx of `rows` on `sheet` starting at (first_row, first_col), 0-based; None is
    an empty cell. `more_sheets` follow it."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    formats = {"date": book.add_format({"num_format": "yyyy-mm-dd"}),
               "datetime": book.add_format({"num_format": "yyyy-mm-dd hh:mm"})}
    for name, cells in ((sheet, rows), *(more_sheets or {}).items()):
        page = book.add_worksheet(name)
        for r, row in enumerate(cells):
            for c, value in enumerate(row):
                _write(book, page, first_row + r, first_col + c, value, formats)
    if vba is not None:
        book.add_vba_project(io.BytesIO(vba), is_stream=True)
    book.close()
    return out.getvalue()


def _write(book, page, r: int, c: int, value: Any, formats: dict) -> None:
    if value is None:
        return
    if isinstance(value, Formula):
        page.write_formula(r, c, value.formula, None, value.value)
    elif isinstance(value, Styled):
        page.write_number(r, c, value.value, book.add_format({"num_format": value.num_format}))
    elif isinstance(value, bool):
        page.write_boolean(r, c, value)
    elif isinstance(value, datetime):
        page.write_datetime(r, c, value, formats["datetime"])
    elif isinstance(value, date):
        page.write_datetime(r, c, value, formats["date"])
    elif isinstance(value, int | float):
        page.write_number(r, c, value)
    else:
        page.write_string(r, c, str(value))  # text stays text, "00123" included


def csv_of(rows: Rows) -> bytes:
    """The rows as the CSV a user types: dates ISO, numbers as written, None empty."""
    def text(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, bool):
            return "TRUE" if value else "FALSE"
        value = str(value)
        return f'"{value}"' if "," in value else value
    return "".join(",".join(map(text, row)) + "\n" for row in rows).encode()


def ods(rows: Rows, sheet: str = "Travel") -> bytes:
    """A minimal OpenDocument spreadsheet (what LibreOffice reads) with typed cells."""
    def cell(value: Any) -> str:
        if value is None:
            return "<table:table-cell/>"
        if isinstance(value, date):
            return (f'<table:table-cell office:value-type="date" office:date-value='
                    f'"{value.isoformat()}"><text:p>{value.isoformat()}</text:p></table:table-cell>')
        if isinstance(value, int | float):
            return (f'<table:table-cell office:value-type="float" office:value="{value}">'
                    f"<text:p>{value}</text:p></table:table-cell>")
        return (f'<table:table-cell office:value-type="string"><text:p>{escape(str(value))}'
                "</text:p></table:table-cell>")
    body = "".join("<table:table-row>" + "".join(map(cell, row)) + "</table:table-row>"
                   for row in rows)
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        f'<office:body><office:spreadsheet><table:table table:name="{escape(sheet)}">{body}'
        "</table:table></office:spreadsheet></office:body></office:document-content>")
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest='
        '"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/" manifest:media-type='
        '"application/vnd.oasis.opendocument.spreadsheet"/><manifest:file-entry '
        'manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>')
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"),  # first and stored, as ODF requires
                         "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("META-INF/manifest.xml", manifest)
        archive.writestr("content.xml", content)
    return out.getvalue()


def encrypted(workbook: bytes, password: str = "secret") -> bytes:
    """The workbook protected with a password, as Excel's Encrypt with Password does
    (an OLE2 file holding EncryptionInfo and EncryptedPackage)."""
    from msoffcrypto.format.ooxml import OOXMLFile

    out = io.BytesIO()
    OOXMLFile(io.BytesIO(workbook)).encrypt(password, out)
    return out.getvalue()


def with_macros(rows: Rows) -> bytes:
    """An .xlsm: the rows and a VBA project (its bytes need not be real VBA: the part's
    presence is what makes a workbook macro-enabled)."""
    return xlsx(rows, vba=b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504)


def replaced(workbook: bytes, part: str, content: bytes) -> bytes:
    """The workbook with one of its zip parts replaced (a broken sheet, say)."""
    source = zipfile.ZipFile(io.BytesIO(workbook))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in source.namelist():
            archive.writestr(name, content if name == part else source.read(name))
    return out.getvalue()
