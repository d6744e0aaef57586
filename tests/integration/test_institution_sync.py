"""One feed, many units (SPEC §14) through a real worker: an institution-wide Tableau
sync routes each flight to its centre's lab, in one transaction for every unit, and
the HR headcount provider the same for people."""

from __future__ import annotations

from collections import defaultdict

import psycopg
import pytest

from tests.support.polling import wait_for
from webapp.organisation.demo_university import LABS
from webapp.standalone.hr_standin import dataset as hr_data
from webapp.standalone.tableau_standin.dataset import CENTRES, expected_defects, matching

TRAVEL_2025 = {"provider_type": "tableau_api", "module_type": "travel"}
HEADCOUNT_2025 = {"provider_type": "hr_api", "module_type": "headcount"}


@pytest.fixture
def university(app, tableau_standin, hr_standin):
    """The demo university: a school, 3 institutes and 12 labs coded as the stand-ins'
    centres (two centres, F1733 and F1805, are no unit)."""
    from webapp.organisation.demo_university import seed_demo_university

    tableau_standin.reset()
    hr_standin.reset()
    with app.app_context():
        seed_demo_university()
    yield
    tableau_standin.reset()
    hr_standin.reset()


def _sync(admin_api, body, year=2025, **config):
    response = admin_api.post(f"/sync/institution/{year}", json={**body, "config": config})
    assert response.status_code == 202, response.get_json()
    return response.get_json()["job_id"]


def _stored(db_url, module_type: str, key: str) -> dict[str, list[str]]:
    """{unit code: sorted values of data->>key} of the 2025 entries of that module type."""
    found = defaultdict(list)
    with psycopg.connect(db_url) as conn:
        for code, value in conn.execute(
                "SELECT u.code, e.data->>%s FROM data_entries e "
                "JOIN modules m ON m.id = e.module_id JOIN inventories i ON i.id = m.inventory_id "
                "JOIN units u ON u.id = i.unit_id WHERE m.module_type = %s AND e.year = 2025",
                (key, module_type)):
            found[code].append(value)
    return {code: sorted(values) for code, values in found.items()}


def _expected_tickets() -> dict[str, list[str]]:
    found = defaultdict(list)
    for record in matching(2025):
        if not record.defect and record.centre in LABS:
            found[record.centre].append(record.values["IN_Ticket number"])
    return {code: sorted(values) for code, values in found.items()}


def test_one_sync_routes_every_flight_to_its_centres_lab(admin_api, worker, university,
                                                        db_url):
    final = admin_api.wait(_sync(admin_api, TRAVEL_2025))
    assert final["status"] == "completed", final
    expected = _expected_tickets()
    assert _stored(db_url, "travel", "ticket_number") == expected
    by_unit = final["counts"]["by_unit"]
    assert {code: unit["inserted"] for code, unit in by_unit.items()} == {
        code: len(tickets) for code, tickets in expected.items()}
    assert final["counts"]["inserted"] == sum(len(t) for t in expected.values())
    # A unit's refused rows are counted for it too; rows naming no unit for the job only.
    assert by_unit["F0892"]["skipped"] == expected_defects(2025, "F0892") > 0
    assert final["counts"]["skipped"] == sum(1 for r in matching(2025)
                                             if r.defect or r.centre not in LABS)
    assert final["module_id"] is None and f"for {len(by_unit)} units" in final["message"]
    # Centres that are no unit's code are row errors naming the column and the value.
    unknown = [record for record in matching(2025) if record.centre not in LABS]
    assert unknown and {c for c in CENTRES if c not in LABS} == {"F1733", "F1805"}
    errors = admin_api.get(f"/sync/status/{final['job_id']}").get_json()["errors"]
    routed = [e for e in errors if e["column"] == "Centre financier"]
    assert routed and {e["value"] for e in routed} <= {"F1733", "F1805"}
    assert all(e["reason"] == "is no unit's code" for e in routed)
    # Each touched module gets its recalculation after the load (created in one batch,
    # by the worker once the load has committed).
    touched = sorted(unit["module_id"] for unit in by_unit.values())

    def recalculated() -> bool:
        with psycopg.connect(db_url) as conn:
            return sorted(row[0] for row in conn.execute(
                "SELECT module_id FROM data_ingestion_jobs WHERE target_type = 'emissions' "
                "AND (metadata->'request'->'config'->>'triggered_by')::int = %s",
                (final["job_id"],))) == touched

    wait_for(recalculated, 30, "a recalculation of every module the load changed")


def test_a_resync_replaces_each_units_rows_and_undo_restores_them(admin_api, api, worker,
                                                                  university, db_url):
    # F0892's own sync first, of its centre only: the institution sync replaces it.
    own = api.wait(api.sync(2, "tableau_api",
                            filters={"centre_financier": ["F0892"]}).get_json()["job_id"])
    assert own["status"] == "completed", own
    before = _stored(db_url, "travel", "ticket_number")
    assert list(before) == ["F0892"]
    first = admin_api.wait(_sync(admin_api, TRAVEL_2025))
    again = admin_api.wait(_sync(admin_api, TRAVEL_2025))
    assert again["counts"]["by_unit"]["F0892"]["deleted"] == len(before["F0892"])
    assert all(unit["deleted"] == unit["inserted"]
               for unit in again["counts"]["by_unit"].values())
    assert _stored(db_url, "travel", "ticket_number") == _expected_tickets()
    undone = admin_api.post(f"/sync/undo/{again['job_id']}")
    assert undone.status_code == 202, undone.get_json()
    assert admin_api.wait(undone.get_json()["job_id"])["status"] == "completed"
    assert _stored(db_url, "travel", "ticket_number") == _expected_tickets()  # first's
    assert admin_api.wait(admin_api.post(f"/sync/undo/{first['job_id']}").get_json()[
        "job_id"])["status"] == "completed"
    assert _stored(db_url, "travel", "ticket_number") == before  # F0892's own, alone


def test_all_or_nothing_across_units(admin_api, worker, university, db_url, hr_standin):
    admin_api.wait(_sync(admin_api, HEADCOUNT_2025))
    people = _stored(db_url, "headcount", "user_institutional_id")
    assert len(people) == len([u for u in hr_data.UNITS if u in LABS])
    # The HR API fails for good on the last page: every unit's earlier pages were
    # staged, and all of it is rolled back.
    pages = -(-len(hr_data.matching(2025)) // 50)
    hr_standin.configure(error_page=pages, error_count=99)
    failed = admin_api.wait(_sync(admin_api, HEADCOUNT_2025))
    assert failed["status"] == "failed" and failed["status_code"] == 502, failed
    assert _stored(db_url, "headcount", "user_institutional_id") == people
    # Abort on the first bad record: nothing changes either.
    hr_standin.reset()
    aborted = admin_api.wait(_sync(admin_api, HEADCOUNT_2025, on_error="abort"))
    assert aborted["status"] == "failed" and aborted["status_code"] == 422, aborted
    assert _stored(db_url, "headcount", "user_institutional_id") == people


def test_a_unit_the_source_no_longer_lists_is_emptied_by_an_unfiltered_sync_only(
        admin_api, worker, university, db_url):
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO data_entries (inventory_id, module_id, year, entry_type, data, "
            "source) SELECT i.id, m.id, 2025, 'plane', '{\"ticket_number\": \"OLD\"}', "
            "'tableau_api' FROM units u JOIN inventories i ON i.unit_id = u.id "
            "AND i.year = 2025 JOIN modules m ON m.inventory_id = i.id "
            "AND m.module_type = 'travel' WHERE u.code = 'SCI'")
    filtered = admin_api.wait(_sync(admin_api, {**TRAVEL_2025, "filters": {
        "centre_financier": ["F0892", "F0901"]}}))
    assert set(filtered["counts"]["by_unit"]) == {"F0892", "F0901"}
    assert _stored(db_url, "travel", "ticket_number")["SCI"] == ["OLD"]
    whole = admin_api.wait(_sync(admin_api, TRAVEL_2025))
    assert whole["counts"]["by_unit"]["SCI"] == {
        "inserted": 0, "deleted": 1, "skipped": 0,
        "module_id": whole["counts"]["by_unit"]["SCI"]["module_id"]}
    assert "SCI" not in _stored(db_url, "travel", "ticket_number")


def test_inactive_units_rows_are_row_errors(app, admin_api, worker, university, db_url,
                                            tmp_path):
    from tests.integration.test_units import run_import

    assert run_import(app, tmp_path, "code,name,parent_code,active\n"
                      "F1620,A closed lab,SCI-PHYS,no\n").exit_code == 0
    final = admin_api.wait(_sync(admin_api, TRAVEL_2025))
    assert "F1620" not in final["counts"]["by_unit"]
    errors = admin_api.get(f"/sync/status/{final['job_id']}").get_json()["errors"]
    assert any(e["value"] == "F1620" and e["reason"] == "is an inactive unit: its rows "
               "are not loaded" for e in errors)


def test_who_may_and_what_waits(admin_api, api, university, idle_queue):
    refused = api.post("/sync/institution/2025", json=TRAVEL_2025)  # an editor of F0892
    assert refused.status_code == 403
    assert admin_api.post("/sync/institution/2031", json=TRAVEL_2025).status_code == 422
    synthetic = admin_api.post("/sync/institution/2025", json={
        "provider_type": "synthetic", "module_type": "travel"})
    assert synthetic.status_code == 422 and "one unit's module at a time" in \
        synthetic.get_json()["message"]
    pending = _sync(admin_api, TRAVEL_2025)  # stays pending: nobody listens
    busy = api.sync(2, "tableau_api", filters={"centre_financier": ["F0892"]})
    assert busy.status_code == 409 and busy.get_json()["active_job_id"] == pending
    assert api.get(f"/sync/status/{pending}").status_code == 404  # an admin's job
    cancelled = admin_api.post(f"/sync/cancel/{pending}")
    assert cancelled.get_json()["status"] == "cancelled"
    assert api.sync(2, "tableau_api", filters={"centre_financier": ["F0892"]}
                    ).status_code == 202
    second = admin_api.post("/sync/institution/2025", json=TRAVEL_2025)
    assert second.status_code == 409  # now F0892's own load holds its slice


def test_a_units_members_see_their_share_of_the_job(app, admin_api, worker, university,
                                                     create_user, api_token, db_url):
    from tests.support.accounts import ApiClient
    from tests.support.web import logged_in_client
    from webapp.organisation.demo_university import INSTITUTES

    final = admin_api.wait(_sync(admin_api, TRAVEL_2025))
    job_id, by_unit = final["job_id"], final["counts"]["by_unit"]
    lab = ApiClient(app.test_client(), api_token(create_user("editor")))  # of F0892
    share = lab.get(f"/sync/status/{job_id}").get_json()
    assert share["counts"] == {"by_unit": {"F0892": by_unit["F0892"]},
                               "inserted": by_unit["F0892"]["inserted"],
                               "deleted": by_unit["F0892"]["deleted"],
                               "skipped": by_unit["F0892"]["skipped"]}
    assert share["errors"] == [] and share["errors_total"] == 0
    history = lab.get("/sync/history/2").get_json()["items"]  # F0892's travel module
    assert job_id in [item["job_id"] for item in history]
    # An institute's member sees its labs' lines; nobody but an admin acts on the job.
    institute = next(code for code, (_, labs) in INSTITUTES.items()
                     if "F0892" in dict(labs))
    manager = ApiClient(app.test_client(), api_token(create_user("manager", unit=institute)))
    labs = set(dict(INSTITUTES[institute][1])) & set(by_unit)
    assert set(manager.get(f"/sync/status/{job_id}").get_json()["counts"]["by_unit"]) == labs
    assert lab.post(f"/sync/undo/{job_id}").status_code == 403
    outsider = ApiClient(app.test_client(), api_token(create_user("editor", unit=None)))
    assert outsider.get(f"/sync/status/{job_id}").status_code == 404
    viewer = logged_in_client(app, create_user("viewer"))
    module_page = viewer.get("/modules/2")  # its history lists the institution's job
    assert module_page.status_code == 200 and f"#{job_id}" in module_page.text
    page = viewer.get(f"/jobs/{job_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f'id="job-{job_id}-units"' in html and ">F0892</a>" in html
    assert ">F0901</a>" not in html
    admin_page = logged_in_client(app, create_user("admin")).get(f"/jobs/{job_id}").text
    assert ">F0901</a>" in admin_page


def test_a_schedule_syncs_every_unit(app, admin_api, api, worker, university, db_url):
    from datetime import datetime, timedelta

    from webapp.schedules.firing import fire_due

    body = {**TRAVEL_2025, "year": 2025, "cron": "daily", "timezone": "Europe/Zurich"}
    assert api.post("/schedules", json=body).status_code == 403  # an admin's to make
    bad = admin_api.post("/schedules", json={**body, "provider_type": "synthetic"})
    assert bad.status_code == 422
    created = admin_api.post("/schedules", json=body)
    assert created.status_code == 201, created.get_json()
    schedule = created.get_json()
    assert (schedule["module_id"], schedule["module_type"]) == (None, "travel")
    assert api.get(f"/schedules/{schedule['id']}").status_code == 404
    # Its due time fires an institution-wide load (time injected, as in test_schedules).
    due = datetime.fromisoformat(schedule["next_run_at"]) + timedelta(minutes=1)
    with app.app_context():
        assert len(fire_due(due)) == 1
    with psycopg.connect(db_url) as conn:
        [(job_id,)] = conn.execute(
            "SELECT id FROM data_ingestion_jobs WHERE (metadata->>'schedule_id')::int = %s",
            (schedule["id"],)).fetchall()
    final = admin_api.wait(job_id)
    assert final["status"] == "completed" and final["counts"]["by_unit"], final
    assert _stored(db_url, "travel", "ticket_number") == _expected_tickets()


def test_cancelling_a_running_sync_writes_nothing(admin_api, worker, university, db_url,
                                                 hr_standin):
    admin_api.wait(_sync(admin_api, HEADCOUNT_2025))
    people = _stored(db_url, "headcount", "user_institutional_id")
    hr_standin.configure(delay_s=0.5)  # each page takes a while: time to cancel
    job_id = _sync(admin_api, HEADCOUNT_2025)
    admin_api.wait(job_id, until=("processing",))
    wait_for(lambda: (admin_api.get(f"/sync/status/{job_id}").get_json()["progress"]
                      .get("fetched") or 0) > 0, 30, "a first page fetched")
    assert admin_api.post(f"/sync/cancel/{job_id}").get_json()["status"] == "cancelled"
    hr_standin.reset()
    final = admin_api.wait(job_id)
    assert final["status"] == "cancelled", final
    assert _stored(db_url, "headcount", "user_institutional_id") == people
