"""What a job records about its request and its run (issue 11): secrets dropped at every
depth, messages and echoed cells bounded, final progress equal to the counts, and the
creation and processing start told apart."""

from __future__ import annotations

from datetime import datetime

import psycopg

from tests.support.web import logged_in_client

HUGE = "x" * 120_000


def _job_metadata(db_url, job_id: int) -> str:
    with psycopg.connect(db_url) as conn:
        return conn.execute("SELECT metadata::text FROM data_ingestion_jobs WHERE id = %s",
                            (job_id,)).fetchone()[0]


def test_secret_like_keys_are_dropped_at_every_depth(api, worker, db_url):
    config = {"rows": 3, "on_error": "skip", "nested": {
        "password": "s-1", "keep": 1, "deeper": [{"api_key": "s-2", "ok": True},
                                                 {"Credentials": {"user": "s-3"}}],
        "Auth_Token": "s-4", "jwt": "s-5"}}
    response = api.sync(2, config=config)
    assert response.status_code == 202, response.get_json()
    final = api.wait(response.get_json()["job_id"])
    assert final["request"]["config"] == {"rows": 3, "on_error": "skip", "nested": {
        "keep": 1, "deeper": [{"ok": True}, {}]}}
    raw = _job_metadata(db_url, final["job_id"])
    assert not [secret for secret in ("s-1", "s-2", "s-3", "s-4", "s-5") if secret in raw]
    assert "password" not in raw and "api_key" not in raw


def test_a_huge_value_never_makes_a_huge_message(api, db_url):
    refusals = [
        {"year": HUGE},
        {"config": {"on_error": HUGE}},
        {"filters": {"centre": [HUGE]}},
        {"filters": {HUGE: ["A"]}},
        {"provider_type": HUGE},
    ]
    for fields in refusals:
        response = api.sync(2, **fields)
        assert response.status_code in (400, 422), response.status_code
        message = response.get_json()["message"]
        assert 0 < len(message) <= 500, len(message)
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM data_ingestion_jobs").fetchone()[0] == 0


def test_a_huge_cell_and_a_huge_column_name_are_echoed_bounded(api, worker):
    header = "name,position_category,user_institutional_id,fte"
    files = {
        "cell": f"{header}\r\nAda,staff,123456,{HUGE}\r\n",
        "column": f"name,{HUGE}\r\nAda,x\r\n",  # required columns missing: names shown
    }
    for what, text in files.items():
        response = api.sync(1, "csv_upload", file=text.encode(), filename=f"{what}.csv")
        assert response.status_code == 202, response.get_json()
        final = api.wait(response.get_json()["job_id"])
        assert final["status"] == "failed", final
        assert 0 < len(final["message"]) <= 500, (what, len(final["message"]))
        for error in final["errors"]:
            assert len(error["value"]) <= 100 and len(error["column"]) <= 100, what
            assert len(error["reason"]) <= 500, what
        assert HUGE not in str(final)


def test_a_completed_jobs_progress_equals_its_counts(api, worker):
    response = api.sync(2, config={"rows": 20_000, "batch": 1_000, "bad_rows": [7, 9]})
    final = api.wait(response.get_json()["job_id"])
    assert final["status"] == "completed", final
    progress, counts = final["progress"], final["counts"]
    assert counts["inserted"] == 19_998 and counts["skipped"] == 2
    assert progress["phase"] == "done" and progress["percent"] == 100
    assert progress["fetched"] == counts["inserted"] + counts["skipped"] == 20_000
    assert progress["processed"] == counts["inserted"]


def test_creation_and_processing_start_are_recorded_apart(app, api, worker, create_user):
    response = api.sync(2, config={"rows": 5})
    final = api.wait(response.get_json()["job_id"])
    created = datetime.fromisoformat(final["created_at"])
    started = datetime.fromisoformat(final["processing_started_at"])
    completed = datetime.fromisoformat(final["completed_at"])
    assert final["started_at"] == final["created_at"]  # the plan's column, unchanged
    assert created <= started <= completed
    page = logged_in_client(app, create_user("viewer")).get(f"/jobs/{final['job_id']}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Processing started" in text and "Queued for" in text and "Took" in text


def test_a_job_still_queued_has_no_processing_start(api, idle_queue):
    response = api.sync(2)
    body = api.get(f"/sync/status/{response.get_json()['job_id']}").get_json()
    assert body["status"] == "pending"
    assert body["created_at"] and body["processing_started_at"] is None
