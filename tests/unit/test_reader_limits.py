"""The CSV reader's limits (SPEC §12): columns, cell size, row size, NUL bytes, echoed
names; and that memory stays flat whatever the width of the file."""

import io
import tracemalloc

import pytest

from webapp.errors import InvalidFile
from webapp.ingestion.providers.csv_upload.limits import _PIECE, Limits
from webapp.ingestion.providers.csv_upload.reader import open_csv
from webapp.ingestion.providers.csv_upload.schemas import pick_entry_schema
from webapp.ingestion.providers.csv_upload.sniffing import SAMPLE_BYTES


def all_rows(data, limits: Limits | None = None) -> list[tuple[int, dict[str, str]]]:
    stream = io.BytesIO(data) if isinstance(data, bytes) else data
    return list(open_csv(stream, limits).rows())


def refusal(data, limits: Limits | None = None) -> str:
    with pytest.raises(InvalidFile) as caught:
        all_rows(data, limits)
    assert caught.value.status_code == 400
    return caught.value.message


# -- columns --------------------------------------------------------------------------

def test_a_header_of_exactly_the_limit_is_read():
    header = ",".join(f"c{i}" for i in range(500))
    rows = all_rows(f"{header}\n{','.join(['1'] * 500)}\n".encode())
    assert len(rows[0][1]) == 500


def test_a_header_one_column_wider_than_the_default_is_refused():
    header = ",".join(f"c{i}" for i in range(501))
    assert refusal(f"{header}\n1\n".encode()) == (
        "Row 1 has 501 columns; a file may have at most 500 (CSV_MAX_COLUMNS).")


def test_a_data_row_wider_than_the_limit_is_refused_with_its_row_number():
    data = b"a,b\n1,2\n\n" + b",".join([b"x"] * 6) + b"\n"
    assert refusal(data, Limits(max_columns=5)) == (
        "Row 4 has 6 columns; a file may have at most 5 (CSV_MAX_COLUMNS).")


def test_a_row_wider_than_the_header_but_within_the_limit_still_loses_its_extras():
    assert all_rows(b"a\n1,2,3\n", Limits(max_columns=3)) == [(2, {"a": "1"})]


def test_a_blank_row_of_too_many_delimiters_is_refused_not_skipped():
    assert refusal(b"a,b\n1,2\n" + b"," * 10 + b"\n", Limits(max_columns=5)).startswith(
        "Row 3 has 11 columns")


def test_a_first_data_row_wider_than_the_limit_is_refused():
    assert refusal(b"a,b\n1,2,3,4\n", Limits(max_columns=3)).startswith("Row 2 has 4 columns")


def test_a_20_mb_header_of_millions_of_columns_is_refused_before_it_is_split():
    header = b",".join(b"c%d" % i for i in range(2_500_000))
    assert len(header) > 20_000_000
    assert refusal(header + b"\n1\n") == (
        "Row 1 has more than 500 columns; a file may have at most 500 (CSV_MAX_COLUMNS).")


def test_a_row_of_millions_of_fields_is_refused():
    data = b"a,b\n1,2\n" + b",".join([b"x"] * 2_800_000) + b"\n"
    assert refusal(data).startswith("Row 3 has more than 500 columns")


def test_delimiters_inside_quotes_of_a_short_row_are_not_columns():
    note = '"' + "," * 2000 + '"'
    assert all_rows(f"a,note\n1,{note}\n".encode(), Limits(max_columns=2)) == [
        (2, {"a": "1", "note": "," * 2000})]


def test_a_row_continued_over_many_lines_by_quotes_cannot_grow_without_bound():
    # Each line closes the quote, adds 400 fields and opens it again: one row, many fields.
    data = b'a,b\n1,"x\n' + (b'"' + b"," * 400 + b'"\n') * 5000 + b'"\n'
    assert refusal(data).startswith("Row 2 has more than 500 columns")


# -- cells and rows -------------------------------------------------------------------

def test_a_cell_of_exactly_the_limit_is_read_and_one_more_character_is_refused():
    limits = Limits(max_field_kb=1)
    assert all_rows(b"a,b\n1," + b"x" * 1024 + b"\n", limits)[0][1]["b"] == "x" * 1024
    assert refusal(b"a,b\n1,2\n3," + b"x" * 1025 + b"\n", limits) == (
        "Row 3 has a cell longer than 1 KB, the most a cell may hold (CSV_MAX_FIELD_KB); "
        "if a quote opens that cell, check that it is closed.")


def test_the_default_cell_limit_is_64_kb():
    assert "longer than 64 KB" in refusal(b"a\n" + b"x" * (64 * 1024 + 1) + b"\n")


def test_a_quoted_cell_over_many_lines_counts_all_its_characters():
    data = b'a,b\n1,"' + b"line\n" * 300 + b'"\n'
    assert "Row 2 has a cell longer than 1 KB" in refusal(data, Limits(max_field_kb=1))


def test_an_unclosed_quote_stops_at_the_cell_limit_instead_of_reading_the_whole_file():
    data = b'a,b\n1,2\n3,"open\n' + b"4,5\n" * 100_000
    message = refusal(data)
    assert message.startswith("Row 3 has a cell longer than 64 KB")
    assert "check that it is closed" in message


def test_a_row_longer_than_all_its_cells_may_be_is_refused():
    # 2 columns of 1 KB: a row of 3 KB without a delimiter is longer than any valid one.
    data = b"a,b\n1,2\n" + b"x" * 3000 + b"\n"
    assert refusal(data, Limits(max_columns=2, max_field_kb=1)) == (
        "Row 3 is longer than 2 KB, the most a row may hold "
        "(CSV_MAX_COLUMNS × CSV_MAX_FIELD_KB, at most 16 MB).")


def test_a_200_mb_line_is_refused_once_it_passes_the_row_limit():
    # The line never exists whole: it is refused at 16 MB, as it is read.
    stream = io.BufferedReader(RepeatedStream(b"a\n", b"x", 200_000_000))
    assert refusal(stream).startswith("Row 2 is longer than 16 MB")


def test_a_full_row_at_both_limits_is_read():
    limits = Limits(max_columns=3, max_field_kb=1)
    cells = ['"' + "x" * 1024 + '"'] * 3
    rows = all_rows(("a,b,c\r\n" + ",".join(cells) + "\r\n").encode(), limits)
    assert [len(value) for value in rows[0][1].values()] == [1024] * 3


def test_the_limits_come_from_the_settings():
    assert Limits.from_settings({"CSV_MAX_COLUMNS": 7, "CSV_MAX_FIELD_KB": 2}) == Limits(7, 2)
    assert Limits.from_settings({}) == Limits(500, 64)
    assert Limits.from_settings({"CSV_MAX_COLUMNS": -3, "CSV_MAX_FIELD_KB": 0}) == Limits(500, 64)


# -- lines longer than one read -------------------------------------------------------

@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r"])
def test_a_row_longer_than_one_read_is_joined_back_whole(eol):
    long = "y" * (3 * _PIECE + 5)
    data = f"a,b{eol}{long},1{eol}2,3{eol}".encode()
    assert all_rows(data, Limits(max_field_kb=256)) == [(2, {"a": long, "b": "1"}),
                                                         (3, {"a": "2", "b": "3"})]


@pytest.mark.parametrize("eol", ["\r\n", "\r"])
def test_a_line_ending_exactly_where_a_read_ends(eol):
    # The CR is the last character of a full piece: CRLF must stay one line end, and a
    # lone CR must end the line without swallowing the next one.
    cell = "x" * (_PIECE - 1)
    data = f"a{eol}{cell}{eol}2{eol}3{eol}".encode()
    assert all_rows(data) == [(2, {"a": cell}), (3, {"a": "2"}), (4, {"a": "3"})]


# -- NUL and binary content -----------------------------------------------------------

def test_a_nul_byte_after_the_sample_is_refused_naming_its_row():
    data = b"a,b\n" + b"1,2\n" * 20_000 + b"3,\x004\n5,6\n"
    assert data.index(b"\x00") > SAMPLE_BYTES
    assert refusal(data) == ("Row 20002 contains a NUL byte: binary data, not CSV text; "
                             "save it from the spreadsheet as CSV.")


def test_binary_data_appended_after_the_sample_is_refused():
    data = b"a,b\n" + b"1,2\n" * 20_000 + bytes(range(256)) * 4
    assert refusal(data).startswith("Row 20002 contains a NUL byte")


def test_binary_data_without_nul_after_the_sample_is_refused_naming_its_row():
    garbage = bytes(b for b in range(1, 256) if b not in b"\r\n") * 40
    data = b"a,b\n" + b"1,2\n" * 20_000 + b"3,4\n" + garbage + b"\n5,6\n"
    assert refusal(data) == ("Row 20003 contains binary data, not CSV text; "
                             "save it from the spreadsheet as CSV.")


def test_a_few_control_characters_after_the_sample_are_still_text():
    data = b"a,b\n" + b"1,2\n" * 20_000 + b"3,\x01\x02\n5,6\n"
    assert all_rows(data)[-2:] == [(20002, {"a": "3", "b": "\x01\x02"}),
                                   (20003, {"a": "5", "b": "6"})]


def test_a_nul_in_a_utf16_file_after_the_sample_is_refused():
    text = "a\tb\r\n" + "1\t2\r\n" * 10_000 + "3\t\x00\r\n"
    assert refusal(text.encode("utf-16")).startswith("Row 10002 contains a NUL byte")


# -- names echoed in messages ---------------------------------------------------------

def test_repeated_long_column_names_are_clipped_in_the_message():
    name = "n" * 60_000
    message = refusal(f"{name},{name}\n1,2\n".encode())
    assert message == (f"The header repeats the column {'n' * 99}…; "
                       "each column may appear only once.")


def test_found_columns_are_clipped_when_required_ones_are_missing():
    header = open_csv(io.BytesIO(("c" * 60_000 + ",other\n1,2\n").encode())).header
    with pytest.raises(InvalidFile) as caught:
        pick_entry_schema("headcount", header)
    assert len(caught.value.message) < 400
    assert f"Columns found: {'c' * 99}…, other." in caught.value.message


# -- memory ---------------------------------------------------------------------------

class RepeatedStream(io.RawIOBase):
    """`head`, then `unit` repeated up to `size` bytes, then one short row, made as read."""

    def __init__(self, head: bytes, unit: bytes, size: int):
        self._pending, self._unit, self._left = head, unit, size
        self._tail = b"\n1\n"

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while len(self._pending) < len(buffer) and (self._left > 0 or self._tail):
            if self._left > 0:
                count = max(1, min(self._left, 1 << 16) // len(self._unit))
                self._pending += self._unit * count
                self._left -= count * len(self._unit)
            else:
                self._pending, self._tail = self._pending + self._tail, b""
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


def _peak_mb_refusing(head: bytes, unit: bytes, size: int) -> float:
    tracemalloc.start()
    try:
        with pytest.raises(InvalidFile):
            all_rows(io.BufferedReader(RepeatedStream(head, unit, size)))
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(("head", "unit"), [
    (b"", b"c,"),  # one header line of tiny columns
    (b"a,b\n", b"x,"),  # one data row of tiny fields
    (b"a,b\n", b"," * 99_999 + b"\n"),  # rows of 100,000 empty fields
    (b'a,b\n1,"', b'xx"",'),  # a quoted cell that never closes, full of quotes and commas
])
def test_a_file_of_pathological_width_is_refused_in_little_memory(head, unit):
    assert _peak_mb_refusing(head, unit, 100_000_000) < 25


def test_a_line_without_delimiters_costs_the_row_limit_at_most():
    # Python holds the pieces of a line until the row limit: 16 MB, whatever the file.
    small = _peak_mb_refusing(b"a\n", b"x", 40_000_000)
    large = _peak_mb_refusing(b"a\n", b"x", 200_000_000)
    assert large < 40 and large < small * 1.2 + 1, (small, large)
