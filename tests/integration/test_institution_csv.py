"""One file, many units (SPEC §14) through a real worker: an entries CSV uploaded for the
whole institution names each row's unit in a `unit_code` column and each row goes to that
unit's module; the rest of the file is validated exactly as a unit's own CSV."""

from __future__ import annotations

import io
import json

import psycopg
import pytest

from tests.integration.test_csv_ingestion import PLANE_HEADER
from tests.integration.test_institution_sync import _stored
from tests.integration.test_units import run_import

HEADER = PLANE_HEADER + ",unit_code"


@pytest.fixture
def university(app):
    """The demo university: a school, 3 institutes and their 12 labs (F0892 ... F1620),
    each with an open 2025 travel module."""
    from webapp.organisation.demo_university import seed_demo_university

    with app.app_context():
        seed_demo_university()


def _upload(admin_api, content: str, *, year: int = 2025, provider_type="csv_upload",
            **config):
    return admin_api.post(f"/sync/institution/{year}", content_type="multipart/form-data",
                          data={"provider_type": provider_type, "module_type": "travel",
                                "config": json.dumps(config),
                                "file": (io.BytesIO(content.encode()), "flights.csv")})


def _sync(admin_api, content: str, **config) -> dict:
    response = _upload(admin_api, content, **config)
    assert response.status_code == 202, response.get_json()
    return admin_api.wait(response.get_json()["job_id"])


def _flight(ticket: int, unit_code: str, date: str = "2025-03-01") -> str:
    return f"GVA,CDG,{ticket},economy,{date},{unit_code}"


def _file(*rows: str, header: str = HEADER) -> str:
    return "\n".join((header, *rows)) + "\n"


def test_each_row_goes_to_its_units_module_and_bad_rows_say_why(admin_api, worker,
                                                                 university, db_url):
    content = _file(_flight(1, "F0892"), _flight(2, "F0892"), _flight(3, "F1107"),
                    _flight(4, "NOPE"),  # row 5: no unit has this code
                    _flight(5, ""),  # row 6: names no unit
                    _flight(6, "F0901", date="2025-13-45"),  # row 7: as a unit's CSV says
                    _flight(7, "SCI"))  # the school has its own travel module
    final = _sync(admin_api, content, on_error="skip")
    assert final["status"] == "completed", final
    assert _stored(db_url, "travel", "user_institutional_id") == {
        "F0892": ["1", "2"], "F1107": ["3"], "SCI": ["7"]}
    assert _stored(db_url, "travel", "unit_code") == {  # kept in each entry's data
        "F0892": ["F0892", "F0892"], "F1107": ["F1107"], "SCI": ["SCI"]}
    by_unit = final["counts"]["by_unit"]
    assert {code: unit["inserted"] for code, unit in by_unit.items()} == {
        "F0892": 2, "F1107": 1, "SCI": 1}
    assert final["counts"]["skipped"] == 3
    errors = {(e["row"], e["column"], e["value"], e["reason"]) for e in final["errors"]}
    assert errors == {
        (5, "unit_code", "NOPE", "is no unit's code"),
        (6, "unit_code", "", "is required"),
        (7, "departure_date", "2025-13-45", _unit_csv_reason("departure_date", "2025-13-45"))}


def _unit_csv_reason(column: str, value: str) -> str:
    """What a unit's own CSV says of the same cell (the same schema, the same words)."""
    from webapp.ingestion.providers.csv_upload.schemas import ENTRY_SCHEMAS
    from webapp.ingestion.providers.csv_upload.validation import RowValidator

    validator = RowValidator(ENTRY_SCHEMAS["travel", "plane"])
    _, [error] = validator.validate(2, {"origin_iata": "GVA", "destination_iata": "CDG",
                                        "user_institutional_id": "1",
                                        "cabin_class": "economy", "departure_date": "",
                                        column: value})
    assert error.column == column
    return error.reason


def test_a_file_without_unit_code_fails_saying_so_and_changes_nothing(admin_api, worker,
                                                                       university, db_url):
    kept = _sync(admin_api, _file(_flight(1, "F0892")))
    assert kept["status"] == "completed", kept
    final = _sync(admin_api, _file("GVA,CDG,9,economy,2025-03-01", header=PLANE_HEADER))
    assert final["status"] == "failed" and final["status_code"] == 400, final
    assert "needs a unit_code column naming each row's unit" in final["message"]
    assert _stored(db_url, "travel", "user_institutional_id") == {"F0892": ["1"]}


def test_an_inactive_units_row_aborts_by_default_a_retry_reads_the_same_file_undo_too(
        app, admin_api, worker, university, db_url, tmp_path):
    assert run_import(app, tmp_path, "code,name,parent_code,active\n"
                      "F1620,Astrophysics Lab,SCI-PHYS,no\n").exit_code == 0
    failed = _sync(admin_api, _file(_flight(1, "F0892"), _flight(2, "F1620")))
    assert failed["status"] == "failed" and failed["status_code"] == 422, failed
    assert failed["errors"] == [{"row": 3, "column": "unit_code", "value": "F1620",
                                 "reason": "is an inactive unit: its rows are not loaded"}]
    assert _stored(db_url, "travel", "user_institutional_id") == {}
    # The lab reopens: the retry loads the file the failed job stored, row for row.
    uploads_before = _uploads(db_url)
    assert run_import(app, tmp_path, "code,name,parent_code,active\n"
                      "F1620,Astrophysics Lab,SCI-PHYS,yes\n").exit_code == 0
    retried = admin_api.post(f"/sync/retry/{failed['job_id']}")
    assert retried.status_code == 202, retried.get_json()
    final = admin_api.wait(retried.get_json()["job_id"])
    assert final["status"] == "completed", final
    assert final["request"]["upload"] == failed["request"]["upload"]
    assert final["request"]["module_type"] == "travel" and final["module_id"] is None
    assert _stored(db_url, "travel", "user_institutional_id") == {
        "F0892": ["1"], "F1620": ["2"]}
    assert _uploads(db_url) == uploads_before  # stored once, read twice
    undone = admin_api.post(f"/sync/undo/{final['job_id']}")
    assert undone.status_code == 202, undone.get_json()
    assert admin_api.wait(undone.get_json()["job_id"])["status"] == "completed"
    assert _stored(db_url, "travel", "user_institutional_id") == {}


def _uploads(db_url) -> int:
    with psycopg.connect(db_url) as conn:
        return conn.execute("SELECT count(*) FROM uploads").fetchone()[0]


def test_requests_a_csv_sync_refuses_before_any_job(admin_api, university, idle_queue,
                                                    db_url):
    no_file = admin_api.post("/sync/institution/2025", json={
        "provider_type": "csv_upload", "module_type": "travel"})
    assert no_file.status_code == 400
    assert ("needs a CSV file or an Excel workbook in the 'file' field"
            in no_file.get_json()["message"])
    needless = _upload(admin_api, _file(_flight(1, "F0892")), provider_type="tableau_api")
    assert needless.status_code == 400
    assert "send no file" in needless.get_json()["message"]
    preview = _upload(admin_api, _file(_flight(1, "F0892")), dry_run=True)
    assert preview.status_code == 422
    assert admin_api.post("/sync/institution/2025", data="x",
                          content_type="text/plain").status_code == 415
    assert _uploads(db_url) == 0  # a refused request stores no file


def test_the_api_document_describes_the_form(admin_api):
    post = admin_api.get("/openapi.json").get_json()["paths"]["/sync/institution/{year}"][
        "post"]
    form = post["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert form["required"] == ["provider_type", "module_type", "file"]
    assert "unit_code" in form["properties"]["file"]["description"]
    assert "413" in post["responses"]  # the file's size limit


def test_a_units_own_csv_still_ignores_a_unit_code_column(api, worker, db_url):
    final = api.wait(api.sync(2, "csv_upload", file=_file(_flight(1, "ELSEWHERE")).encode(),
                              filename="flights.csv").get_json()["job_id"])
    assert final["status"] == "completed" and final["counts"]["inserted"] == 1, final
    with psycopg.connect(db_url) as conn:
        [data] = conn.execute("SELECT data FROM data_entries WHERE module_id = 2").fetchone()
    assert data["user_institutional_id"] == "1" and "unit_code" not in data
