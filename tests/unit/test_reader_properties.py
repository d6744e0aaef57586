"""Property tests of the CSV reader: whatever the bytes, `open_csv(...).rows()` gives rows
or the documented refusal (InvalidFile, 400), never another exception; the rows it gives
are storable text within the limits; and well-formed CSV reads back as written."""

from __future__ import annotations

import csv
import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from webapp.errors import InvalidFile
from webapp.ingestion.providers.csv_upload.limits import Limits
from webapp.ingestion.providers.csv_upload.reader import open_csv

# Bounded so the whole file runs in a few seconds; no example database left behind.
BOUNDED = settings(max_examples=150, deadline=2000, database=None,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SMALL = Limits(max_columns=6, max_field_kb=1)


def read_or_refuse(data: bytes, limits: Limits | None = None) -> list | None:
    """The rows of `data`, or None when it is refused; checks what holds either way."""
    limits = limits or Limits()
    try:
        table = open_csv(io.BytesIO(data), limits)
        rows = list(table.rows())
    except InvalidFile as refusal:
        assert refusal.status_code == 400
        assert refusal.message and len(refusal.message) <= 500, refusal.message
        return None
    assert 0 < len(table.header) <= limits.max_columns
    assert rows, "a table that opens has at least one data row"
    numbers = [number for number, _ in rows]
    assert numbers == sorted(set(numbers)) and numbers[0] > table.header_row
    for _, values in rows:
        assert set(values) == set(table.header)
        for value in values.values():
            assert isinstance(value, str) and len(value) <= limits.max_field_chars
            assert "\x00" not in value  # PostgreSQL stores no NUL
            value.encode("utf-8")  # no lone surrogate either
    return rows


@BOUNDED
@given(st.binary(max_size=2048))
def test_any_bytes(data):
    read_or_refuse(data)
    read_or_refuse(data, SMALL)


@BOUNDED
@given(st.text(max_size=600), st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252",
                                              "latin-1"]))
def test_any_text_in_an_accepted_encoding(text, encoding):
    read_or_refuse(text.encode(encoding, errors="replace"))


# Near-CSV: fields made of the characters that matter to a CSV parser, sometimes long.
_PARTS = st.sampled_from(["a", "Zoë", " ", ",", ";", "\t", '"', '""', "\r", "\n", "\r\n",
                          "\x00", "\x01", "\x1a", "\ufeff", "é", "€", "🚆", "x" * 70])
_FIELD = st.one_of(
    st.lists(_PARTS, max_size=6).map("".join),
    st.tuples(st.sampled_from(["x", ",", '"', "\n", "ab,"]),
              st.integers(0, 1400)).map(lambda pair: pair[0] * pair[1]),
)
_RECORD = st.lists(_FIELD, min_size=0, max_size=9)


@st.composite
def near_csv(draw) -> bytes:
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    eol = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    quote = draw(st.booleans())
    lines = []
    for record in draw(st.lists(_RECORD, min_size=0, max_size=8)):
        if quote:
            record = ['"' + field.replace('"', '""') + '"' if draw(st.booleans()) else field
                      for field in record]
        lines.append(delimiter.join(record))
    text = eol.join(lines) + draw(st.sampled_from(["", eol]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]))
    return text.encode(encoding, errors="replace")


@BOUNDED
@given(near_csv())
def test_near_csv(data):
    read_or_refuse(data)
    read_or_refuse(data, SMALL)


# Well-formed CSV as a spreadsheet writes it: the rows come back exactly.
_NAME = st.text(alphabet="abcdefghij", min_size=1, max_size=6)
_CELL = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc"),
                                       blacklist_characters=";\ufeff")
                | st.sampled_from([",", '"', "\r", "\n", " "]), max_size=12)


@st.composite
def written_csv(draw) -> tuple[list[str], list[list[str]], str, int]:
    header = draw(st.lists(_NAME, min_size=1, max_size=6, unique=True))
    rows = draw(st.lists(st.lists(_CELL, min_size=len(header), max_size=len(header)),
                         min_size=1, max_size=10))
    # csv.writer quotes only the characters of its line terminator: with "\n" a cell's
    # lone "\r" would go out bare, so that terminator comes with every cell quoted.
    eol, quoting = draw(st.sampled_from([("\r\n", csv.QUOTE_MINIMAL), ("\n", csv.QUOTE_ALL)]))
    return header, rows, eol, quoting


@BOUNDED
@given(written_csv(), st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]))
def test_well_formed_csv_reads_back_as_written(written, encoding):
    header, rows, eol, quoting = written
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator=eol, quoting=quoting).writerows([header, *rows])
    got = read_or_refuse(buffer.getvalue().encode(encoding))
    expected = [(number, dict(zip(header, row, strict=True)))
                for number, row in enumerate(rows, start=2) if any(c.strip() for c in row)]
    if not expected:
        assert got is None  # "a header but no data rows"
    else:
        assert got == expected
