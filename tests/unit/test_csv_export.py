"""The one CSV writer of the product: cells a spreadsheet would run as formulas are
neutralised (SPEC §12), everything else is written unchanged."""

import csv
import io

import pytest

from webapp.csv_export import SafeWriter, csv_chunks, csv_text, neutralise


@pytest.mark.parametrize(("cell", "written"), [
    ("=1+2", "'=1+2"),
    ("+1-1", "'+1-1"),
    ("-5", "'-5"),  # SPEC §12: a text cell starting with "-", even a negative number
    ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=cmd", "'\t=cmd"),
    ("\r=cmd", "'\r=cmd"),
    ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
    ("a=1", "a=1"),
    (" =1", " =1"),
    ("", ""),
    ("'quoted", "'quoted"),
    ("Zürich", "Zürich"),
])
def test_neutralise_text(cell, written):
    assert neutralise(cell) == written


@pytest.mark.parametrize("cell", [-5, -0.5, 3, None])
def test_numbers_and_none_are_left_as_they_are(cell):
    assert neutralise(cell) is cell


def test_the_writer_output_reads_back_as_the_neutralised_cells():
    rows = [["row", "value"], [3, "=1+2"], [4, "+1-1"], [5, "@SUM(A1)"], [6, "-5"],
            [7, 'a "quoted", cell']]
    text = csv_text(rows)
    assert list(csv.reader(io.StringIO(text))) == [
        ["row", "value"], ["3", "'=1+2"], ["4", "'+1-1"], ["5", "'@SUM(A1)"], ["6", "'-5"],
        ["7", 'a "quoted", cell']]


def test_format_arguments_reach_csv_writer():
    assert csv_text([["a", "b"]], lineterminator="\r\n", delimiter=";") == "a;b\r\n"
    buffer = io.StringIO()
    SafeWriter(buffer, lineterminator="\n").writerows([["=x"], ["y"]])
    assert buffer.getvalue() == "'=x\ny\n"


def test_chunks_are_bounded_and_join_to_the_whole_file():
    rows = [[n, f"=cell {n}"] for n in range(20_000)]
    chunks = list(csv_chunks(rows))
    assert len(chunks) > 3
    assert max(len(chunk) for chunk in chunks) < 70 * 1024
    assert "".join(chunks) == csv_text(rows)
    assert "".join(chunks).splitlines()[0] == "0,'=cell 0"
