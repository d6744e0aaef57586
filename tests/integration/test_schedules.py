"""Scheduled syncs (SPEC §11) through the real API, real PostgreSQL and real workers:
one job per due time however many processes fire, skipped while busy, missed due times
collapsed to one, deleted or disabled schedules silent, the API's refusals and roles
(the failure webhook: test_schedule_webhooks.py). Time is injected
(`fire_due(now=...)`) except in the worker tests."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from tests.support.schedules import (
    DAILY,
    TRAVEL,
    create,
    make_due,
    runs,
    scheduled_jobs,
    start_workers,
    wait_scheduler_rounds,
)


def _fire(app, now: datetime | None = None) -> list[int]:
    from webapp.schedules.firing import fire_due

    with app.app_context():
        return fire_due(now)


def _after_next_run(api, db_url: str, schedule: dict, delay: timedelta) -> datetime:
    """A time `delay` after the schedule's next run, to fire at, once that run is moved
    ten days ahead. The tests that inject time keep due times far from the real clock: a
    live worker's scheduler loop (every worker runs one) would otherwise fire first."""
    make_due(db_url, schedule["id"], -timedelta(days=10))
    moved = api.get(f"/schedules/{schedule['id']}").get_json()
    return datetime.fromisoformat(moved["next_run_at"]) + delay


# -- the API -------------------------------------------------------------------------------

def test_create_read_list_patch_delete_each_audited(api, db_url):
    created = create(api)
    assert created["enabled"] is True and created["cron"] == "0 3 * * *"
    assert created["last_run_at"] is None and created["last_outcome"] is None
    next_run = datetime.fromisoformat(created["next_run_at"])
    assert next_run > datetime.now(UTC)
    assert next_run.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Zurich")).hour == 3
    assert api.get(f"/schedules/{created['id']}").get_json() == created
    listed = api.get(f"/schedules?module_id={TRAVEL}").get_json()
    assert listed["total"] == 1 and listed["items"][0]["id"] == created["id"]
    assert api.get("/schedules?module_id=1").get_json()["total"] == 0

    patched = api.client.patch(f"/api/v1/schedules/{created['id']}", headers=api.headers,
                               json={"cron": "30 5 * * 1-5", "timezone": "UTC",
                                     "enabled": False})
    assert patched.status_code == 200, patched.get_json()
    body = patched.get_json()
    assert (body["cron"], body["timezone"], body["enabled"]) == ("30 5 * * 1-5", "UTC", False)
    assert datetime.fromisoformat(body["next_run_at"]).strftime("%H:%M") == "05:30"

    assert api.client.delete(f"/api/v1/schedules/{created['id']}",
                             headers=api.headers).status_code == 204
    assert api.get(f"/schedules/{created['id']}").status_code == 404
    with psycopg.connect(db_url) as conn:
        actions = [r[0] for r in conn.execute(
            "SELECT action FROM audit_log WHERE target_type = 'schedule' ORDER BY id")]
    assert actions == ["schedule.created", "schedule.updated", "schedule.deleted"]


@pytest.mark.parametrize(("changes", "status", "field", "words"), [
    ({"cron": "61 * * * *"}, 422, "cron", "not a valid cron"),
    ({"cron": "* * * * * *"}, 422, "cron", "five fields"),
    ({"cron": ""}, 422, "cron", "cron is required"),
    ({"timezone": "Mars/Olympus"}, 422, "timezone", "IANA"),
    ({"webhook_url": "ftp://example.org/hook"}, 422, "webhook_url", "http"),
    ({"webhook_url": "http://"}, 422, "webhook_url", "host"),
    ({"provider_type": "csv_upload"}, 422, "provider_type", "API providers"),
    ({"year": 2019}, 422, None, "year 2019"),
    ({"filters": {"nope": ["x"]}}, 422, None, "unknown filter"),
    ({"module_id": "2"}, 400, None, "module_id must be a whole number"),
    ({"module_id": 999}, 404, None, "module 999"),
    ({"enabled": "yes"}, 400, None, "enabled must be true or false"),
    ({"colour": "red"}, 422, None, "unknown field 'colour'"),
])
def test_bad_schedules_are_refused_naming_the_field(api, changes, status, field, words):
    response = api.post("/schedules", json={**DAILY, **changes})
    assert response.status_code == status, response.get_json()
    body = response.get_json()
    assert words in body["message"]
    if field:
        assert body["field"] == field
    assert api.get("/schedules").get_json()["total"] == 0


def test_secrets_are_not_stored_in_a_schedule(api):
    created = create(api, config={"rows": 5, "api_token": "hunter2",
                                   "nested": {"password": "x"}})
    assert created["config"] == {"rows": 5, "nested": {}}


def test_roles(app, api, admin_api, create_user, api_token):
    from tests.conftest import ApiClient

    viewer = ApiClient(app.test_client(), api_token(create_user("viewer")))
    assert viewer.post("/schedules", json=DAILY).status_code == 403
    created = create(api)
    assert viewer.get(f"/schedules/{created['id']}").status_code == 200
    assert viewer.post(f"/schedules/{created['id']}/run").status_code == 403
    assert viewer.client.delete(f"/api/v1/schedules/{created['id']}",
                                headers=viewer.headers).status_code == 403
    factors = {**DAILY, "target_type": "factors", "factor_type_id": 1}
    refused = api.post("/schedules", json=factors)
    assert refused.status_code == 403 and "admin" in refused.get_json()["message"]
    # An admin passes the role check; no API provider loads factors, so 422 names them.
    answer = admin_api.post("/schedules", json=factors)
    assert answer.status_code == 422 and "valid providers" in answer.get_json()["message"]


def test_run_now_creates_a_job_with_the_schedule_id(api, worker, db_url):
    created = create(api)
    response = api.post(f"/schedules/{created['id']}/run")
    assert response.status_code == 202, response.get_json()
    final = api.wait(response.get_json()["job_id"])
    assert final["status"] == "completed" and final["schedule_id"] == created["id"]
    assert final["counts"]["inserted"] == 5
    [(_, outcome, job_id, manual)] = runs(db_url, created["id"])
    assert (outcome, job_id, manual) == ("created", final["job_id"], True)
    body = api.get(f"/schedules/{created['id']}").get_json()
    assert body["last_job_id"] == final["job_id"] and body["last_outcome"] == "created"


# -- firing -------------------------------------------------------------------------------

def test_two_workers_and_two_web_processes_due_at_once_create_one_job(
        app, api, db_url, worker_env, service_urls, idle_queue):
    from webapp import create_app

    created = create(api, cron="*/5 * * * *", timezone="UTC")
    workers = start_workers(worker_env, service_urls, 2)
    try:
        webs = [create_app(dict(app.config)) for _ in range(2)]
        barrier = threading.Barrier(2)
        won: list[list[int]] = []

        def web(instance):
            barrier.wait()
            won.append(_fire(instance))

        make_due(db_url, created["id"], timedelta(seconds=1))
        threads = [threading.Thread(target=web, args=(w,)) for w in webs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        wait_scheduler_rounds(db_url, workers)  # the workers' loops have had their turns too
    finally:
        for worker in workers:
            worker.stop()
    jobs = scheduled_jobs(db_url, created["id"])
    assert len(jobs) == 1, jobs
    [(due_at, outcome, job_id, manual)] = runs(db_url, created["id"])
    assert job_id == jobs[0][0] and outcome == "created" and not manual
    assert due_at.minute % 5 == 0 and due_at.second == 0
    assert sum(len(w) for w in won) <= 1  # the workers may have won instead
    after = api.get(f"/schedules/{created['id']}").get_json()
    assert datetime.fromisoformat(after["next_run_at"]) > datetime.now(UTC)


def test_a_due_time_that_finds_the_target_busy_is_skipped(app, api, db_url, idle_queue):
    from webapp.jobs import service
    from webapp.jobs.requests import SyncRequest

    with app.app_context():
        busy = service.create_job(SyncRequest(
            module_id=TRAVEL, provider_type="synthetic", target_type="data_entries",
            year=2025), None).id
    created = create(api)
    assert len(_fire(app, _after_next_run(api, db_url, created, timedelta(minutes=1)))) == 1
    assert scheduled_jobs(db_url, created["id"]) == []
    [(_, outcome, job_id, _)] = runs(db_url, created["id"])
    assert (outcome, job_id) == ("skipped", None)
    body = api.get(f"/schedules/{created['id']}").get_json()
    assert body["last_outcome"] == "skipped" and f"job {busy}" in body["last_message"]
    refused = api.post(f"/schedules/{created['id']}/run")  # run now: the same refusal
    assert refused.status_code == 409 and refused.get_json()["active_job_id"] == busy


def test_missed_due_times_run_once_not_once_per_missed_time(app, api, db_url, idle_queue):
    from webapp.jobs import service

    created = create(api, cron="*/5 * * * *", timezone="UTC")
    now = _after_next_run(api, db_url, created, timedelta(hours=6))  # 72 due times went by
    now = now.replace(second=30, microsecond=0)
    now -= timedelta(minutes=now.minute % 5)  # the start of a 5-minute block: +1 min stays in it
    assert len(_fire(app, now)) == 1
    assert _fire(app, now) == [] and _fire(app, now + timedelta(minutes=1)) == []
    [(due_at, outcome, job_id, _)] = runs(db_url, created["id"])
    assert outcome == "created"
    assert due_at == now.replace(minute=now.minute - now.minute % 5, second=0)
    with app.app_context():
        service.cancel_job(job_id, None)
    later = now + timedelta(minutes=5)  # the next due time fires again
    assert len(_fire(app, later)) == 1
    assert len(scheduled_jobs(db_url, created["id"])) == 2


def test_deleted_and_disabled_schedules_never_fire(app, api, db_url, idle_queue):
    deleted, disabled = create(api), create(api)
    fire_at = _after_next_run(api, db_url, disabled, timedelta(days=30))
    _after_next_run(api, db_url, deleted, timedelta(0))
    assert api.client.patch(f"/api/v1/schedules/{disabled['id']}", headers=api.headers,
                            json={"enabled": False}).status_code == 200
    assert api.client.delete(f"/api/v1/schedules/{deleted['id']}",
                             headers=api.headers).status_code == 204
    assert _fire(app, fire_at) == []
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM data_ingestion_jobs").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM schedule_runs").fetchone()[0] == 0
    # Enabling again counts from now: the paused time is not caught up.
    enabled = api.client.patch(f"/api/v1/schedules/{disabled['id']}", headers=api.headers,
                               json={"enabled": True}).get_json()
    assert datetime.fromisoformat(enabled["next_run_at"]) > datetime.now(UTC)


def test_ids_beyond_postgresqls_integer_are_404_not_a_server_error(api):
    for method, path in (("GET", "/schedules/2147483648"), ("PATCH", "/schedules/9999999999"),
                         ("DELETE", "/schedules/2147483648"), ("GET", "/sync/status/2**40"),
                         ("GET", "/sync/status/2147483648"), ("GET", "/modules/99999999999")):
        response = api.client.open(f"/api/v1{path}", method=method, headers=api.headers,
                                   json={})
        assert response.status_code == 404, (method, path, response.get_json())
    assert api.get("/schedules/2147483647").status_code == 404  # in range: no such schedule
