"""Helpers the schedule tests share: a schedule made through the API, made due by
moving its next run back in the database, and what it fired (jobs and run rows)."""

from __future__ import annotations

import time
from datetime import timedelta

import psycopg

from tests.support.workers import WorkerProcess

TRAVEL = 2
DAILY = {"module_id": TRAVEL, "provider_type": "synthetic", "year": 2025, "cron": "daily",
         "timezone": "Europe/Zurich", "config": {"rows": 5, "batch": 5}}


def create(client, **changes) -> dict:
    response = client.post("/schedules", json={**DAILY, **changes})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def make_due(db_url: str, schedule_id: int, ago: timedelta) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("UPDATE sync_schedules SET next_run_at = now() - %s WHERE id = %s",
                     (ago, schedule_id))


def scheduled_jobs(db_url: str, schedule_id: int) -> list[tuple[int, str]]:
    with psycopg.connect(db_url) as conn:
        return conn.execute(
            "SELECT id, status FROM data_ingestion_jobs WHERE (metadata->>'schedule_id')::int"
            " = %s ORDER BY id", (schedule_id,)).fetchall()


def runs(db_url: str, schedule_id: int) -> list[tuple]:
    with psycopg.connect(db_url) as conn:
        return conn.execute("SELECT due_at, outcome, job_id, manual FROM schedule_runs "
                            "WHERE schedule_id = %s ORDER BY id", (schedule_id,)).fetchall()


def start_workers(worker_env, service_urls, count: int, **env) -> list[WorkerProcess]:
    """Workers whose scheduler looks for due schedules every second; `env` adds settings."""
    env = {**worker_env, "SCHEDULER_INTERVAL_S": "1", **env}
    workers = [WorkerProcess(env, f"sched-{n}-{time.monotonic_ns()}") for n in range(count)]
    for worker in workers:
        worker.wait_ready(service_urls["redis_url"])
    return workers
