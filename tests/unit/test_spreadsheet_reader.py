"""The workbook reader (webapp/ingestion/providers/csv_upload/spreadsheet.py): files told
apart by content, cells turned into the text a user sees, row numbers and cell references
as Excel shows them, and a sentence for every workbook it refuses."""

from __future__ import annotations

import io
from datetime import date, datetime, time, timedelta

import pytest

from tests.support.workbooks import (
    Formula,
    Styled,
    csv_of,
    encrypted,
    ods,
    replaced,
    with_macros,
    xlsx,
)
from webapp.errors import InvalidFile
from webapp.ingestion.providers.csv_upload.limits import Limits
from webapp.ingestion.providers.csv_upload.reader import CsvTable
from webapp.ingestion.providers.csv_upload.sheet_cells import (
    cell_text,
    column_letters,
    sheet_prefix,
)
from webapp.ingestion.providers.csv_upload.spreadsheet import SheetTable, open_table


class OneWay(io.RawIOBase):
    """A stream that cannot seek, as an upload read out of PostgreSQL."""

    def __init__(self, data: bytes):
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        chunk = self._data.read(min(len(buffer), 1000))
        buffer[:len(chunk)] = chunk
        return len(chunk)


def _open(data: bytes, **kw):
    return open_table(io.BufferedReader(OneWay(data)), **kw)


def _rows(data: bytes, **kw) -> list[tuple[int, list[str]]]:
    return list(_open(data, **kw).records())


def _refusal(data: bytes, **kw) -> str:
    with pytest.raises(InvalidFile) as refused:
        table = _open(data, **kw)
        list(table.records())
    return refused.value.message


# -- cells ------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "text"), [
    ("00123", "00123"), (" spaced ", " spaced "), (12, "12"), (12.0, "12"), (-0.0, "0"),
    (0.1 + 0.2, "0.3"), (1.5, "1.5"), (1 / 3, "0.333333333333333"), (12.345, "12.345"),
    (1e20, "1e+20"), (2.5e-7, "2.5e-07"), (True, "TRUE"), (False, "FALSE"),
    (date(2025, 1, 31), "2025-01-31"), (datetime(2025, 1, 31, 0, 0), "2025-01-31"),
    (datetime(2025, 1, 31, 14, 30), "2025-01-31"), (time(14, 30), "14:30:00"),
    (timedelta(hours=26, minutes=5), "26:05:00"),
])
def test_a_cell_becomes_the_text_a_user_sees(value, text):
    assert cell_text(value) == text


def test_column_letters_and_sheet_names_are_written_as_excel_writes_them():
    assert [column_letters(i) for i in (0, 2, 25, 26, 51, 701, 702)] == [
        "A", "C", "Z", "AA", "AZ", "ZZ", "AAA"]
    assert sheet_prefix("Travel") == "Travel!"
    assert sheet_prefix("My travel") == "'My travel'!"
    assert sheet_prefix("Bob's") == "'Bob''s'!"
    assert sheet_prefix("A1") == "'A1'!"  # would read as a cell
    assert sheet_prefix("2025") == "'2025'!"


def test_dates_numbers_codes_booleans_and_formulas_arrive_as_typed():
    rows = [["code", "when", "stamp", "whole", "share", "noise", "flag", "sum", "padded"],
            ["00123", date(2025, 3, 1), datetime(2025, 3, 1, 9, 15), 12, 0.25, 0.1 + 0.2,
             True, Formula("=D2*2", 24), Styled(892, "0000")]]
    assert _rows(xlsx(rows)) == [
        (2, ["00123", "2025-03-01", "2025-03-01", "12", "0.25", "0.3", "TRUE", "24",
             "0892"])]


def test_numbers_in_a_zero_padded_format_read_as_excel_shows_them():
    rows = [["code", "plain", "long", "negative", "fraction"],
            [Styled(892, "0000"), 892, Styled(123456, "0000"), Styled(-5, "0000"),
             Styled(8.5, "000")]]
    assert _rows(xlsx(rows)) == [(2, ["0892", "892", "123456", "-0005", "8.5"])]


def test_the_header_row_is_found_after_blank_rows_and_rows_are_numbered_as_in_excel():
    rows = [["Origin IATA ", "destination-iata"], ["GVA", "CDG"], [None, None],
            ["   ", None], ["ZRH", "LHR"]]
    table = _open(xlsx(rows, first_row=3, first_col=1))
    assert isinstance(table, SheetTable)
    assert (table.header_row, table.header) == (4, ["", "origin_iata", "destination_iata"])
    assert list(table.records()) == [(5, ["", "GVA", "CDG"]), (8, ["", "ZRH", "LHR"])]
    assert table.cell_ref(8, "destination_iata") == "Travel!C8"
    assert table.cell_ref(8, "nope") is None


def test_the_same_rows_as_csv_and_as_xlsx_read_the_same():
    rows = [["name", "fte", "since"], ["Anna, Dr", 0.5, date(2024, 9, 1)],
            ["Zoë", 1, date(2025, 1, 2)]]
    sheet, csv = _open(xlsx(rows)), _open(csv_of(rows))
    assert isinstance(csv, CsvTable) and isinstance(sheet, SheetTable)
    assert sheet.header == csv.header and list(sheet.records()) == list(csv.records())


def test_the_content_decides_not_the_name():
    """open_table never sees a name: a CSV is read as CSV, a workbook as a workbook."""
    assert isinstance(_open(b"a,b\n1,2\n"), CsvTable)
    assert isinstance(_open(xlsx([["a"], ["1"]])), SheetTable)
    assert isinstance(_open(ods([["a"], ["1"]])), SheetTable)


def test_a_named_sheet_is_read_and_a_sheet_name_is_matched_without_case():
    book = xlsx([["a"], ["first"]], more_sheets={"My travel": [["a"], ["second"]]})
    assert _rows(book) == [(2, ["first"])]
    assert _rows(book, sheet="My travel") == [(2, ["second"])]
    assert _rows(book, sheet="my TRAVEL") == [(2, ["second"])]
    table = _open(book, sheet="My travel")
    assert table.cell_ref(2, "a") == "'My travel'!A2"


def test_an_ods_sheet_is_read_too():
    rows = [["code", "when", "n"], ["00123", date(2025, 3, 1), 12], [], ["X", None, 0.5]]
    assert _rows(ods(rows)) == [(2, ["00123", "2025-03-01", "12"]), (4, ["X", "", "0.5"])]


def test_error_cells_are_row_errors_naming_their_cell_and_their_rows_are_left_out():
    rows = [["a", "b", "unread"], ["1", Formula("=1/0", "#DIV/0!"), Formula("=NA()", "#N/A")],
            ["2", "ok", Formula("=NA()", "#N/A")]]
    table = _open(xlsx(rows, sheet="My travel"))
    table.read_columns(["a", "b"])
    assert list(table.records()) == [(3, ["2", "ok", "#N/A"])]  # an unread column's error
    [error] = table.take_cell_errors()
    assert (error.row, error.column, error.value, error.cell) == (2, "b", "#DIV/0!",
                                                                  "'My travel'!B2")
    assert "is an Excel error (#DIV/0!)" in error.reason


# -- refusals ---------------------------------------------------------------------------

def test_a_password_protected_workbook_is_refused_with_how_to_remove_it():
    message = _refusal(encrypted(xlsx([["a"], ["1"]])))
    assert "protected with a password" in message and "remove the password" in message


def test_a_workbook_with_macros_is_refused():
    assert "contains macros" in _refusal(with_macros([["a"], ["1"]]))


def test_a_truncated_or_damaged_workbook_is_refused():
    book = xlsx([["a"], ["1"]] * 50)
    assert "damaged or incomplete" in _refusal(book[:len(book) // 2])
    broken = replaced(book, "xl/worksheets/sheet1.xml", b"<worksheet><sheetData><row")
    assert "damaged or incomplete" in _refusal(broken)


def test_a_legacy_xls_and_a_zip_that_is_no_workbook_are_refused():
    xls = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504 + "Workbook".encode("utf-16-le")
    assert "Excel 97-2003 workbook (.xls)" in _refusal(xls)
    archive = io.BytesIO()
    import zipfile
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("notes.txt", "hello")
    assert "a zip archive, not an Excel (.xlsx)" in _refusal(archive.getvalue())


def test_empty_workbooks_sheets_and_header_only_sheets_are_refused():
    assert "The workbook is empty" in _refusal(xlsx([]))
    two = xlsx([["a"], ["1"]], more_sheets={"Blank": []})
    assert "The sheet 'Blank' is empty" in _refusal(two, sheet="Blank")
    assert _refusal(xlsx([["a", "b"]])) == "The file has a header but no data rows."


def test_an_unknown_sheet_is_named_with_the_workbooks_sheets():
    book = xlsx([["a"], ["1"]], more_sheets={"Trains": [["a"], ["2"]]})
    assert _refusal(book, sheet="Planes") == (
        "The workbook has no sheet named 'Planes' (config.sheet); its sheets are "
        "'Travel', 'Trains'.")
    assert "config.sheet must be the name of a sheet" in _refusal(book, sheet=3)
    assert "config.sheet must be the name of a sheet" in _refusal(b"a\n1\n", sheet=["x"])


def test_the_column_and_cell_limits_are_those_of_csv():
    limits = Limits(max_columns=5, max_field_kb=1)
    wide = xlsx([["a", "b"], ["1", "2", None, None, None, "sixth"]])
    assert _refusal(wide, limits=limits) == "Row 2 has more than 5 columns; a file may have " \
                                            "at most 5 (CSV_MAX_COLUMNS)."
    long = xlsx([["a", "b"], ["1", "x" * 2000]])
    assert _refusal(long, limits=limits).startswith("Row 2 has a cell longer than 1 KB")
    # Within the limits, an empty column past the fifth is no fault.
    assert _rows(xlsx([["a"], ["1", None, None, None, None, None]]), limits=limits) == [
        (2, ["1"])]


def test_a_sheet_declaring_a_huge_width_is_read_no_wider_than_the_limit():
    """A stray cell far to the right makes every row as wide as the sheet: the reader
    stops one column past the limit, so rows stay small whatever the declared width. A
    cell in that column is refused; one further right is not seen (as a CSV row's fields
    past the header are ignored)."""
    limits = Limits(max_columns=5)
    rows = [["a", "b"], ["1", "2"], *[["3", "4"]] * 10]
    table = _open(xlsx([*rows, [None] * 16000 + ["far"]]), limits=limits)
    assert all(len(cells) <= 6 for _, cells in table.records())
    refused = _refusal(xlsx([*rows, [None] * 5 + ["sixth", *[None] * 16000, "far"]]),
                       limits=limits)
    assert refused.startswith("Row 13 has more than 5 columns")


def test_a_zip_bomb_part_is_refused_before_reading():
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        source = zipfile.ZipFile(io.BytesIO(xlsx([["a"], ["1"]])))
        for name in source.namelist():
            data = source.read(name)
            if name == "xl/worksheets/sheet1.xml":  # 80 MB of blank rows, ~1000x smaller
                data = data.replace(b"</sheetData>", b"<row/>" * ((80 << 20) // 6) +
                                    b"</sheetData>")
            archive.writestr(name, data)
    assert "more than 200 times" in _refusal(out.getvalue())
