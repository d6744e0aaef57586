"""Helpers the schedule tests share: a schedule made through the API, made due by
moving its next run back in the database, what it fired (jobs and run rows), and
workers whose scheduler loops a test can wait a round of."""

from __future__ import annotations

import time
from datetime import timedelta

import psycopg

from tests.support.polling import wait_for
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


def wait_scheduler_rounds(db_url: str, workers: list[WorkerProcess],
                          timeout: float = 30) -> None:
    """Return once each of `workers` has run a whole round of its scheduler loop that
    began after the call: fired what was due then, and finished.

    A round is seen through a lock. While this holds sync_schedules in EXCLUSIVE mode, a
    round's first statement, fire_due's SELECT ... FOR UPDATE SKIP LOCKED (SKIP LOCKED
    skips locked rows, not a locked table), waits for it where pg_stat_activity shows it,
    under the worker's name (PGAPPNAME, see WorkerProcess). Seen waiting once, every
    worker fires after the call; seen waiting again, the round that fired has ended.
    """
    names = {worker.name for worker in workers}
    waiting: list[tuple[str, str]] = []
    with psycopg.connect(db_url) as gate, psycopg.connect(db_url, autocommit=True) as watch:

        def all_about_to_fire() -> bool:
            waiting[:] = watch.execute(
                "SELECT application_name, query FROM pg_stat_activity "
                "WHERE %s = ANY(pg_blocking_pids(pid))", (gate.info.backend_pid,)).fetchall()
            firing = {name for name, query in waiting if _fires(query)}
            if any(name in names and not _fires(query) for name, query in waiting):
                # A worker held up later in a round (recording a run it won): let it go
                # on, or it would never come back to firing.
                gate.commit()
                gate.execute("LOCK TABLE sync_schedules IN EXCLUSIVE MODE")
                return False
            return names <= firing

        for _ in range(2):
            gate.execute("LOCK TABLE sync_schedules IN EXCLUSIVE MODE")
            wait_for(all_about_to_fire, timeout,
                     lambda: f"the scheduler loops of {sorted(names)} to fire; waiting on "
                     f"sync_schedules: {waiting}")
            gate.commit()


def _fires(query: str) -> bool:
    # A SELECT of sync_schedules that waits for a table lock locks rows: fire_due's.
    return query.lstrip().upper().startswith("SELECT") and "FROM sync_schedules" in query
