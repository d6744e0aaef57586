"""Workbooks through the real path (SPEC §15): API or page upload → worker → job, rows and
errors. The same data as CSV and as .xlsx gives the same preview, the same stored rows
and the same row errors; a workbook's errors also name their cell (Travel!C17) in the
API, the error report and the job page; each workbook refused gets its own sentence."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import date

import psycopg
import pytest

from tests.integration.test_csv_ingestion import MODULE_IDS, upload
from tests.integration.test_views import _job_id
from tests.support.workbooks import (
    Formula,
    csv_of,
    encrypted,
    ods,
    replaced,
    with_macros,
    xlsx,
)

pytestmark = pytest.mark.usefixtures("settled")

TRAVEL = MODULE_IDS["travel"]
PLANE_FACTORS = 1  # demo seed factor type id
PLANE = ["origin_iata", "destination_iata", "user_institutional_id", "cabin_class",
         "departure_date", "number_of_trips", "note"]
# Good rows and bad ones, typed as a user types them in Excel: dates as dates, counts as
# numbers, ids as text with their leading zeros.
FLIGHTS = [
    PLANE,
    ["GVA", "CDG", "00123", "economy", date(2025, 3, 1), 2, "conference, Paris"],
    ["ZRH", "LHR", 100045, "Business Class", date(2025, 3, 2), 1, None],
    None,  # a blank row: skipped, still counted
    ["GVA", "XX", "7", "economy", date(2025, 3, 3), 1, None],  # row 5: bad airport
    ["GVA", "CDG", "8", "cattle", "2025-13-45", 1.5, None],  # row 6: three bad cells
    ["BCN", "FCO", "9", "first", date(2025, 12, 31), 3, "x"],
]


def _rows(rows):
    return [row or [] for row in rows]


def _flights_xlsx(**kw) -> bytes:
    return xlsx(_rows(FLIGHTS), **kw)


def _flights_csv() -> bytes:
    return csv_of(_rows(FLIGHTS))


def _errors(job: dict) -> list[tuple]:
    return [(e["row"], e["column"], e["value"], e["reason"]) for e in job["errors"]]


def _entries(db_url, module_id: int = TRAVEL) -> list[tuple]:
    with psycopg.connect(db_url) as conn:
        return conn.execute(
            "SELECT entry_type, data, kg_co2eq FROM data_entries WHERE module_id = %s "
            "ORDER BY data::text", (module_id,)).fetchall()


def _factors(db_url) -> list[tuple]:
    with psycopg.connect(db_url) as conn:
        return conn.execute(
            "SELECT classification, values FROM emission_factors WHERE factor_type_id = %s "
            "ORDER BY classification::text", (PLANE_FACTORS,)).fetchall()


# -- the same data, CSV or workbook -------------------------------------------------------

def test_entries_as_csv_and_as_xlsx_give_the_same_preview_rows_and_errors(api, db_url):
    csv_preview = upload(api, _flights_csv(), on_error="skip", dry_run=True)
    xlsx_preview = upload(api, _flights_xlsx(), filename="flights.xlsx", on_error="skip",
                          dry_run=True)
    assert csv_preview["status"] == xlsx_preview["status"] == "completed", xlsx_preview
    assert xlsx_preview["preview"] == csv_preview["preview"] and len(csv_preview["preview"]) == 3
    assert xlsx_preview["counts"] == csv_preview["counts"]
    assert _errors(xlsx_preview) == _errors(csv_preview)
    assert {e[0] for e in _errors(csv_preview)} == {5, 6} and len(csv_preview["errors"]) == 4

    from_csv = upload(api, _flights_csv(), on_error="skip")
    stored_from_csv = _entries(db_url)
    from_xlsx = upload(api, _flights_xlsx(), filename="flights.xlsx", on_error="skip")
    assert from_csv["status"] == from_xlsx["status"] == "completed", from_xlsx
    assert from_xlsx["counts"]["inserted"] == from_csv["counts"]["inserted"] == 3
    assert _entries(db_url) == stored_from_csv  # replaced by the same rows
    assert _errors(from_xlsx) == _errors(from_csv)
    data = sorted(entry[1]["user_institutional_id"] for entry in stored_from_csv)
    assert data == ["00123", "100045", "9"]  # a code typed as text keeps its zeros
    paris = next(entry[1] for entry in stored_from_csv if entry[1]["origin_iata"] == "GVA")
    assert (paris["departure_date"], paris["number_of_trips"], paris["note"]) == (
        "2025-03-01", 2, "conference, Paris")


def test_factors_as_csv_and_as_xlsx_give_the_same_factors_and_errors(admin_api, db_url):
    rows = [["category", "cabin_class", "ef_kg_co2eq_per_km", "rfi_adjustment",
             "min_distance", "max_distance"],
            ["short_haul", "economy", 0.151, 1.9, 0, 1500],
            ["long_haul", "ECO", 0.102, 1.9, 1500, None],
            ["medium_haul", "economy", "abc", 1.9, 1500, 800]]  # row 4: two errors
    kw = {"module": "travel", "factor_type": "plane", "on_error": "skip"}
    from_csv = upload(admin_api, csv_of(rows), **kw)
    stored_from_csv = _factors(db_url)
    # In the workbook, the figure a formula left with binary noise: Excel shows 0.102.
    noisy = [*rows[:2], [*rows[2][:2], 0.1 + 0.002, *rows[2][3:]], rows[3]]
    assert noisy[2][2] != 0.102
    from_xlsx = upload(admin_api, xlsx(noisy, sheet="Factors"), filename="f.xlsx", **kw)
    assert from_csv["status"] == from_xlsx["status"] == "completed", from_xlsx
    assert _factors(db_url) == stored_from_csv and len(stored_from_csv) == 2
    assert _errors(from_xlsx) == _errors(from_csv) and len(from_csv["errors"]) == 2
    assert stored_from_csv[0][1]["ef_kg_co2eq_per_km"] == 0.102  # no float noise
    assert {e["cell"] for e in from_xlsx["errors"]} == {"Factors!C4", "Factors!F4"}


@pytest.fixture
def university(app):
    from webapp.organisation.demo_university import seed_demo_university

    with app.app_context():
        seed_demo_university()


def _institution(admin_api, content: bytes, filename: str, **config) -> dict:
    answer = admin_api.post("/sync/institution/2025", content_type="multipart/form-data",
                            data={"provider_type": "csv_upload", "module_type": "travel",
                                  "config": json.dumps(config),
                                  "file": (io.BytesIO(content), filename)})
    assert answer.status_code == 202, answer.get_json()
    return admin_api.wait(answer.get_json()["job_id"])


def test_an_institution_wide_workbook_routes_its_rows_as_the_csv_does(admin_api, university,
                                                                       db_url):
    from tests.integration.test_institution_sync import _stored

    rows = [PLANE[:5] + ["unit_code"],
            ["GVA", "CDG", "1", "economy", date(2025, 3, 1), "F0892"],
            ["GVA", "CDG", "2", "economy", date(2025, 3, 1), "F1107"],
            ["GVA", "CDG", "3", "economy", date(2025, 3, 1), "NOPE"],  # no such unit
            ["GVA", "CDG", "4", "economy", "2025-13-45", "F0892"]]
    from_csv = _institution(admin_api, csv_of(rows), "flights.csv", on_error="skip")
    stored_from_csv = _stored(db_url, "travel", "user_institutional_id")
    from_xlsx = _institution(admin_api, xlsx(rows, sheet="All units"), "flights.xlsx",
                             on_error="skip")
    assert from_csv["status"] == from_xlsx["status"] == "completed", from_xlsx
    assert _stored(db_url, "travel", "user_institutional_id") == stored_from_csv == {
        "F0892": ["1"], "F1107": ["2"]}
    def loaded(job):  # the second load replaces the first's rows: deleted differs
        return {code: (unit["inserted"], unit["skipped"])
                for code, unit in job["counts"]["by_unit"].items()}

    assert loaded(from_xlsx) == loaded(from_csv) == {"F0892": (1, 0), "F1107": (1, 0)}
    assert _errors(from_xlsx) == _errors(from_csv) and len(from_csv["errors"]) == 2
    assert {(e["row"], e["cell"]) for e in from_xlsx["errors"]} == {
        (4, "'All units'!F4"), (5, "'All units'!E5")}


def _units_job(admin_api, content: bytes, filename: str, **form) -> dict:
    answer = admin_api.post("/units/import", content_type="multipart/form-data",
                            data={"file": (io.BytesIO(content), filename), **form})
    assert answer.status_code == 202, answer.get_json()
    return admin_api.wait(answer.get_json()["job_id"])


def test_a_unit_tree_as_csv_and_as_xlsx_imports_the_same_with_the_same_errors(admin_api,
                                                                              db_url):
    from tests.integration.test_units import units

    bad = [["code", "name", "parent_code", "active"], ["A", "Alpha", "NOPE", None],
           ["B", None, "S-1", "maybe"], ["C", "Gamma", None, Formula("=NA()", "#N/A")]]
    failed_csv = _units_job(admin_api, csv_of(bad), "units.csv")
    failed_xlsx = _units_job(admin_api, xlsx(bad, sheet="Units"), "units.xlsx")
    assert failed_csv["status"] == failed_xlsx["status"] == "failed", failed_xlsx
    csv_errors = [e for e in _errors(failed_csv) if e[0] != 4]  # CSV has no error cells
    assert [e for e in _errors(failed_xlsx) if e[0] != 4] == csv_errors
    assert [e.get("cell") for e in failed_xlsx["errors"]] == [
        "Units!C2", "Units!B3", "Units!D3", "Units!D4"]
    assert failed_xlsx["errors"][-1]["value"] == "#N/A"
    tree = [["code", "name", "parent_code", "active"], ["S-1", "School", None, True],
            ["I-10", "Institute", "S-1", "yes"], ["L-7", 1234, "I-10", False]]
    book = xlsx([["read me"], ["the tree is on the next sheet"]], sheet="Readme",
                more_sheets={"Tree": tree})
    done = _units_job(admin_api, book, "units.xlsx", sheet="Tree")
    assert done["status"] == "completed", done
    assert done["request"]["config"]["sheet"] == "Tree"
    refused = admin_api.post("/units/import", content_type="multipart/form-data", data={
        "file": (io.BytesIO(book), "units.xlsx"), "sheet": "x" * 101})
    assert refused.status_code == 422 and "config.sheet" in refused.get_json()["message"]
    from_xlsx = units(db_url)
    assert from_xlsx["L-7"] == ("1234", "I-10", False, ["S-1", "I-10", "L-7"])
    again = _units_job(admin_api, csv_of(tree), "units.csv")
    assert again["counts"] == {"inserted": 0, "updated": 0, "unchanged": 3}
    assert units(db_url) == from_xlsx


def test_an_ods_file_loads_as_its_csv_does(api, db_url):
    from_ods = upload(api, ods(_rows(FLIGHTS)), filename="flights.ods", on_error="skip")
    stored = _entries(db_url)
    from_csv = upload(api, _flights_csv(), on_error="skip")
    assert from_ods["status"] == from_csv["status"] == "completed", from_ods
    assert _entries(db_url) == stored and _errors(from_ods) == _errors(from_csv)


# -- cells named in errors ------------------------------------------------------------------

def test_errors_name_their_cell_in_the_api_the_report_and_the_job_page(api, pages, db_url):
    rows = [None, PLANE[:5], ["GVA", "CDG", "1", "economy", date(2025, 3, 1)],
            *[["GVA", "CDG", str(n), "economy", date(2025, 3, 1)] for n in range(2, 16)],
            ["GVA", "CDG", "16", "economy", Formula("=1/0", "#DIV/0!")],
            ["GVA", "CDG", "17", "cattle", date(2025, 3, 1)]]  # row 19: D19
    failed = upload(api, xlsx(_rows(rows), sheet="Travel"), filename="t.xlsx")
    assert failed["status"] == "failed" and failed["status_code"] == 422, failed
    assert [(e["row"], e["column"], e["value"], e["cell"]) for e in failed["errors"]] == [
        (18, "departure_date", "#DIV/0!", "Travel!E18"), (19, "cabin_class", "cattle",
                                                        "Travel!D19")]
    assert "is an Excel error (#DIV/0!)" in failed["errors"][0]["reason"]
    assert "Row 18 (Travel!E18): departure_date '#DIV/0!' is an Excel error" in failed["message"]
    report = api.get(f"/sync/errors/{failed['job_id']}.csv").get_data(as_text=True)
    lines = list(csv.reader(io.StringIO(report)))
    assert lines[0] == ["row", "column", "value", "reason", "cell"]
    assert [(line[0], line[4]) for line in lines[1:]] == [("18", "Travel!E18"),
                                                          ("19", "Travel!D19")]
    page = pages("editor").get(f"/jobs/{failed['job_id']}").text
    assert '<td>19 <span class="cell">(Travel!D19)</span></td>' in page
    # A CSV file's errors have no cell: row and column say where.
    from_csv = upload(api, csv_of([PLANE[:5], ["GVA", "CDG", "1", "cattle", "2025-03-01"]]))
    assert "cell" not in from_csv["errors"][0]
    with psycopg.connect(db_url) as conn:
        cells = conn.execute("SELECT cell FROM ingestion_row_errors WHERE job_id = %s",
                             (from_csv["job_id"],)).fetchall()
    assert cells == [(None,)]


def test_a_named_sheet_is_read_and_an_unknown_one_fails_naming_the_sheets(api):
    book = xlsx([["x"], ["1"]], sheet="Notes", more_sheets={"My travel": _rows(FLIGHTS)})
    done = upload(api, book, filename="b.xlsx", on_error="skip", sheet="My travel")
    assert done["status"] == "completed" and done["counts"]["inserted"] == 3, done
    assert {e["cell"] for e in done["errors"]} >= {"'My travel'!B5", "'My travel'!D6"}
    failed = upload(api, book, filename="b.xlsx", sheet="Flights")
    assert (failed["status"], failed["status_code"]) == ("failed", 400)
    assert ("The workbook has no sheet named 'Flights' (config.sheet); its sheets are "
            "'Notes', 'My travel'.") in failed["message"]
    for wrong in (2, "", ["Notes"]):  # refused at request, before any job
        answer = api.sync(TRAVEL, "csv_upload", file=book, filename="b.xlsx",
                          config={"sheet": wrong})
        assert answer.status_code == 422, answer.get_json()
        assert answer.get_json()["message"].startswith(
            "config.sheet must be the name of a workbook's sheet")


# -- refusals -------------------------------------------------------------------------------

def _too_wide() -> bytes:
    return xlsx([PLANE[:5], ["GVA", "CDG", "1", "economy", date(2025, 3, 1),
                             *[None] * 495, "x"]])  # column 501


def _too_long() -> bytes:
    """A cell of 70,000 characters: Excel stops at 32,767 (and so does XlsxWriter), other
    writers need not, so the shared string is written into the file by hand."""
    book = xlsx([PLANE[:5], ["GVA", "CDG", "LONGCELL", "economy", date(2025, 3, 1)]])
    strings = zipfile.ZipFile(io.BytesIO(book)).read("xl/sharedStrings.xml")
    return replaced(book, "xl/sharedStrings.xml",
                    strings.replace(b"LONGCELL", b"x" * 70_000))


REFUSED = {
    "password": (lambda: encrypted(_flights_xlsx()), "is protected with a password"),
    "macros": (lambda: with_macros(_rows(FLIGHTS)), "contains macros; save it from Excel as "
                                                    "an Excel Workbook (.xlsx)"),
    "truncated": (lambda: _flights_xlsx()[:3000], "could not be read: it is damaged or "
                                                  "incomplete"),
    "empty workbook": (lambda: xlsx([]), "The workbook is empty"),
    "header only": (lambda: xlsx([PLANE]), "The file has a header but no data rows."),
    "too many columns": (_too_wide, "Row 2 has more than 500 columns; a file may have at "
                                    "most 500 (CSV_MAX_COLUMNS)"),
    "too long a cell": (_too_long, "Row 2 has a cell longer than 64 KB"),
    "legacy xls": (lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 1000,
                   "Excel 97-2003 workbook (.xls)"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_each_bad_workbook_fails_400_with_its_sentence(api, case):
    make, sentence = REFUSED[case]
    failed = upload(api, make(), filename="bad.xlsx")
    assert (failed["status"], failed["status_code"]) == ("failed", 400), failed
    assert sentence in failed["message"]


def test_an_empty_sheet_named_in_config_fails_400(api):
    book = xlsx(_rows(FLIGHTS), more_sheets={"Empty": []})
    failed = upload(api, book, filename="b.xlsx", sheet="Empty")
    assert (failed["status"], failed["status_code"]) == ("failed", 400), failed
    assert "The sheet 'Empty' is empty" in failed["message"]


# -- the page form ---------------------------------------------------------------------------

def test_an_xlsx_uploaded_through_the_module_page_form_loads(pages, api):
    client = pages("editor")
    form = client.get(f"/modules/{TRAVEL}").text
    assert "CSV file or Excel workbook (.xlsx, .ods)" in form and ".xlsx" in form
    assert "Upload CSV or Excel file" in form
    answer = client.post(f"/modules/{TRAVEL}/upload", {
        "year": "2025", "on_error": "skip", "sheet": "Flights",
        "file": (io.BytesIO(_flights_xlsx(sheet="Flights")), "flights.xlsx")},
        content_type="multipart/form-data")
    assert answer.status_code == 303, answer.text
    final = api.wait(_job_id(answer.headers["Location"]))
    assert final["status"] == "completed" and final["counts"]["inserted"] == 3, final
    assert final["request"]["config"]["sheet"] == "Flights"
    assert final["request"]["upload"]["filename"] == "flights.xlsx"
