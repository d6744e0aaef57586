"""The chaos harness: a private PostgreSQL and a private Redis (from the wheels, on
loopback) that the tests kill and restart, an app bound to them, and real worker
processes whose work horses the tests SIGKILL and SIGSTOP. The session's own servers
(tests/conftest.py) are never touched.

Every test starts from truncated tables, the demo seed (plus two inventories with a
travel module each, so more jobs than workers can be active) and an empty Redis; every
process a test started is killed at its end, frozen ones included.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
import psycopg
import pytest
from redis import Redis

from tests.support.app import create_extra_app, truncate_statement
from tests.support.polling import wait_for
from webapp.config import libpq_url

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = "tests.support.providers"
# Fast clocks: a lost job is noticed after 6 s without heartbeat, looked for every 2 s.
FAST = {"WORKER_LOST_AFTER_S": "6", "HEARTBEAT_INTERVAL_S": "1", "REAPER_INTERVAL_S": "2"}


@dataclass
class Servers:
    """The private servers, with the faults the tests inject."""

    pg_dir: Path
    pg_port: int
    redis_dir: Path
    redis_port: int
    database_url: str  # the app role's, as start_postgres() made it
    redis: object = None  # the EmbeddedServer of the running Redis

    @property
    def redis_url(self) -> str:
        return self.redis.url  # with its password, the same after a restart

    def restart_postgres(self, down_s: float) -> float:
        """Crash PostgreSQL (immediate stop: every session dies), keep it down `down_s`,
        start it again on the same port. Returns the monotonic time it answered again."""
        from webapp.standalone.embedded import _pg_bin

        subprocess.run([_pg_bin("pg_ctl"), "-D", str(self.pg_dir), "-m", "immediate", "-w",
                        "stop"], check=True, capture_output=True, user=self._pg_user())
        time.sleep(down_s)
        self._start_postgres()
        return time.monotonic()

    def _pg_user(self):
        from webapp.standalone.embedded import PG_SYSTEM_USER
        return PG_SYSTEM_USER if os.geteuid() == 0 else None

    def _start_postgres(self) -> None:
        from webapp.standalone.embedded import _pg_bin

        options = (f"-h 127.0.0.1 -p {self.pg_port} -c unix_socket_directories='' "
                   "-c max_connections=200")
        subprocess.run([_pg_bin("pg_ctl"), "-D", str(self.pg_dir), "-l",
                        str(self.pg_dir / "server.log"), "-o", options, "-w", "-t", "60",
                        "start"], check=True, capture_output=True, user=self._pg_user())

    def kill_redis(self) -> None:
        """SIGKILL Redis and drop its snapshot: it comes back empty, queue entries lost."""
        self.redis.process.kill()
        self.redis.process.wait(10)
        (self.redis_dir / "dump.rdb").unlink(missing_ok=True)

    def start_redis(self) -> float:
        from webapp.standalone.embedded import start_redis

        self.redis = start_redis(self.redis_dir, self.redis_port)
        return time.monotonic()


@pytest.fixture(scope="session")
def chaos_servers(tmp_path_factory):
    from webapp.standalone.embedded import free_port, start_postgres, start_redis

    pg_dir = tmp_path_factory.mktemp("chaos-pg") / "data"
    pg = start_postgres(pg_dir, "carbonsync_chaos")
    port = int(pg.url.split(":")[-1].split("/")[0])
    redis_dir = tmp_path_factory.mktemp("chaos-redis")
    servers = Servers(pg_dir.resolve(), port, redis_dir.resolve(), free_port(), pg.url)
    servers.redis = start_redis(redis_dir, servers.redis_port)
    yield servers
    servers.redis.stop()
    pg.stop()


def chaos_config(servers: Servers, **overrides) -> dict:
    from webapp.config import sqlalchemy_url

    return {"TESTING": True, "SQLALCHEMY_DATABASE_URI": sqlalchemy_url(servers.database_url),
            "REDIS_URL": servers.redis_url, "PROVIDER_PLUGINS": PLUGINS,
            "SECRET_KEY": "chaos-secret", "APP_ENV": "development",
            **{key: int(value) for key, value in FAST.items()}, **overrides}


@pytest.fixture(scope="session")
def chaos_app(chaos_servers):
    from flask_migrate import upgrade

    app = create_extra_app(chaos_config(chaos_servers))
    with app.app_context():
        upgrade()
    return app


class WorkerProc:
    """A real `python worker.py --name NAME` process on the chaos servers."""

    def __init__(self, env: dict, name: str, log_dir: Path):
        self.name = name
        self.log_path = log_dir / f"{name}.log"
        self.log = open(self.log_path, "wb")  # noqa: SIM115 - closed in Chaos.close()
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "worker.py"), "--name", name], cwd=ROOT, env=env,
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def horse_pids(self) -> list[int]:
        try:
            return [child.pid for child in psutil.Process(self.process.pid).children()]
        except psutil.NoSuchProcess:
            return []

    def kill(self, horses: bool = True) -> None:
        """SIGKILL the worker (and, unless told otherwise, its work horses): no cleanup."""
        pids = self.horse_pids() if horses else []
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
                os.kill(pid, signal.SIGKILL)
        self.process.wait(10)


class Chaos:
    """What a chaos test works with: the app, the servers, workers and jobs."""

    def __init__(self, app, servers: Servers, log_dir: Path):
        self.app, self.servers, self.log_dir = app, servers, log_dir
        self.workers: list[WorkerProc] = []
        self.strays: list[int] = []  # processes a test orphaned (a horse outliving its worker)

    # -- workers -------------------------------------------------------------------
    def env(self, **settings) -> dict:
        env = {**os.environ, "DATABASE_URL": self.servers.database_url,
               "REDIS_URL": self.servers.redis_url, "PROVIDER_PLUGINS": PLUGINS,
               "PYTHONPATH": str(ROOT), **FAST, **{k: str(v) for k, v in settings.items()}}
        env.pop("APP_ENV", None)
        return env

    def start_worker(self, name: str, wait: bool = True, **settings) -> WorkerProc:
        worker = WorkerProc(self.env(**settings), name, self.log_dir)
        self.workers.append(worker)
        if wait:
            self.wait_registered(worker)
        return worker

    def wait_registered(self, worker: WorkerProc, timeout: float = 30) -> None:
        from rq import Worker

        def registered():
            if not worker.alive():
                raise AssertionError(f"worker {worker.name} exited:\n{worker.output()}")
            with contextlib.suppress(Exception):  # Redis may be restarting
                return any(w.name == worker.name and w.pid == worker.process.pid
                           for w in Worker.all(connection=self.redis()))
            return False

        wait_for(registered, timeout, f"worker {worker.name} to register")

    def redis(self) -> Redis:
        return Redis.from_url(self.servers.redis_url, socket_timeout=2)

    # -- jobs ----------------------------------------------------------------------
    def module_ids(self, module_type: str = "travel") -> list[int]:
        with psycopg.connect(self.db_url) as conn:
            return [r[0] for r in conn.execute(
                "SELECT id FROM modules WHERE module_type = %s ORDER BY id", (module_type,))]

    def submit(self, module_id: int, **config) -> int:
        from webapp.jobs import service
        from webapp.jobs.requests import SyncRequest

        with self.app.app_context():
            return service.create_job(SyncRequest(
                module_id=module_id, provider_type="synthetic", target_type="data_entries",
                year=2025, config=config), None).id

    def retry(self, job_id: int) -> int:
        from webapp.jobs import service

        with self.app.app_context():
            return service.retry_job(job_id, None).id

    @property
    def db_url(self) -> str:
        return libpq_url(self.servers.database_url)

    def row(self, job_id: int) -> dict:
        """The job as PostgreSQL holds it (read directly: status reads would reap)."""
        with psycopg.connect(self.db_url) as conn:
            status, code, message, meta = conn.execute(
                "SELECT status, status_code, message, metadata FROM data_ingestion_jobs "
                "WHERE id = %s", (job_id,)).fetchone()
        return {"status": status, "status_code": code, "message": message, "meta": meta}

    def entries(self, job_id: int | None = None) -> int:
        with psycopg.connect(self.db_url) as conn:
            if job_id is None:
                return conn.execute("SELECT count(*) FROM data_entries").fetchone()[0]
            return conn.execute("SELECT count(*) FROM data_entries WHERE job_id = %s",
                                (job_id,)).fetchone()[0]

    def active_jobs(self) -> list[int]:
        with psycopg.connect(self.db_url) as conn:
            return [r[0] for r in conn.execute(
                "SELECT id FROM data_ingestion_jobs WHERE status IN ('pending', "
                "'processing') ORDER BY id")]

    def wait_status(self, job_id: int, statuses: tuple[str, ...], timeout: float) -> dict:
        return wait_for(lambda: (row := self.row(job_id))["status"] in statuses and row,
                        timeout, f"job {job_id} to become {'/'.join(statuses)}: "
                        f"{self.row(job_id)}", interval=0.1)

    def wait_processing(self, job_id: int, timeout: float = 30) -> dict:
        """Until the job runs and has staged a batch (its data transaction is open)."""
        return wait_for(lambda: (row := self.row(job_id))["status"] == "processing"
                        and row["meta"].get("progress", {}).get("processed")
                        and row["meta"].get("data_session") and row,
                        timeout, f"job {job_id} to stage a batch")

    def horse_of(self, job_id: int) -> tuple[WorkerProc, int]:
        name = self.row(job_id)["meta"]["worker"]
        worker = next(w for w in self.workers if w.name == name)
        return worker, wait_for(worker.horse_pids, 10, f"{name}'s work horse")[0]

    def close(self) -> None:
        for worker in self.workers:
            worker.kill()
            worker.log.close()
        for pid in self.strays:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def chaos(chaos_app, chaos_servers, tmp_path):
    """A clean database and Redis, and a Chaos helper whose processes die with the test."""
    from webapp.cli import seed_demo
    from webapp.extensions import db
    from webapp.models import Inventory, Module

    if chaos_servers.redis.process is None or chaos_servers.redis.process.poll() is not None:
        chaos_servers.start_redis()  # a test that failed while Redis was down
    with psycopg.connect(libpq_url(chaos_servers.database_url), autocommit=True) as conn:
        conn.execute("SET lock_timeout = '30s'")
        conn.execute(truncate_statement())
    Redis.from_url(chaos_servers.redis_url).flushdb()
    with chaos_app.app_context():
        seed_demo(2025)
        for n in (2, 3):  # one travel module per inventory
            inventory = Inventory(name=f"Chaos unit {n}", year=2025, unit_code=f"C{n}")
            db.session.add(inventory)
            db.session.flush()
            db.session.add(Module(inventory_id=inventory.id, module_type="travel",
                                  name=f"Travel {n}"))
        db.session.commit()
        db.engine.dispose()  # the tests restart servers: start each test with no old sockets
    helper = Chaos(chaos_app, chaos_servers, tmp_path)
    yield helper
    helper.close()
