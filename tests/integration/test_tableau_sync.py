"""Tableau flights through a real worker, against the stand-in speaking Tableau's protocol."""

from __future__ import annotations

import json

import psycopg
import pytest

from webapp.standalone.tableau_standin.dataset import expected_defects, matching

CENTRE = "F0892"


@pytest.fixture
def standin(tableau_standin):
    tableau_standin.reset()
    yield tableau_standin
    tableau_standin.reset()


def _sync(api, filters=None, **config):
    response = api.sync(2, "tableau_api", filters=filters or {}, config=config)
    assert response.status_code == 202, response.get_json()
    return response.get_json()["job_id"]


def _stored_tickets(api) -> list[str]:
    items = api.get("/modules/2/entries?entry_type=plane&limit=500").get_json()["items"]
    return sorted(item["data"]["ticket_number"] for item in items)


def test_year_and_centre_filters_give_exactly_the_expected_rows(api, worker, standin):
    final = api.wait(_sync(api, {"centre_financier": CENTRE}))
    good = [record.values for record in matching(2025, CENTRE) if not record.defect]
    defects = expected_defects(2025, CENTRE)
    assert good and defects  # the dataset must exercise both paths
    assert final["status"] == "completed", final
    assert final["counts"]["inserted"] == len(good)
    assert final["counts"]["skipped"] == defects
    assert final["status_code"] == (207 if defects else 200)
    assert final["errors_total"] >= defects
    assert _stored_tickets(api) == sorted(row["IN_Ticket number"] for row in good)
    # The filters went to Tableau, not applied after downloading everything.
    query = standin.requests_to("/query-datasource")[-1].json["query"]
    kinds = {f["filterType"]: f for f in query["filters"]}
    assert kinds["MATCH"]["startsWith"] == "2025"
    assert kinds["SET"]["values"] == [CENTRE]
    assert standin.requests_to("/auth/signout"), "the provider must sign out"


def test_second_sync_replaces_instead_of_duplicating(api, worker, standin):
    api.wait(_sync(api, {"centre_financier": CENTRE}))
    first = _stored_tickets(api)
    second = api.wait(_sync(api, {"centre_financier": CENTRE}))
    assert second["counts"]["deleted"] == len(first)
    assert _stored_tickets(api) == first


def test_a_sync_without_one_valid_row_keeps_the_stored_rows(api, worker, standin):
    """Skip mode is the API default; a source whose every row is invalid still fails 422
    and replaces nothing (SPEC §12, continued)."""
    first = api.wait(_sync(api, {"centre_financier": CENTRE}))
    assert first["status"] == "completed" and first["counts"]["inserted"] > 0
    stored = _stored_tickets(api)
    rows = standin.rows
    standin.rows = [{**row, "IN_Segment class": "spaceship"} for row in rows]
    try:
        final = api.wait(_sync(api, {"centre_financier": CENTRE}))
    finally:
        standin.rows = rows
    assert (final["status"], final["status_code"]) == ("failed", 422), final
    assert "no row is valid" in final["message"]
    assert final["errors_total"] >= len(matching(2025, CENTRE))  # a row may break twice
    assert f"{len(matching(2025, CENTRE))} invalid rows" in final["message"]
    assert _stored_tickets(api) == stored


def test_refused_sign_in_fails_401_naming_tableaus_code(api, worker, standin):
    standin.configure(refuse_signin=True)
    final = api.wait(_sync(api))
    assert final["status"] == "failed" and final["status_code"] == 401
    assert "401001" in final["message"]
    assert api.get("/modules/2/entries").get_json()["total"] == 0


def test_throttling_is_retried_after_retry_after(api, worker, standin):
    standin.configure(throttle=2, retry_after=1)
    final = api.wait(_sync(api, {"centre_financier": CENTRE}))
    assert final["status"] == "completed", final


def test_server_errors_exhaust_retries_then_fail_502(api, worker, standin):
    standin.configure(server_errors=50, server_error_status=503)
    final = api.wait(_sync(api), timeout=90)
    assert final["status"] == "failed" and final["status_code"] == 502
    assert "503" in final["message"]


def test_unreachable_tableau_fails_503(api, worker, standin):
    standin.stop()
    try:
        final = api.wait(_sync(api))
    finally:
        standin.start()  # same port: the workers' settings still point here
    assert final["status"] == "failed" and final["status_code"] == 503


def test_slow_tableau_fails_504(api, worker, standin):
    standin.configure(delay_s=5)  # the test workers time out after 3 s
    final = api.wait(_sync(api), timeout=90)
    assert final["status"] == "failed" and final["status_code"] == 504


def test_expired_token_signs_in_again_once(api, worker, standin):
    standin.configure(expire_token_after=1)
    final = api.wait(_sync(api, {"centre_financier": CENTRE}))
    assert final["status"] == "completed", final
    assert len(standin.requests_to("/auth/signin")) == 2


def test_missing_caption_is_named(api, worker, standin):
    standin.configure(drop_caption="IN_Segment class")
    final = api.wait(_sync(api))
    assert final["status"] == "failed"
    assert "IN_Segment class" in final["message"]


def test_no_secret_reaches_jobs_logs_or_pages(app, api, worker, standin, db_url,
                                              create_user):
    standin.configure(refuse_signin=True)
    api.wait(_sync(api))
    standin.reset()
    api.wait(_sync(api, {"centre_financier": CENTRE}))
    secret = app.config["TABLEAU_CONNECTED_APP_SECRET_VALUE"]
    with psycopg.connect(db_url) as conn:
        jobs = conn.execute("SELECT row_to_json(j)::text FROM data_ingestion_jobs j").fetchall()
        errors = conn.execute("SELECT string_agg(value || reason, ' ') "
                              "FROM ingestion_row_errors").fetchone()[0] or ""
    dumped = json.dumps(jobs) + errors
    assert secret not in dumped and "X-Tableau-Auth" not in dumped
    assert secret not in worker.output()
    tokens = [r.headers.get("X-Tableau-Auth") for r in standin.requests_to("/query-datasource")]
    assert all(token and token not in worker.output() for token in tokens)
    viewer = create_user("viewer")
    client = app.test_client()
    client.post("/login", data={"email": viewer["email"], "password": viewer["password"]})
    for path in ["/", "/modules/2", "/jobs/1", "/jobs/2"]:
        page = client.get(path).get_data(as_text=True)
        assert secret not in page, path


def test_unconfigured_tableau_is_listed_unavailable_and_refused(app, api):
    saved = app.config["TABLEAU_SERVER_URL"]
    app.config["TABLEAU_SERVER_URL"] = None
    try:
        providers = api.get("/providers?module_id=2").get_json()["items"]
        tableau = next(p for p in providers if p["provider_type"] == "tableau_api")
        assert tableau["available"] is False
        assert "TABLEAU_SERVER_URL" in tableau["unavailable_reason"]
        response = api.sync(2, "tableau_api")
        assert response.status_code == 503
        assert "TABLEAU_SERVER_URL" in response.get_json()["message"]
    finally:
        app.config["TABLEAU_SERVER_URL"] = saved


def test_tableau_is_refused_for_headcount_with_valid_providers(api):
    response = api.sync(1, "tableau_api")
    assert response.status_code == 422
    assert "csv_upload" in response.get_json()["message"]
