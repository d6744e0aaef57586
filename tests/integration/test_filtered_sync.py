"""Filtered syncs replace only their scope (issue 11), through real workers: Tableau
flights from the stand-in by centre financier, and the synthetic provider's `centre`."""

from __future__ import annotations

import psycopg
import pytest

from webapp.standalone.tableau_standin.dataset import matching

CENTRE = "F0892"


@pytest.fixture
def standin(tableau_standin):
    tableau_standin.reset()
    yield tableau_standin
    tableau_standin.reset()


def _sync(api, filters=None, provider="tableau_api", **config):
    response = api.sync(2, provider, config=config, filters=filters)
    assert response.status_code == 202, response.get_json()
    final = api.wait(response.get_json()["job_id"])
    assert final["status"] == "completed", final
    return final


def _planes(db_url, where: str = "TRUE", *params) -> list[tuple]:
    """Stored plane rows, byte for byte (the JSON as text), in id order."""
    with psycopg.connect(db_url) as conn:
        return conn.execute(
            "SELECT id, data::text, kg_co2eq, job_id, created_at FROM data_entries "
            f"WHERE module_id = 2 AND entry_type = 'plane' AND {where} ORDER BY id",
            params).fetchall()


def _good(centres=None) -> int:
    return sum(1 for record in matching(2025, centres) if not record.defect)


def _jobs(db_url) -> int:
    with psycopg.connect(db_url) as conn:
        # Loads only: each completed load queues a recalculation of its own.
        return conn.execute("SELECT count(*) FROM data_ingestion_jobs "
                            "WHERE target_type <> 'emissions'").fetchone()[0]


def test_syncing_one_centre_leaves_the_other_centres_byte_identical(api, worker, standin,
                                                                    db_url):
    _sync(api)  # every centre
    others = _planes(db_url, "data->>'unit_institutional_id' <> %s", CENTRE)
    assert len(others) == _good() - _good(CENTRE) and others
    final = _sync(api, {"centre_financier": [CENTRE]})
    assert final["counts"]["deleted"] == _good(CENTRE)
    assert final["counts"]["inserted"] == _good(CENTRE)
    assert _planes(db_url, "data->>'unit_institutional_id' <> %s", CENTRE) == others
    mine = _planes(db_url, "data->>'unit_institutional_id' = %s", CENTRE)
    assert len(mine) == _good(CENTRE) and {row[3] for row in mine} == {final["job_id"]}
    assert final["request"]["filters"] == {"centre_financier": [CENTRE]}


def test_a_made_up_centre_deletes_nothing(api, worker, standin, db_url):
    _sync(api)
    before = _planes(db_url)
    final = _sync(api, {"centre_financier": "F9999"})  # the plan's single-string form
    assert final["counts"] == {"skipped": 0, "inserted": 0, "updated": 0, "deleted": 0}
    assert final["request"]["filters"] == {"centre_financier": ["F9999"]}
    assert _planes(db_url) == before


def test_an_unfiltered_sync_still_replaces_every_centre(api, worker, standin, db_url):
    _sync(api, {"centre_financier": [CENTRE, "F0901"]})
    filtered = _planes(db_url)
    assert len(filtered) == _good([CENTRE, "F0901"])
    final = _sync(api)
    assert final["counts"]["deleted"] == len(filtered)
    rows = _planes(db_url)
    assert len(rows) == _good() and {row[3] for row in rows} == {final["job_id"]}
    tickets = [row[1] for row in rows]
    assert len(set(tickets)) == len(tickets)  # no duplicate survived from the first sync


def test_resyncing_a_centre_is_idempotent(api, worker, standin, db_url):
    _sync(api)
    first = _sync(api, {"centre_financier": [CENTRE]})
    data = sorted(row[1] for row in _planes(db_url))
    second = _sync(api, {"centre_financier": [f" {CENTRE} ", CENTRE]})  # normalised
    assert second["request"]["filters"] == {"centre_financier": [CENTRE]}
    assert second["counts"]["deleted"] == first["counts"]["inserted"] == _good(CENTRE)
    assert sorted(row[1] for row in _planes(db_url)) == data
    assert len(_planes(db_url)) == _good()


@pytest.mark.parametrize("filters,named", [
    ({"centre_financier": 12345}, "centre_financier"),
    ({"centre_financier": {"a": [1]}}, "centre_financier"),
    ({"centre_financier": [1, 2]}, "centre_financier"),
    ({"centre_financier": []}, "centre_financier"),
    ({"centre_financier": [""]}, "centre_financier"),
    ({"centre_financier": ["F0892'; DROP"]}, "centre_financier"),
    ({"centre_financier": [f"F{n:05d}" for n in range(101)]}, "at most 100"),
    ({"centre_financier": ["F" * 41]}, "at most 40 characters"),
    ({"centre": ["F0892"]}, "'centre'"),
    ({"x" * 400_000: 1}, "at most 16 KB"),  # refused for its size before its key is read
    (["centre_financier", "F0892"], "JSON object"),
    ("F0892", "JSON object"),
    (7, "JSON object"),
])
def test_bad_filters_are_refused_422_before_a_job_exists(api, standin, db_url, filters,
                                                         named):
    response = api.sync(2, "tableau_api", filters=filters)
    assert response.status_code == 422, response.get_json()
    body = response.get_json()
    assert body["error"] and named in body["message"]
    assert len(body["message"]) <= 500
    assert _jobs(db_url) == 0


def test_the_form_splits_commas_the_api_does_not(api, standin, db_url):
    response = api.sync(2, "tableau_api", filters={"centre_financier": "F0892, F0901"})
    assert response.status_code == 422  # a comma is not part of a centre's code
    assert _jobs(db_url) == 0


def test_a_fetched_row_outside_the_filter_is_a_row_error_never_written(api, worker, db_url):
    _sync(api, {"centre": ["B"]}, provider="synthetic", rows=5)
    _sync(api, {"centre": ["A"]}, provider="synthetic", rows=5)
    # The source ignores the filter for row 2: it must not be written as centre B's.
    final = _sync(api, {"centre": ["A"]}, provider="synthetic", rows=5, stray_centre="B")
    assert final["status_code"] == 207 and final["counts"]["skipped"] == 1
    assert final["counts"]["deleted"] == 5 and final["counts"]["inserted"] == 4
    [error] = final["errors"]
    assert error["row"] == 2 and error["column"] == "Centre" and error["value"] == "B"
    assert "outside this sync's filter centre (A)" in error["reason"]
    with psycopg.connect(db_url) as conn:
        centres = dict(conn.execute(
            "SELECT data->>'centre', count(*) FROM data_entries GROUP BY 1").fetchall())
    assert centres == {"A": 4, "B": 5}


def test_providers_list_their_declared_filters(api):
    providers = api.get("/providers?module_id=2").get_json()["items"]
    tableau = next(p for p in providers if p["provider_type"] == "tableau_api")
    [centre] = tableau["filters"]
    assert centre["name"] == "centre_financier" and centre["label"] == "Centre financier"
    assert centre["type"] and centre["help"]
    csv = next(p for p in providers if p["provider_type"] == "csv_upload")
    assert csv["filters"] == []


def test_openapi_describes_the_declared_filters(api):
    from openapi_spec_validator import validate

    spec = api.get("/openapi.json").get_json()
    validate(spec)
    filters = spec["components"]["schemas"]["SyncRequest"]["properties"]["filters"]
    assert filters["additionalProperties"] is False
    centre = filters["properties"]["centre_financier"]
    assert {s["type"] for s in centre["oneOf"]} == {"string", "array"}
    assert "filters" in spec["components"]["schemas"]["Provider"]["properties"]


def test_the_sync_form_offers_the_declared_filters(app, create_user):
    from tests.support.web import logged_in_client

    page = logged_in_client(app, create_user("editor")).get("/modules/2").get_data(
        as_text=True)
    assert 'name="filter_centre_financier"' in page
    assert "Centre financier" in page and "comma-separated" in page


def test_the_sync_form_sends_comma_separated_centres_as_a_list(app, create_user, api,
                                                               worker, standin, db_url):
    from tests.support.web import csrf_token, logged_in_client

    client = logged_in_client(app, create_user("editor"))
    form = {"csrf_token": csrf_token(client), "provider_type": "tableau_api",
            "year": "2025", "filter_centre_financier": "F0901, F0892,,"}
    answer = client.post("/modules/2/sync", data=form)
    assert answer.status_code == 303, answer.get_data(as_text=True)[:500]
    final = api.wait(int(answer.headers["Location"].rsplit("#job-", 1)[1]))
    assert final["request"]["filters"] == {"centre_financier": ["F0892", "F0901"]}
    assert final["counts"]["inserted"] == _good(["F0892", "F0901"])
    refused = client.post("/modules/2/sync", data={**form,
                                                   "filter_centre_financier": "F0892; x"})
    assert refused.status_code == 422
    assert "filters.centre_financier" in refused.get_data(as_text=True)
    assert _jobs(db_url) == 1
