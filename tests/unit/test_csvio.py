"""csvio: encodings, delimiters, line endings, row numbers, refusals and streaming."""

import io
import tracemalloc

import pytest

from webapp.errors import InvalidFile
from webapp.ingestion.providers.csv_upload.reader import normalise_name, open_csv
from webapp.ingestion.providers.csv_upload.sniffing import SAMPLE_BYTES


def table(data: bytes):
    return open_csv(io.BytesIO(data))


def all_rows(data: bytes) -> list[tuple[int, dict[str, str]]]:
    return list(table(data).rows())


def refusal(data: bytes) -> str:
    with pytest.raises(InvalidFile) as caught:
        all_rows(data)
    assert caught.value.status_code == 400
    return caught.value.message


# -- encodings ------------------------------------------------------------------------

def test_utf8_without_bom():
    assert all_rows("name,city\nZoë,Zürich\n".encode()) == [(2, {"name": "Zoë", "city": "Zürich"})]


def test_utf8_bom_is_not_part_of_the_first_column_name():
    opened = table("name,fte\nAda,1\n".encode("utf-8-sig"))
    assert opened.header == ["name", "fte"]
    assert opened.raw_header == ["name", "fte"]


def test_cp1252_as_excel_exports_it():
    opened = table("name;note\nHélène;1200 € für Jürgen\n".encode("cp1252"))
    assert opened.encoding == "cp1252"
    assert list(opened.rows()) == [(2, {"name": "Hélène", "note": "1200 € für Jürgen"})]


def test_bytes_cp1252_leaves_undefined_decode_as_latin1():
    assert all_rows(b"a,b\n\x81,\x9d\n") == [(2, {"a": "\x81", "b": "\x9d"})]


def test_a_file_mixing_utf8_and_cp1252_keeps_both():
    opened = table("name\nCafé\n".encode() + "Café\n".encode("cp1252"))
    assert opened.encoding == "utf-8"
    assert [values["name"] for _, values in opened.rows()] == ["Café", "Café"]


def test_cp1252_across_read_chunk_boundaries():
    # Enough rows that the 64 KB sample and many 8 KB decoder chunks end mid-row.
    rows = [f"Hélène-{i}" for i in range(30_000)]
    data = ("name\n" + "\n".join(rows) + "\n").encode("cp1252")
    assert len(data) > 4 * SAMPLE_BYTES
    assert [values["name"] for _, values in all_rows(data)] == rows


def test_cp1252_appearing_only_after_the_sample_falls_back_byte_by_byte():
    ascii_rows = [f"plain-{i}" for i in range(10_000)]
    accented = [f"Hélène-{i} €" for i in range(10_000)]
    data = ("name\n" + "\n".join(ascii_rows) + "\n").encode()
    data += ("\n".join(accented) + "\n").encode("cp1252")
    assert data.index("é".encode("cp1252")) > SAMPLE_BYTES
    opened = table(data)
    assert opened.encoding == "utf-8"
    assert [values["name"] for _, values in opened.rows()] == ascii_rows + accented


def test_a_utf8_character_cut_by_the_sample_is_still_utf8():
    filler = "x" * (SAMPLE_BYTES - len("name\n") - 1)
    data = f"name\n{filler}é\nZoë\n".encode()
    assert data[SAMPLE_BYTES - 1:SAMPLE_BYTES + 1] == "é".encode()
    opened = table(data)
    assert opened.encoding == "utf-8"
    assert [values["name"] for _, values in opened.rows()] == [filler + "é", "Zoë"]


def test_utf8_multibyte_characters_across_chunk_boundaries():
    rows = [f"€{'é' * (i % 7)}{i}" for i in range(30_000)]
    data = ("name\n" + "\n".join(rows) + "\n").encode()
    assert [values["name"] for _, values in all_rows(data)] == rows


def test_utf16_with_bom_as_excel_unicode_text():
    opened = table("name\tcity\r\nÉtagère\tGenève\r\n".encode("utf-16"))
    assert opened.delimiter == "\t"
    assert opened.encoding == "utf-16"
    assert list(opened.rows()) == [(2, {"name": "Étagère", "city": "Genève"})]


# -- delimiters -----------------------------------------------------------------------

@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_each_delimiter_is_sniffed(delimiter):
    data = delimiter.join(["a", "b", "c"]) + "\n" + delimiter.join(["1", "2", "3"]) + "\n"
    opened = table(data.encode())
    assert opened.delimiter == delimiter
    assert list(opened.rows()) == [(2, {"a": "1", "b": "2", "c": "3"})]


def test_semicolon_file_whose_values_hold_commas():
    opened = table(b"name;note;fte\nAda;yes, part time;0,5\nBob;x, y, z;1\n")
    assert opened.delimiter == ";"
    assert [values["fte"] for _, values in opened.rows()] == ["0,5", "1"]


def test_tab_file_whose_notes_hold_commas_and_semicolons():
    opened = table(b"a\tb\n1\tx, y; z\n")
    assert opened.delimiter == "\t"


def test_the_delimiter_that_the_data_rows_agree_with_wins_over_a_count_in_the_header():
    # The header's quoted name has 2 commas; semicolons give 2 columns that every row keeps.
    opened = table(b'"one, two, three";b\n1;2\n3;4\n')
    assert opened.delimiter == ";"
    assert opened.header == ["one,_two,_three", "b"]


def test_single_column_file_uses_comma():
    opened = table(b"name\nAda\n")
    assert opened.delimiter == ","
    assert list(opened.rows()) == [(2, {"name": "Ada"})]


# -- line endings, quotes and row numbers ---------------------------------------------

@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r"])
def test_line_endings(eol):
    data = eol.join(["a,b", "1,2", "3,4"]) + eol
    assert all_rows(data.encode()) == [(2, {"a": "1", "b": "2"}), (3, {"a": "3", "b": "4"})]


def test_quoted_fields_with_delimiters_quotes_and_newlines_are_one_row():
    data = b'id,note\r\n1,"a, b ""c""\r\nsecond line"\r\n2,plain\r\n'
    assert all_rows(data) == [(2, {"id": "1", "note": 'a, b "c"\r\nsecond line'}),
                              (3, {"id": "2", "note": "plain"})]


def test_blank_rows_are_skipped_but_counted_like_a_spreadsheet():
    data = b"a,b\n1,2\n\n,\n  ,\t\n3,4\n"
    assert [number for number, _ in all_rows(data)] == [2, 6]


def test_blank_lines_before_the_header_move_the_row_numbers():
    opened = table(b"\n,,\na,b\n1,2\n")
    assert opened.header_row == 3
    assert [number for number, _ in opened.rows()] == [4]


def test_short_rows_are_padded_and_long_rows_cut():
    assert all_rows(b"a,b,c\n1\n1,2,3,4,5\n") == [(2, {"a": "1", "b": "", "c": ""}),
                                                  (3, {"a": "1", "b": "2", "c": "3"})]


def test_values_are_raw_strings_not_stripped():
    assert all_rows(b"a,b\n 1 ,\t2\n") == [(2, {"a": " 1 ", "b": "\t2"})]


# -- header names ---------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "name"), [
    ("name", "name"),
    ("  Origin IATA ", "origin_iata"),
    ("Destination-IATA", "destination_iata"),
    ("number  of\ttrips", "number_of_trips"),
    ("USER_INSTITUTIONAL_ID", "user_institutional_id"),
    ("kg CO2eq", "kg_co2eq"),
    ("_fte_", "fte"),
    ("\ufeffname", "name"),
    ("\xa0note\xa0", "note"),
])
def test_normalise_name(raw, name):
    assert normalise_name(raw) == name


def test_header_keeps_raw_and_normalised_names():
    opened = table(b" Cabin Class ,FTE\neco,1\n")
    assert opened.raw_header == [" Cabin Class ", "FTE"]
    assert opened.header == ["cabin_class", "fte"]


def test_columns_without_a_name_are_not_duplicates():
    # Excel often leaves empty header cells at the end of a sheet.
    opened = table(b"a,,b,,\n1,x,2,y,z\n")
    assert opened.header == ["a", "", "b", "", ""]
    assert list(opened.rows())[0][1]["b"] == "2"


def test_duplicate_columns_are_named():
    message = refusal(b"Name,name ,fte,FTE\nA,B,1,1\n")
    assert message == ("The header repeats the columns name, fte; "
                       "each column may appear only once.")


# -- refusals -------------------------------------------------------------------------

def test_empty_file():
    assert refusal(b"") == "The file is empty (0 bytes)."


@pytest.mark.parametrize("data", [b"   ", b"\r\n\r\n", b" \t \n\n  \n", b",,,\n,,\n"])
def test_blank_file(data):
    assert refusal(data) == "The file is empty: it contains only blank lines."


@pytest.mark.parametrize("data", [b"a,b", b"a,b\r\n", b"a,b\n\n,\n  ,  \n"])
def test_header_without_data_rows(data):
    assert refusal(data) == "The file has a header but no data rows."


@pytest.mark.parametrize(("data", "phrase"), [
    (b"PK\x03\x04\x14\x00\x06\x00", "looks like an Excel workbook (.xlsx)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00", "Excel 97-2003 workbook (.xls)"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "is a PNG image"),
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "is a PDF document"),
    (b"\x1f\x8b\x08\x00", "gzip"),
    (b"a,b\n1,\x002\n", "contains binary data"),
    (bytes(range(1, 32)) * 20, "contains binary data"),
])
def test_binary_content(data, phrase):
    assert phrase in refusal(data)


def test_utf16_without_bom_is_binary_not_garbage():
    assert "binary data" in refusal("a,b\n1,2\n".encode("utf-16-le"))


def test_a_few_stray_control_characters_are_still_text():
    # A form feed or a DOS end-of-file mark in a cell does not make a file binary.
    assert all_rows(b"a,b\n1,2\x0c\n3,\x1a4\n") == [(2, {"a": "1", "b": "2\x0c"}),
                                                     (3, {"a": "3", "b": "\x1a4"})]


def test_unclosed_quote_in_the_first_data_row():
    message = refusal(b'a,b\n1,"open\n2,3\n')
    assert message.startswith("Row 2 could not be read as CSV (unexpected end of data)")


def test_unclosed_quote_later_fails_while_reading_with_its_row_number():
    opened = table(b'a,b\n1,2\n\n3,"x"y\n')
    rows = opened.rows()
    assert next(rows) == (2, {"a": "1", "b": "2"})
    with pytest.raises(InvalidFile, match=r"^Row 4 could not be read as CSV"):
        next(rows)


def test_rows_can_be_read_once():
    opened = table(b"a\n1\n")
    assert list(opened.rows()) == [(2, {"a": "1"})]
    with pytest.raises(RuntimeError):
        list(opened.rows())


# -- streaming ------------------------------------------------------------------------

class TrickleStream(io.RawIOBase):
    """A non-seekable stream that hands out a few bytes per read, like a socket."""

    def __init__(self, data: bytes, step: int = 7):
        self._data, self._step, self._at = data, step, 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        size = self._step if size < 0 else min(size, self._step)
        chunk = self._data[self._at:self._at + size]
        self._at += len(chunk)
        return chunk


def test_non_seekable_stream_that_returns_short_reads():
    data = ("name;note\n" + "".join(f"Zoë {i};été €\n" for i in range(5000))).encode("cp1252")
    stream = TrickleStream(data)
    rows = list(open_csv(stream).rows())
    assert len(rows) == 5000
    assert rows[-1] == (5001, {"name": "Zoë 4999", "note": "été €"})
    assert not stream.closed  # the caller owns its stream


def test_reads_from_the_current_position():
    stream = io.BytesIO(b"junk-prefix|a,b\n1,2\n")
    stream.seek(len(b"junk-prefix|"))
    assert list(open_csv(stream).rows()) == [(2, {"a": "1", "b": "2"})]


class GeneratedCsv(io.RawIOBase):
    """A large CSV produced on the fly, so the test itself holds no file in memory."""

    def __init__(self, rows: int):
        self._lines = (f"GVA,LHR,{100000 + i},2025-01-01,economy,note {i}\r\n".encode()
                       for i in range(rows))
        self._pending = b"origin_iata,destination_iata,user_id,date,cabin,note\r\n"

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while len(self._pending) < len(buffer):
            line = next(self._lines, None)
            if line is None:
                break
            self._pending += line
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


def _peak_bytes_reading(rows: int) -> int:
    tracemalloc.start()
    try:
        count = sum(1 for _ in open_csv(io.BufferedReader(GeneratedCsv(rows))).rows())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == rows
    return peak


def test_memory_does_not_grow_with_the_file():
    # Compared with a file five times smaller, in the same process, so allocations that
    # other tests or first-time imports leave behind count on both sides.
    small = _peak_bytes_reading(20_000)  # about 1 MB of CSV
    large = _peak_bytes_reading(100_000)  # about 5.5 MB of CSV
    assert large < small * 1.5 + 500_000, (small, large)
