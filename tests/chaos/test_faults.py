"""Chaos: workers, Redis and PostgreSQL die or freeze mid-job (issue 12).

Each test ends with no job active, no partial rows, and a retry (or the job itself)
completing. Servers are the chaos harness's private ones, on loopback.
"""

from __future__ import annotations

import os
import signal
import time
from datetime import UTC, datetime

import psutil
import psycopg
from redis import Redis

from tests.support.polling import wait_for

SLOW = {"batch": 10, "delay_s": 0.05}  # 10 rows per 50 ms: a job of N rows runs N/200 s


def _active_but_waiting_recalculations(chaos) -> list[int]:
    with psycopg.connect(chaos.db_url) as conn:
        return [r[0] for r in conn.execute(
            "SELECT id FROM data_ingestion_jobs WHERE status = 'processing' OR "
            "(status = 'pending' AND target_type <> 'emissions')")]


def _assert_quiet_end(chaos, *job_ids: int) -> None:
    """No job left active; each job's rows are all there or none are."""
    # A completed load queues a recalculation of its own: it must end too, or wait
    # pending when no worker is left to take it.
    wait_for(lambda: not _active_but_waiting_recalculations(chaos), 60,
             "every job, recalculations too, to end")
    for job_id in job_ids:
        row = chaos.row(job_id)
        expected = row["meta"]["counts"].get("inserted", 0) if row["status"] == "completed" else 0
        assert chaos.entries(job_id) == expected, (job_id, row)


def test_a_killed_work_horse_fails_its_job_within_10_s(chaos):
    # The reaper would need 60 s here: only the worker seeing its horse die can be this fast.
    worker = chaos.start_worker("horse-killed", WORKER_LOST_AFTER_S=60)
    job_id = chaos.submit(chaos.module_ids()[0], rows=1000, **SLOW)
    chaos.wait_processing(job_id)
    _, horse = chaos.horse_of(job_id)
    os.kill(horse, signal.SIGKILL)
    killed_at = time.monotonic()
    failed = chaos.wait_status(job_id, ("failed",), timeout=10)
    assert time.monotonic() - killed_at < 10
    assert failed["status_code"] == 500
    assert "killed by signal 9 (SIGKILL)" in failed["message"], failed["message"]
    assert worker.alive()

    retry = chaos.retry(job_id)
    done = chaos.wait_status(retry, ("completed",), timeout=60)
    assert done["meta"]["counts"]["inserted"] == 1000
    _assert_quiet_end(chaos, job_id, retry)


def test_a_lost_machine_fails_its_job_within_60_s_and_its_name_is_free_at_once(chaos):
    doomed = chaos.start_worker("machine-lost")
    job_id = chaos.submit(chaos.module_ids()[0], rows=1000, **SLOW)
    chaos.wait_processing(job_id)
    doomed.kill()  # worker and horse at once, as when the machine goes away
    killed_at = time.monotonic()

    # Its name is reusable at once (RQ alone refuses it until the registration expires).
    again = chaos.start_worker("machine-lost", wait=False)
    chaos.wait_registered(again, timeout=20)
    failed = chaos.wait_status(job_id, ("failed",), timeout=60)
    elapsed = time.monotonic() - killed_at
    assert elapsed < 60
    assert failed["message"].startswith("Worker lost: no heartbeat"), failed["message"]
    # With the default settings too: heartbeat timeout + reaper interval stays under 60 s.
    from webapp.config import load_config
    defaults = load_config({"DATABASE_URL": "postgresql://x/y", "REDIS_URL": "redis://x"})
    assert defaults["WORKER_LOST_AFTER_S"] + defaults["REAPER_INTERVAL_S"] < 60

    retry = chaos.retry(job_id)
    done = chaos.wait_status(retry, ("completed",), timeout=60)
    assert done["meta"]["worker"] == "machine-lost"
    _assert_quiet_end(chaos, job_id, retry)


def test_a_killed_worker_process_leaves_its_horse_to_finish_the_job(chaos):
    worker = chaos.start_worker("worker-killed")
    job_id = chaos.submit(chaos.module_ids()[0], rows=1000, **SLOW)
    chaos.wait_processing(job_id)
    horse = worker.horse_pids()[0]
    chaos.strays.append(horse)
    worker.kill(horses=False)  # the horse has its own process group: it carries on
    done = chaos.wait_status(job_id, ("completed", "failed"), timeout=60)
    assert done["status"] == "completed", done
    assert done["meta"]["counts"]["inserted"] == 1000
    _assert_quiet_end(chaos, job_id)


def test_a_frozen_horse_loses_its_job_its_locks_and_writes_nothing_when_it_wakes(chaos):
    modules = chaos.module_ids()
    first = chaos.start_worker("freeze-a")
    chaos.start_worker("freeze-b")
    seed = chaos.submit(modules[0], rows=50, batch=50)
    chaos.wait_status(seed, ("completed",), timeout=30)
    # This job deletes the seeded slice first: its transaction holds those rows' locks.
    job_id = chaos.submit(modules[0], rows=1000, **SLOW)
    chaos.wait_processing(job_id)
    worker, horse = chaos.horse_of(job_id)
    chaos.strays.append(horse)
    session = chaos.row(job_id)["meta"]["data_session"]
    os.kill(horse, signal.SIGSTOP)
    failed = chaos.wait_status(job_id, ("failed",), timeout=20)
    assert failed["message"].startswith("Worker lost"), failed["message"]
    with psycopg.connect(chaos.db_url) as conn:  # its database session was ended
        assert not conn.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s",
                                (session["pid"],)).fetchone()

    # The retry deletes the same rows: it would wait on the frozen transaction's locks.
    retry = chaos.retry(job_id)
    done = chaos.wait_status(retry, ("completed",), timeout=60)
    assert done["meta"]["worker"] != worker.name  # that one still waits on its horse
    assert done["meta"]["counts"] == {"inserted": 1000, "updated": 0, "deleted": 50,
                                      "skipped": 0}
    failed = chaos.row(job_id)  # now linked to its retry

    os.kill(horse, signal.SIGCONT)  # the stale process wakes up, stops, writes nothing
    wait_for(lambda: not psutil.pid_exists(horse) or
             psutil.Process(horse).status() == psutil.STATUS_ZOMBIE, 20,
             "the stale horse to stop")
    assert "no longer this run's" in worker.output()  # stopped at its next check
    assert chaos.row(job_id) == failed
    assert chaos.entries() == chaos.entries(retry) == 1000
    assert first.alive()
    _assert_quiet_end(chaos, job_id, retry)  # the seed's rows were replaced by the retry


def test_busy_workers_ride_out_a_redis_outage_and_lost_queue_entries_come_back(chaos):
    modules = chaos.module_ids()
    workers = [chaos.start_worker("redis-a"), chaos.start_worker("redis-b")]
    busy = [chaos.submit(module_id, rows=1600, **SLOW) for module_id in modules[:2]]
    for job_id in busy:
        chaos.wait_processing(job_id)
    waiting = chaos.submit(modules[2], rows=100, batch=50)  # queued behind them

    chaos.servers.kill_redis()
    time.sleep(3)
    chaos.servers.start_redis()  # empty: the waiting job's queue entry is gone
    back_at = datetime.now(UTC)

    for job_id in busy:
        done = chaos.wait_status(job_id, ("completed", "failed"), timeout=60)
        assert done["status"] == "completed", done
    done = chaos.wait_status(waiting, ("completed", "failed"), timeout=60)
    assert done["status"] == "completed", done
    started = datetime.fromisoformat(done["meta"]["processing_started_at"])
    assert (started - back_at).total_seconds() < 30  # requeued by a worker's reaper
    for worker in workers:
        assert worker.alive(), worker.output()[-3000:]
        chaos.wait_registered(worker, timeout=30)  # `rq info` lists them again
    # And they take new work.
    after = chaos.submit(chaos.module_ids("headcount")[0], rows=100, batch=50)
    chaos.wait_status(after, ("completed",), timeout=30)
    _assert_quiet_end(chaos, *busy, waiting, after)


def test_a_postgres_restart_fails_the_running_job_with_503_once_it_is_back(chaos):
    # The reaper is slow here, so it cannot be the one to notice.
    worker = chaos.start_worker("pg-restart", WORKER_LOST_AFTER_S=60)
    job_id = chaos.submit(chaos.module_ids()[0], rows=2000, **SLOW)
    chaos.wait_processing(job_id)
    back_at = chaos.servers.restart_postgres(down_s=2)
    failed = chaos.wait_status(job_id, ("failed",), timeout=15)
    assert time.monotonic() - back_at < 10
    assert failed["status_code"] == 503
    assert "database connection was lost" in failed["message"], failed["message"]
    assert worker.alive(), worker.output()[-3000:]

    retry = chaos.retry(job_id)
    done = chaos.wait_status(retry, ("completed",), timeout=60)
    assert done["meta"]["counts"]["inserted"] == 2000
    _assert_quiet_end(chaos, job_id, retry)


def test_an_enqueue_failure_after_commit_answers_202_and_the_reaper_queues_it(
        chaos, chaos_servers):
    """Redis answers the reachability check, then refuses the enqueue: the client still
    gets its job id, its retry is told about that same job, a status read queues it
    (no worker is running), and the worker started later runs it."""
    from tests.chaos.conftest import chaos_config
    from tests.support.accounts import ApiClient
    from tests.support.app import create_extra_app
    from webapp.cli import create_user
    from webapp.extensions import db
    from webapp.models import ApiToken

    redis = Redis.from_url(chaos_servers.redis_url)
    # A Redis user that may PING and nothing else: the check passes, the enqueue fails.
    redis.execute_command("ACL", "SETUSER", "pinger", "on", ">pinger-pw", "+ping",
                          "+client", "+hello")
    try:
        url = f"redis://pinger:pinger-pw@127.0.0.1:{chaos_servers.redis_port}/0"
        app = create_extra_app(chaos_config(chaos_servers, REDIS_URL=url))
        with app.app_context():
            user = create_user(f"chaos-{time.monotonic_ns()}@example.org", "pw", admin=True)
            token_row, token = ApiToken.issue(user, "chaos")
            db.session.add(token_row)
            db.session.commit()
        api = ApiClient(app.test_client(), token)
        module_id = chaos.module_ids()[0]
        response = api.sync(module_id, config={"rows": 30})
        assert response.status_code == 202, response.get_json()
        job_id = response.get_json()["job_id"]
        assert chaos.row(job_id)["status"] == "pending"
        again = api.sync(module_id, config={"rows": 30})
        assert again.status_code == 409
        assert again.get_json()["active_job_id"] == job_id
    finally:
        redis.execute_command("ACL", "DELUSER", "pinger")

    # With no worker running, reading the job's status puts it on the queue once it is
    # old enough not to be between its commit and its enqueue (10 s).
    from webapp.jobs.service import rq_job_id
    submitted = time.monotonic()
    reader = chaos.app.test_client()
    wait_for(lambda: reader.get(f"/api/v1/sync/status/{job_id}", headers=api.headers)
             .get_json()["status"] == "pending" and
             rq_job_id(job_id).encode() in redis.lrange("rq:queue:ingestion", 0, -1),
             20, "a status read to queue the job", interval=0.5)
    assert time.monotonic() - submitted < 20
    chaos.start_worker("enqueue-reaper")
    done = chaos.wait_status(job_id, ("completed",), timeout=30)
    assert done["meta"]["counts"]["inserted"] == 30
    _assert_quiet_end(chaos, job_id)
