"""The reaper: lost queue entries are requeued; stale processing jobs end as worker lost."""

from __future__ import annotations

import psycopg
from redis import Redis


def _pending_job(api) -> int:
    response = api.sync(2, config={"rows": 3})
    assert response.status_code == 202
    return response.get_json()["job_id"]


def test_a_pending_job_whose_queue_entry_vanished_is_requeued(app, api, service_urls, db_url):
    from webapp.jobs import reaper, service

    job_id = _pending_job(api)  # no worker in this test: it stays pending
    redis = Redis.from_url(service_urls["redis_url"])
    redis.delete(f"rq:job:{service.rq_job_id(job_id)}", "rq:queue:ingestion")
    with app.app_context():
        assert reaper.requeue_orphans(min_age_s=3600) == []  # too young to be judged
        assert reaper.requeue_orphans(min_age_s=0) == [job_id]
        assert reaper.requeue_orphans(min_age_s=0) == []  # queued again: nothing to do
    queued = [entry.decode() for entry in redis.lrange("rq:queue:ingestion", 0, -1)]
    assert queued == [service.rq_job_id(job_id)]


def test_a_processing_job_without_heartbeat_fails_as_worker_lost(app, api, db_url):
    from webapp.jobs import lifecycle, reaper

    job_id = _pending_job(api)
    with app.app_context():
        lifecycle.start_job(job_id, "ghost-worker")
        assert reaper.reap_lost_workers() == []  # its heartbeat is fresh
    with psycopg.connect(db_url) as conn:
        conn.execute("UPDATE data_ingestion_jobs SET metadata = metadata || "
                     "jsonb_build_object('heartbeat_at', (now() - interval '1 hour')::text) "
                     "WHERE id = %s", (job_id,))
    with app.app_context():
        assert reaper.reap_lost_workers() == [job_id]
    body = api.get(f"/sync/status/{job_id}").get_json()
    assert body["status"] == "failed" and body["status_code"] == 500
    assert body["message"].startswith("Worker lost")
