"""The servers a benchmark runs against: those of DATABASE_URL / REDIS_URL when set, else
private ones in `workdir`, which the caller stops."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psycopg


def start_servers(workdir: Path) -> tuple[str, str, list]:
    """(database URL, Redis URL, the servers started here)."""
    from webapp.standalone.embedded import start_postgres, start_redis

    servers = []
    database_url, redis_url = os.environ.get("DATABASE_URL"), os.environ.get("REDIS_URL")
    if not database_url:
        servers.append(start_postgres(workdir / "pg", "carbonsync_bench"))
        database_url = servers[-1].url
        with psycopg.connect(servers[-1].admin_url, autocommit=True) as conn:
            conn.execute("GRANT pg_checkpoint TO carbonsync")  # for checkpoint() only
    if not redis_url:
        servers.append(start_redis(workdir / "redis"))
        redis_url = servers[-1].url
    return database_url, redis_url, servers


ROOT = Path(__file__).resolve().parent.parent


def wait_until_listening(redis_url: str, name: str, timeout_s: float = 60) -> None:
    from redis import Redis
    from rq import Worker

    connection = Redis.from_url(redis_url)
    deadline = time.monotonic() + timeout_s
    while name not in {worker.name for worker in Worker.all(connection=connection)}:
        if time.monotonic() > deadline:
            raise SystemExit(f"the worker {name} did not start within {timeout_s:.0f} s")
        time.sleep(0.1)


def start_worker(redis_url: str, name: str, env: dict | None = None) -> subprocess.Popen:
    """A real RQ worker (worker.py) named `name`, returned once it listens: as in
    production, a job's time starts with the worker already running."""
    worker = subprocess.Popen([sys.executable, str(ROOT / "worker.py"), "--name", name],
                              cwd=ROOT, env=env or os.environ, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        wait_until_listening(redis_url, name)
    except BaseException:
        worker.kill()
        worker.wait()
        raise
    return worker


def stop_servers(servers: list, workdir: Path) -> None:
    """Stop the servers `start_servers` started and remove the bench's directory: the
    private servers' data is GBs, and every run left it behind before."""
    for server in servers:
        server.stop()
    shutil.rmtree(workdir, ignore_errors=True)


def report_load(when: str) -> None:
    """Print the machine's load average, `before` and `after` a benchmark: figures taken
    while something else ran (a test suite, another bench) are not comparable. Only
    `before` is judged: `after` includes the benchmark's own work (a worker and
    PostgreSQL keep two cores busy), and shows whether something else joined in."""
    one, five, fifteen = os.getloadavg()
    cores = os.cpu_count() or 1
    busy = ("  ← busy: figures may be low" if when == "before" and one > 0.5 * cores
            else "")
    print(f"load average {when}: {one:.2f}, {five:.2f}, {fifteen:.2f} "
          f"({cores} cores){busy}", flush=True)
