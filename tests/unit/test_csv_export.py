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
    ("\t=cmd", "'\t'=cmd"),
    ("\r=cmd", "'\r'=cmd"),
    ("x;=1+1", "x;'=1+1"),  # a reader splitting on ";" would start a cell at "="
    ('x; "@SUM(A1)', 'x; "\'@SUM(A1)'),
    ("a\n-1", "a\n'-1"),
    ("a,=1", "a,=1"),  # a comma is this file's separator: quoting holds the cell
    ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
    ("a=1", "a=1"),
    (" =1", " =1"),
    ("", ""),
    ("'quoted", "'quoted"),
    ("Zürich", "Zürich"),
    ("\uff1d1+1", "'\uff1d1+1"),  # full-width ＝＋－＠ start formulas too
    ("\uff0b1", "'\uff0b1"),
    ("\uff0d1", "'\uff0d1"),
    ("\uff20SUM(A1)", "'\uff20SUM(A1)"),
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
    assert csv_text([["a", "b"]], lineterminator="\r\n", delimiter=";") == '"a";"b"\r\n'
    buffer = io.StringIO()
    SafeWriter(buffer, lineterminator="\n").writerows([["=x"], ["y"]])
    assert buffer.getvalue() == '"\'=x"\n"y"\n'


@pytest.mark.parametrize("separator", [";", "\t", ","])
def test_a_reader_splitting_on_another_separator_never_sees_a_formula(separator):
    """SPEC §12 (continued): `x;=1+1` never yields a formula cell in a spreadsheet that
    splits on `;` or a tab: text cells are quoted, and a formula start after such a
    separator inside a cell is neutralised (a quote opening mid-field is not honoured)."""
    text = csv_text([["row", "value"], [3, f"x{separator}=1+1"], [4, f"y{separator}@SUM(A1)"]])
    for delimiter in (";", "\t", ","):
        for row in csv.reader(io.StringIO(text), delimiter=delimiter):
            assert not any(cell.startswith(("=", "@", "+", "-")) for cell in row), (delimiter, row)
    expected = "" if separator == "," else "'"
    assert list(csv.reader(io.StringIO(text)))[1:] == [
        ["3", f"x{separator}{expected}=1+1"], ["4", f"y{separator}{expected}@SUM(A1)"]]


def test_numbers_stay_bare_and_empty_cells_empty():
    assert csv_text([[3, -0.5, None, "t"]]) == '3,-0.5,"","t"\r\n'


def test_chunks_are_bounded_and_join_to_the_whole_file():
    rows = [[n, f"=cell {n}"] for n in range(20_000)]
    chunks = list(csv_chunks(rows))
    assert len(chunks) > 3
    assert max(len(chunk) for chunk in chunks) < 70 * 1024
    assert "".join(chunks) == csv_text(rows)
    assert "".join(chunks).splitlines()[0] == '0,"\'=cell 0"'
