"""HR headcount through a real worker into the headcount module, against the HR stand-in."""

from __future__ import annotations

import csv
import io
import json

import psycopg
import pytest

from tests.support.emissions import Plant, wait_recalculated
from webapp.ingestion.providers.hr_api.mapping import POSITION_CATEGORIES
from webapp.standalone.hr_standin.dataset import DEFECT_UNIT, UNITS, expected_defects, matching

HEADCOUNT = 1  # the demo seed's headcount module
UNIT = DEFECT_UNIT  # the demo university's unit: it has one bad record a year


@pytest.fixture
def standin(hr_standin):
    hr_standin.reset()
    records = list(hr_standin.records)
    yield hr_standin
    hr_standin.records = records
    hr_standin.reset()


def _sync(api, filters=None, **config):
    response = api.sync(HEADCOUNT, "hr_api", filters=filters or {}, config=config)
    assert response.status_code == 202, response.get_json()
    return response.get_json()["job_id"]


def _members(db_url, where: str = "TRUE", *params) -> list[tuple]:
    """Stored member rows byte for byte (the JSON as text), in id order."""
    with psycopg.connect(db_url) as conn:
        return conn.execute(
            "SELECT id, data::text, job_id FROM data_entries WHERE module_id = %s "
            f"AND entry_type = 'member' AND {where} ORDER BY id",
            (HEADCOUNT, *params)).fetchall()


def _good(units=None) -> int:
    return sum(1 for record in matching(2025, units) if not record.defect)


def test_a_year_of_people_loads_with_row_errors_for_the_bad_records(api, worker, standin,
                                                                    db_url):
    final = api.wait(_sync(api))
    defects = expected_defects(2025)
    assert (final["status"], final["status_code"]) == ("completed", 207), final
    assert final["counts"]["inserted"] == _good() and final["counts"]["skipped"] == defects
    bad_rows = [n for n, record in enumerate(matching(2025), start=1) if record.defect]
    assert sorted(e["row"] for e in final["errors"]) == bad_rows
    assert {e["column"] for e in final["errors"]} == {"person_id", "fte",
                                                      "position_category"}
    assert any(e["column"] == "fte" and e["value"] == "half" and e["reason"] ==
               "is not a number" for e in final["errors"])
    stored = [json.loads(data) for _, data, _ in _members(db_url)]
    assert {row["unit_code"] for row in stored} == set(UNITS)
    assert {row["position_category"] for row in stored} <= set(POSITION_CATEGORIES)
    # Every page of 50 (the test setting) was asked for once, following next links.
    pages = standin.requests_to("/api/v1/headcount")
    assert len(pages) == -(-len(matching(2025)) // 50) > 1
    assert pages[0].args["year"] == ["2025"] and "unit" not in pages[0].args
    assert [p.args.get("page") for p in pages[1:]] == [[str(n)] for n in
                                                       range(2, len(pages) + 1)]


def test_a_second_sync_replaces_instead_of_duplicating(api, worker, standin, db_url):
    first = api.wait(_sync(api, {"unit_code": UNIT}))
    stored = [data for _, data, _ in _members(db_url)]
    second = api.wait(_sync(api, {"unit_code": UNIT}))
    assert second["status"] == "completed", second
    assert second["counts"]["deleted"] == first["counts"]["inserted"] == _good(UNIT)
    assert [data for _, data, _ in _members(db_url)] == stored


def test_a_unit_sync_replaces_only_that_units_people(api, worker, standin, db_url):
    api.wait(_sync(api))  # every unit
    others = _members(db_url, "data->>'unit_code' <> %s", UNIT)
    assert len(others) == _good() - _good(UNIT) > 0
    # HR now has one person fewer in the unit, and someone else's FTE changed.
    mine = [r for r in standin.records if r.year == 2025 and r.unit == UNIT and not r.defect]
    gone, changed = mine[0], mine[1]
    standin.records = [r for r in standin.records if r is not gone]
    changed.values["fte"] = 0.25
    final = api.wait(_sync(api, {"unit_code": [UNIT]}))
    assert final["status"] == "completed", final
    assert final["counts"]["deleted"] == _good(UNIT)
    assert final["counts"]["inserted"] == _good(UNIT) - 1
    assert _members(db_url, "data->>'unit_code' <> %s", UNIT) == others  # untouched
    now = {json.loads(data)["user_institutional_id"]: json.loads(data)
           for _, data, _ in _members(db_url, "data->>'unit_code' = %s", UNIT)}
    assert gone.values["person_id"] not in now
    assert now[changed.values["person_id"]]["fte"] == 0.25
    assert final["request"]["filters"] == {"unit_code": [UNIT]}
    assert standin.requests_to("/api/v1/headcount")[-1].args["unit"] == [UNIT]


def test_records_outside_the_filter_are_row_errors(api, worker, standin, db_url):
    """An API that ignores the unit filter must not write other units' people: they would
    survive the next sync of their own unit as duplicates."""
    standin.configure(ignore_unit_filter=True)
    final = api.wait(_sync(api, {"unit_code": UNIT}))
    assert final["status"] == "completed", final
    assert final["counts"]["inserted"] == _good(UNIT)
    assert final["errors_total"] == len(matching(2025)) - _good(UNIT)
    outside = [e for e in final["errors"] if "outside this sync's filter" in e["reason"]]
    assert outside and all(e["column"] == "Unit code" and e["value"] != UNIT
                           for e in outside)
    assert {json.loads(data)["unit_code"] for _, data, _ in _members(db_url)} == {UNIT}


def test_hr_members_get_the_same_emissions_as_the_same_people_from_a_csv(
        api, admin_api, worker, standin, db_url):
    with psycopg.connect(db_url) as conn:
        plant = Plant(conn)
        for n, category in enumerate(POSITION_CATEGORIES, start=1):
            plant.factor("headcount", {"headcount_category": category},
                         {"ef_kg_co2eq_per_unit": 100.0 * n})
    loaded = api.wait(_sync(api, {"unit_code": UNIT}))
    wait_recalculated(api, HEADCOUNT, loaded)
    from_hr = _emissions(db_url)
    assert from_hr and all(kg is not None and kg > 0 for kg in from_hr.values())
    # The same people, as a CSV a unit would upload (FTE up to 1: the CSV's bound).
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["name", "position_category", "user_institutional_id", "fte"])
    for _, data, _ in _members(db_url):
        row = json.loads(data)
        if row["fte"] <= 1:
            writer.writerow([row["name"], row["position_category"],
                             row["user_institutional_id"], row["fte"]])
    response = api.sync(HEADCOUNT, "csv_upload", file=out.getvalue().encode(),
                        filename="people.csv")
    assert response.status_code == 202, response.get_json()
    uploaded = api.wait(response.get_json()["job_id"])
    assert uploaded["status"] == "completed", uploaded
    wait_recalculated(api, HEADCOUNT, uploaded)
    from_csv = _emissions(db_url)
    assert from_csv and from_csv == {person: kg for person, kg in from_hr.items()
                                     if person in from_csv}


def _emissions(db_url) -> dict[str, float]:
    with psycopg.connect(db_url) as conn:
        return dict(conn.execute(
            "SELECT data->>'user_institutional_id', kg_co2eq FROM data_entries "
            "WHERE module_id = %s AND entry_type = 'member'", (HEADCOUNT,)).fetchall())


def test_throttling_and_a_transient_503_are_retried(api, worker, standin):
    standin.configure(throttle_page=1, throttle_count=1, retry_after="1",
                      error_page=1, error_count=1)
    final = api.wait(_sync(api, {"unit_code": UNIT}))
    assert final["status"] == "completed", final
    assert len(standin.requests_to("/api/v1/headcount")) == 3


def test_a_permanent_503_fails_the_job_naming_the_status(api, worker, standin, db_url):
    api.wait(_sync(api, {"unit_code": UNIT}))
    stored = _members(db_url)
    standin.configure(error_page=1, error_count=10**6, error_status=503)
    final = api.wait(_sync(api, {"unit_code": UNIT}), timeout=90)
    assert (final["status"], final["status_code"]) == ("failed", 502), final
    assert "HTTP 503 5 times" in final["message"]
    assert _members(db_url) == stored  # a failed sync replaces nothing


def test_wrong_credentials_fail_401(api, worker, standin):
    standin.configure(refuse_credentials=True)
    final = api.wait(_sync(api))
    assert (final["status"], final["status_code"]) == ("failed", 401), final
    assert "invalid_client" in final["message"] and "HR_CLIENT_SECRET" in final["message"]
    assert standin.requests_to("/api/v1/headcount") == []  # refused before any page


def test_an_expired_token_mid_way_is_renewed(api, worker, standin):
    standin.configure(expire_token_after=2)  # a token dies on its third page
    final = api.wait(_sync(api))
    assert final["status"] == "completed", final
    assert final["counts"]["inserted"] == _good()
    pages = -(-len(matching(2025)) // 50)
    assert standin.tokens_issued == 1 + (pages - 1) // 2  # one new token per refusal


def test_no_secret_reaches_jobs_row_errors_or_logs(app, api, worker, standin, db_url):
    standin.configure(refuse_credentials=True)
    api.wait(_sync(api))
    standin.reset()
    standin.configure(expire_token_after=1)
    api.wait(_sync(api))
    secret = app.config["HR_CLIENT_SECRET"]
    with psycopg.connect(db_url) as conn:
        jobs = conn.execute("SELECT row_to_json(j)::text FROM data_ingestion_jobs j").fetchall()
        errors = conn.execute("SELECT string_agg(value || reason, ' ') "
                              "FROM ingestion_row_errors").fetchone()[0] or ""
    dumped = json.dumps(jobs) + errors
    assert secret not in dumped and "Bearer" not in dumped
    tokens = [r.headers["Authorization"].split()[1]
              for r in standin.requests_to("/api/v1/headcount")]
    assert tokens and all(token not in dumped for token in tokens)
    output = worker.output()
    assert secret not in output and all(token not in output for token in tokens)


def test_unconfigured_hr_is_listed_unavailable_and_refused(app, api):
    saved = app.config["HR_CLIENT_SECRET"]
    app.config["HR_CLIENT_SECRET"] = None
    try:
        providers = api.get(f"/providers?module_id={HEADCOUNT}").get_json()["items"]
        hr = next(p for p in providers if p["provider_type"] == "hr_api")
        assert hr["available"] is False and "HR_CLIENT_SECRET" in hr["unavailable_reason"]
        assert hr["filters"][0]["name"] == "unit_code"
        response = api.sync(HEADCOUNT, "hr_api")
        assert response.status_code == 503
        assert "HR_CLIENT_SECRET" in response.get_json()["message"]
    finally:
        app.config["HR_CLIENT_SECRET"] = saved


def test_hr_is_refused_for_travel(api):
    response = api.sync(2, "hr_api")
    assert response.status_code == 422
    assert "tableau_api" in response.get_json()["message"]
