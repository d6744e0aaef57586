"""POST → real worker → completed, with progress seen while it runs; failures; history."""

from __future__ import annotations

import json

from tests.support.emissions import wait_recalculated


def _sync(api, module_id=2, **config):
    return api.sync(module_id, config=config)


def test_post_runs_on_a_worker_and_completes_with_progress(api, worker):
    response = _sync(api, rows=60, batch=10, delay_s=0.3)
    assert response.status_code == 202
    body = response.get_json()
    assert body["status"] == "pending" and body["status_code"] == 102
    assert body["message"] == "Sync initiated"
    seen: list[dict] = []
    final = api.wait(body["job_id"], seen=seen)
    assert final["status"] == "completed", final
    assert final["status_code"] == 200
    assert final["counts"]["inserted"] == 60
    assert final["message"] == "Loaded 60 rows"
    running = [s for s in seen if s["status"] == "processing" and s["progress"].get("fetched")]
    assert running, "no progress was visible while the job ran"
    assert 0 < running[0]["progress"]["fetched"] < 60
    assert "rows_per_s" in running[0]["progress"]
    entries = api.get("/modules/2/entries?limit=500").get_json()
    assert entries["total"] == 60
    assert {e["source"] for e in entries["items"]} == {"synthetic"}


def test_failed_job_records_code_and_message(api, worker):
    job_id = _sync(api, rows=50, batch=10, fail_at_row=25).get_json()["job_id"]
    final = api.wait(job_id)
    assert final["status"] == "failed"
    assert final["status_code"] == 502
    assert final["message"] == "The synthetic source broke (HTTP 500)"
    assert api.get("/modules/2/entries").get_json()["total"] == 0


def test_unexpected_exception_is_a_500_without_its_text(api, worker):
    job_id = _sync(api, rows=20, batch=10, boom=15).get_json()["job_id"]
    final = api.wait(job_id)
    assert final["status"] == "failed" and final["status_code"] == 500
    assert "secret-ish" not in json.dumps(final)
    assert "RuntimeError" in final["message"]


def test_rows_the_database_refuses_fail_the_job_and_keep_the_previous_data(api, worker):
    # The batches are written by the sink's loader thread: its error must still end the
    # job, and the rollback must take back the batches already written and the delete.
    first = api.wait(_sync(api, rows=30, batch=10).get_json()["job_id"])
    wait_recalculated(api, 2, first)  # the load's own recalculation, done
    before = api.get("/modules/2/entries?limit=100").get_json()
    job_id = _sync(api, rows=100, batch=10, refused_from_row=95).get_json()["job_id"]
    final = api.wait(job_id)
    assert (final["status"], final["status_code"]) == ("failed", 500)
    assert final["message"].startswith("Internal error (StringDataRightTruncation)")
    assert api.get("/modules/2/entries?limit=100").get_json() == before
    assert before["total"] == 30


def test_skipped_rows_complete_with_207_and_are_reported(api, worker):
    job_id = _sync(api, rows=30, batch=10, bad_rows=[3, 17]).get_json()["job_id"]
    final = api.wait(job_id)
    assert final["status"] == "completed" and final["status_code"] == 207
    assert final["counts"]["skipped"] == 2 and final["counts"]["inserted"] == 28
    assert final["errors_total"] == 2
    assert [e["row"] for e in final["errors"]] == [3, 17]
    report = api.get(f"/sync/errors/{job_id}.csv").get_data(as_text=True).splitlines()
    assert report[0] == '"row","column","value","reason","cell"'  # text cells are quoted
    # The row number is a number; a source that is not a workbook has no cell to name.
    assert report[1] == '3,"n","3","is odd on purpose",""'


def test_history_is_newest_first_with_limit_and_provider_filter(api, worker):
    ids = []
    for _ in range(3):
        job_id = _sync(api, rows=5, batch=5).get_json()["job_id"]
        api.wait(job_id)
        ids.append(job_id)
    # (Each load also queued a recalculation: those are left out here.)
    body = api.get("/sync/history/2?limit=2&provider_type=synthetic").get_json()
    assert [item["job_id"] for item in body["items"]] == [ids[2], ids[1]]
    assert body["total"] == 3 and body["limit"] == 2
    assert api.get("/sync/history/2?provider_type=csv_upload").get_json()["items"] == []
    other = api.get("/sync/history/2?provider_type=synthetic").get_json()
    assert len(other["items"]) == 3


def test_resync_replaces_the_providers_slice(api, worker):
    for _ in range(2):
        api.wait(_sync(api, rows=40, batch=10).get_json()["job_id"])
    final = api.get("/modules/2/entries").get_json()
    assert final["total"] == 40
