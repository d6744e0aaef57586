"""Jobs through the API with a real worker: retry, one active job per target, a killed
worker, cancel, request validation, secrets, and the worker seen by `rq info`.

Tests that must keep a job pending put it on a queue no worker listens to (RQ_QUEUE is a
setting); the killed-worker test gives its own workers a private queue for the same reason:
the session worker, once started by any earlier test, keeps listening on `ingestion`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg
import pytest
from psycopg.rows import dict_row

from tests.support.accounts import ApiClient
from tests.support.polling import wait_for
from tests.support.workers import IDLE_QUEUE, cancel_active

CSV_DIR = Path(__file__).resolve().parent.parent / "data" / "csv"


def _sync(api, module_id: int = 2, provider: str = "synthetic", **config):
    return api.sync(module_id, provider, config=config)


def _row(db_url: str, job_id: int) -> dict:
    with psycopg.connect(db_url, row_factory=dict_row) as conn:
        return conn.execute("SELECT * FROM data_ingestion_jobs WHERE id = %s",
                            (job_id,)).fetchone()


def _scalar(db_url: str, query: str, *params):
    with psycopg.connect(db_url) as conn:
        return conn.execute(query, params).fetchone()[0]


def _entries(db_url: str, job_id: int | None = None) -> int:
    if job_id is None:
        return _scalar(db_url, "SELECT count(*) FROM data_entries")
    return _scalar(db_url, "SELECT count(*) FROM data_entries WHERE job_id = %s", job_id)


@pytest.fixture(autouse=True)
def cancel_leftovers(app):
    """No job of a test keeps running into the next one."""
    yield
    cancel_active(app)


# -- the state machine at the service level --------------------------------------------

def test_an_illegal_transition_raises_and_is_never_stored(app, idle_queue, db_url):
    from webapp.extensions import db
    from webapp.jobs import lifecycle, service
    from webapp.jobs.requests import SyncRequest
    from webapp.jobs.states import IllegalTransition

    badges = "SELECT last_sync_status FROM modules WHERE id = 2"
    with app.app_context():
        job_id = service.create_job(SyncRequest(
            module_id=2, provider_type="synthetic", target_type="data_entries",
            year=2025), None).id
        pending, badge = _row(db_url, job_id), _scalar(db_url, badges)
        with pytest.raises(IllegalTransition, match="from pending to completed"):
            lifecycle.complete_job(job_id, {"inserted": 1})
        db.session.commit()  # even a careless caller that commits stores nothing
        assert _row(db_url, job_id) == pending
        assert _scalar(db_url, badges) == badge

        lifecycle.fail_job(job_id, "The source broke", 502)
        failed, badge = _row(db_url, job_id), _scalar(db_url, badges)
        assert failed["status"] == "failed" and failed["status_code"] == 502
        with pytest.raises(IllegalTransition, match="from failed to"):
            lifecycle.complete_job(job_id, {})
        db.session.commit()
        assert _row(db_url, job_id) == failed
        # A worker handed a job that is no longer pending does not start it.
        assert lifecycle.start_job(job_id, "w") is False
        db.session.commit()
        assert _row(db_url, job_id) == failed
        assert _scalar(db_url, badges) == badge


# -- retry ------------------------------------------------------------------------------

def _failed_job(app, monkeypatch, api, **config) -> int:
    """A job that failed before running (as after a transient upstream error)."""
    from webapp.jobs import lifecycle

    with monkeypatch.context() as m:
        m.setitem(app.config, "RQ_QUEUE", IDLE_QUEUE)
        job_id = _sync(api, **config).get_json()["job_id"]
    with app.app_context():
        lifecycle.fail_job(job_id, "The synthetic source broke (HTTP 500)", 502)
    return job_id


def test_retry_of_a_failed_job_is_a_new_linked_job_that_completes(
        app, api, worker, monkeypatch, db_url):
    old_id = _failed_job(app, monkeypatch, api, rows=25, batch=10)
    before = _row(db_url, old_id)
    response = api.post(f"/sync/retry/{old_id}")
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    new_id = body["job_id"]
    assert new_id != old_id and body["retry_of"] == old_id and body["status"] == "pending"
    final = api.wait(new_id)
    assert final["status"] == "completed" and final["counts"]["inserted"] == 25, final
    assert final["retry_of"] == old_id
    assert final["request"] == before["metadata"]["request"]
    assert api.get(f"/sync/status/{old_id}").get_json()["retried_by"] == new_id
    after = _row(db_url, old_id)
    assert after["metadata"].pop("retried_by") == new_id
    assert after == before  # otherwise the old row is history, untouched
    again = api.post(f"/sync/retry/{old_id}")
    assert again.status_code == 409
    assert again.get_json()["retried_by"] == new_id
    assert _entries(db_url, new_id) == 25


def test_only_failed_or_cancelled_jobs_can_be_retried(app, api, worker, monkeypatch):
    done = _sync(api, rows=5, batch=5).get_json()["job_id"]
    assert api.wait(done)["status"] == "completed"
    refused = api.post(f"/sync/retry/{done}")
    assert refused.status_code == 409
    assert refused.get_json()["error"] == "conflict"
    assert refused.get_json()["status"] == "completed"

    running = _sync(api, rows=30, batch=5, delay_s=0.3).get_json()["job_id"]
    api.wait(running, until=("processing",))
    assert api.post(f"/sync/retry/{running}").status_code == 409
    assert api.post(f"/sync/cancel/{running}").get_json()["status"] == "cancelled"
    retried = api.post(f"/sync/retry/{running}")
    assert retried.status_code == 202
    assert api.wait(retried.get_json()["job_id"])["status"] == "completed"

    with monkeypatch.context() as m:
        m.setitem(app.config, "RQ_QUEUE", IDLE_QUEUE)
        pending = _sync(api, module_id=1, rows=5).get_json()["job_id"]
    refused = api.post(f"/sync/retry/{pending}")
    assert refused.status_code == 409 and refused.get_json()["status"] == "pending"


# -- one active job per (module, target, factor type) ----------------------------------

def _concurrently(calls) -> list:
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(index, call):
        barrier.wait()
        results[index] = call()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def _file_body(name: str) -> dict:
    """ApiClient.sync's arguments to upload that corpus file."""
    return {"provider_type": "csv_upload", "file": CSV_DIR / name}


def test_concurrent_requests_for_one_target_get_one_202_and_one_409(
        app, api, api_token, create_user, idle_queue):
    token = api_token(create_user("editor"))
    clients = [ApiClient(app.test_client(), token) for _ in range(2)]
    for _ in range(5):
        responses = _concurrently([lambda c=c: _sync(c, rows=5) for c in clients])
        by_status = {r.status_code: r.get_json() for r in responses}
        assert sorted(by_status) == [202, 409], [r.get_json() for r in responses]
        winner = by_status[202]["job_id"]
        assert by_status[409]["error"] == "conflict"
        assert by_status[409]["active_job_id"] == winner
        assert str(winner) in by_status[409]["message"]
        assert api.post(f"/sync/cancel/{winner}").status_code == 200


def test_different_targets_do_not_conflict(app, api, api_token, create_user, idle_queue):
    token = api_token(create_user("admin"))  # factors need the admin role
    clients = [ApiClient(app.test_client(), token) for _ in range(4)]
    responses = _concurrently([
        lambda: _sync(clients[0], module_id=2, rows=5),
        lambda: clients[1].sync(2, factor_type_id=1, **_file_body("factors_plane.csv")),
        lambda: clients[2].sync(2, factor_type_id=2,
                                **_file_body("factors_train_bom_semicolon_decimal_comma.csv")),
        lambda: _sync(clients[3], module_id=1, rows=5),
    ])
    assert [r.status_code for r in responses] == [202] * 4, [r.get_json() for r in responses]
    assert len({r.get_json()["job_id"] for r in responses}) == 4


# -- a worker killed mid-job -------------------------------------------------------------

def _alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_a_killed_worker_fails_its_job_and_the_retry_completes(
        app, api, start_worker, worker_env, monkeypatch, db_url):
    # A private queue: only the workers started here may take this job.
    queue = f"ingestion-kill-{time.monotonic_ns()}"
    monkeypatch.setitem(app.config, "RQ_QUEUE", queue)
    monkeypatch.setitem(worker_env, "RQ_QUEUE", queue)
    doomed = start_worker(f"doomed-{time.monotonic_ns()}")
    # About 6 s of work: long enough to outlive starting the survivor on a loaded machine.
    job_id = _sync(api, rows=60, batch=10, delay_s=1.0).get_json()["job_id"]
    api.wait(job_id, until=("processing",), timeout=30)
    wait_for(lambda: _row(db_url, job_id)["metadata"].get("progress", {}).get("processed"),
             10, "a staged batch")
    assert _row(db_url, job_id)["metadata"]["worker"] == doomed.name
    survivor = start_worker(f"survivor-{time.monotonic_ns()}")  # its reaper notices the loss
    horses = doomed.horse_pids()
    assert horses, "the job's work horse should be running"
    doomed.kill()
    killed_at = time.monotonic()
    wait_for(lambda: not [pid for pid in horses if _alive(pid)], 5, "the work horse to die")

    # Poll the row, not the status endpoint (which would reap on its own).
    failed = wait_for(lambda: (row := _row(db_url, job_id))["status"] == "failed" and row,
                      15, "the reaper to fail the job", interval=0.2)
    elapsed = time.monotonic() - killed_at
    settings = app.config
    assert 3 < elapsed < settings["WORKER_LOST_AFTER_S"] + settings["REAPER_INTERVAL_S"] + 3
    assert "worker lost" in failed["message"].lower()
    assert failed["status_code"] == 500 and failed["completed_at"] is not None
    assert _entries(db_url) == 0  # nothing half-written

    retry = api.post(f"/sync/retry/{job_id}")
    assert retry.status_code == 202, retry.get_json()
    final = api.wait(retry.get_json()["job_id"], timeout=30)
    assert final["status"] == "completed" and final["counts"]["inserted"] == 60, final
    assert _row(db_url, final["job_id"])["metadata"]["worker"] == survivor.name


# -- cancel -----------------------------------------------------------------------------

def test_a_cancelled_pending_job_never_starts(app, api, worker, monkeypatch, db_url):
    from rq.job import Job

    from webapp.extensions import redis_connection
    from webapp.jobs import service

    with monkeypatch.context() as m:
        m.setitem(app.config, "RQ_QUEUE", IDLE_QUEUE)
        job_id = _sync(api, rows=10, batch=5).get_json()["job_id"]
    response = api.post(f"/sync/cancel/{job_id}")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "cancelled" and body["status_code"] == 499
    assert "nothing was written" in body["message"]
    cancelled = _row(db_url, job_id)
    # Even if a worker dequeues it anyway (the race cancel cannot close), it does not start.
    with app.app_context():
        service.enqueue(job_id)
        connection = redis_connection()
    rq_job = wait_for(lambda: (j := Job.fetch(service.rq_job_id(job_id),
                                               connection=connection)).is_finished and j,
                      20, "the worker to take the cancelled job")
    assert rq_job.return_value() == "cancelled"
    assert _row(db_url, job_id) == cancelled
    assert "worker" not in cancelled["metadata"]
    assert _entries(db_url) == 0


def test_a_cancelled_processing_job_writes_nothing(api, worker, db_url):
    assert worker.horse_pids() == []
    job_id = _sync(api, rows=200, batch=10, delay_s=0.2).get_json()["job_id"]
    wait_for(lambda: api.get(f"/sync/status/{job_id}").get_json()["progress"]
             .get("processed", 0) >= 20, 20, "two staged batches")
    response = api.post(f"/sync/cancel/{job_id}")
    assert response.status_code == 200
    assert response.get_json()["status"] == "cancelled"
    wait_for(lambda: worker.horse_pids() == [], 10, "the work horse to stop")
    final = api.get(f"/sync/status/{job_id}").get_json()
    assert final["status"] == "cancelled" and final["status_code"] == 499
    assert final["progress"]["processed"] >= 20  # it did stage batches...
    assert _entries(db_url) == 0  # ...and none of them was written
    assert api.post(f"/sync/cancel/{job_id}").status_code == 409


def test_a_completed_job_cannot_be_cancelled(api, worker):
    job_id = _sync(api, rows=5, batch=5).get_json()["job_id"]
    assert api.wait(job_id)["status"] == "completed"
    response = api.post(f"/sync/cancel/{job_id}")
    assert response.status_code == 409
    assert response.get_json() == {
        "error": "conflict", "status": "completed",
        "message": f"job {job_id} is completed; only pending or processing jobs can be "
                   "cancelled"}
    assert api.get(f"/sync/status/{job_id}").get_json()["status"] == "completed"


# -- request validation -----------------------------------------------------------------

def _error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["error"] == code and body["message"], body
    return body


def test_requests_are_validated(api, admin_api, idle_queue, db_url):
    body = _error(api.sync(2, year=2024), 422, "unprocessable_entity")
    assert "2024" in body["message"] and "2025" in body["message"]
    _error(api.sync(2, year=None), 422, "unprocessable_entity")
    body = _error(_sync(api, module_id=1, provider="tableau_api"), 422, "unprocessable_entity")
    assert "csv_upload" in body["valid_providers"] and "tableau_api" not in body["valid_providers"]
    assert "valid providers: " in body["message"] and "csv_upload" in body["message"]
    _error(_sync(api, on_error="sometimes"), 422, "unprocessable_entity")
    _error(_sync(api, module_id=999), 404, "not_found")
    _error(admin_api.sync(2, factor_type_id=999, **_file_body("factors_plane.csv")), 404,
           "not_found")
    for path in ("/sync/status/999", "/sync/errors/999.csv"):
        _error(api.get(path), 404, "not_found")
    for path in ("/sync/retry/999", "/sync/cancel/999"):
        _error(api.post(path), 404, "not_found")
    _error(api.post("/sync/data-entries/2", data='{"provider_type": "synthetic",',
                    content_type="application/json"), 400, "bad_request")
    _error(api.post("/sync/data-entries/2", json=[1, 2]), 400, "bad_request")
    _error(api.sync(2, None), 400, "bad_request")  # no provider_type
    _error(api.post("/sync/data-entries/2", data="provider_type=synthetic",
                    content_type="text/plain"), 415, "unsupported_media_type")
    _error(api.sync(2, "csv_upload", multipart=True), 400, "bad_request")
    body = _error(api.sync(2, filters="{not json", multipart=True), 400, "bad_request")
    assert "filters" in body["message"]
    assert _scalar(db_url, "SELECT count(*) FROM data_ingestion_jobs") == 0


def test_an_upload_over_the_size_limit_is_413(app, api, idle_queue, monkeypatch, db_url):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 2048)
    big = b"name,position_category,user_institutional_id,fte\r\n" + b"x" * 8192
    response = api.sync(1, "csv_upload", file=big, filename="big.csv")
    _error(response, 413, "payload_too_large")
    assert _scalar(db_url, "SELECT count(*) FROM data_ingestion_jobs") == 0
    assert _scalar(db_url, "SELECT count(*) FROM uploads") == 0


def test_multipart_with_json_string_fields(api, worker, db_url):
    response = api.sync(2, multipart=True, filters='{"centre": "F0892"}',
                        config='{"rows": 7, "batch": 7, "on_error": "skip", '
                               '"api_secret": "hush-123"}')
    assert response.status_code == 202, response.get_json()
    final = api.wait(response.get_json()["job_id"])
    assert final["status"] == "completed" and final["counts"]["inserted"] == 7
    assert final["request"]["filters"] == {"centre": ["F0892"]}
    assert final["request"]["config"] == {"rows": 7, "batch": 7, "on_error": "skip"}
    centres = api.get("/modules/2/entries").get_json()["items"]
    assert {e["data"]["centre"] for e in centres} == {"F0892"}
    raw = _scalar(db_url, "SELECT metadata::text FROM data_ingestion_jobs WHERE id = %s",
                  final["job_id"])
    assert "hush-123" not in raw and "api_secret" not in raw


def test_secrets_in_config_are_never_stored(api, idle_queue, db_url):
    secrets = {"api_secret": "s-1", "password": "s-2", "Tableau_Token": "s-3",
               "client_jwt": "s-4", "signing_key": "s-5"}
    response = _sync(api, rows=3, **secrets)
    assert response.status_code == 202
    job_id = response.get_json()["job_id"]
    assert api.get(f"/sync/status/{job_id}").get_json()["request"]["config"] == {"rows": 3}
    raw = _scalar(db_url, "SELECT metadata::text FROM data_ingestion_jobs WHERE id = %s",
                  job_id)
    assert not [value for value in secrets.values() if value in raw]
    assert not [key for key in secrets if key in raw]


# -- ops --------------------------------------------------------------------------------

def test_the_worker_is_listed_by_name(worker, service_urls):
    from redis import Redis
    from rq import Worker

    connection = Redis.from_url(service_urls["redis_url"])
    found = {w.name: w for w in Worker.all(connection=connection)}
    assert worker.name in found
    assert found[worker.name].queue_names() == ["ingestion"]
    info = subprocess.run(
        [str(Path(sys.executable).with_name("rq")), "info", "-u", service_urls["redis_url"],
         "--only-workers"], capture_output=True, text=True, timeout=30)
    assert info.returncode == 0, info.stderr
    assert worker.name in info.stdout


def test_status_body_has_the_plans_and_the_specs_fields(api, idle_queue):
    job_id = _sync(api, rows=3).get_json()["job_id"]
    body = api.get(f"/sync/status/{job_id}").get_json()
    assert {"job_id", "status", "status_code", "message", "progress", "module_id",
            "provider_type", "target_type", "factor_type_id", "year", "counts", "errors",
            "errors_total", "retry_of", "retried_by", "created_by", "started_at",
            "completed_at"} <= set(body)
    assert json.dumps(body)  # plain JSON
