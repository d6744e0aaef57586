"""The test harness: a real PostgreSQL and a real Redis (private ones started from the
pip wheels unless TEST_DATABASE_URL / TEST_REDIS_URL are set), migrated once; each test
starts from truncated tables and a flushed Redis database; real RQ worker processes."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from redis import Redis

from tests.support.workers import settle
from webapp.config import libpq_url

ROOT = Path(__file__).resolve().parent.parent
PLUGINS = "tests.support.providers"
TEST_SETTINGS = {  # fast clocks for the worker-lost and progress tests
    "WORKER_LOST_AFTER_S": "6", "HEARTBEAT_INTERVAL_S": "1", "REAPER_INTERVAL_S": "2",
}


@pytest.fixture(scope="session")
def service_urls(tmp_path_factory):
    database_url = os.environ.get("TEST_DATABASE_URL")
    redis_url = os.environ.get("TEST_REDIS_URL")
    started = []
    if not database_url:
        from webapp.standalone.embedded import start_postgres
        server = start_postgres(tmp_path_factory.mktemp("pg") / "data", "carbonsync_test")
        started.append(server)
        database_url = server.url
    if not redis_url:
        from webapp.standalone.embedded import start_redis
        server = start_redis(tmp_path_factory.mktemp("redis"))
        started.append(server)
        redis_url = server.url.rsplit("/", 1)[0] + "/15"  # a dedicated database, flushed
    yield {"database_url": database_url, "redis_url": redis_url}
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def tableau_standin():
    """The Tableau stand-in (real HTTP, Tableau's wire protocol) that app and workers use."""
    from webapp.standalone.tableau_standin.server import StandIn

    standin = StandIn()
    standin.start()
    yield standin
    standin.stop()


def tableau_settings(standin) -> dict[str, str]:
    # A short timeout so the 504 test stays quick; faults are switched per test.
    return {**standin.settings(), "TABLEAU_TIMEOUT_S": "3"}


@pytest.fixture(scope="session")
def worker_env(service_urls, tableau_standin):
    env = {**os.environ, "DATABASE_URL": service_urls["database_url"],
           "REDIS_URL": service_urls["redis_url"], "PROVIDER_PLUGINS": PLUGINS,
           "PYTHONPATH": str(ROOT), **TEST_SETTINGS, **tableau_settings(tableau_standin)}
    env.pop("APP_ENV", None)
    return env


@pytest.fixture(scope="session")
def app(service_urls, tableau_standin):
    from flask_migrate import upgrade

    from webapp import create_app
    from webapp.config import sqlalchemy_url

    os.environ["PROVIDER_PLUGINS"] = PLUGINS
    app = create_app({
        "TESTING": True, "SQLALCHEMY_DATABASE_URI": sqlalchemy_url(service_urls["database_url"]),
        "REDIS_URL": service_urls["redis_url"], "PROVIDER_PLUGINS": PLUGINS,
        "SECRET_KEY": "test-secret", "APP_ENV": "development",
        **{key: int(value) for key, value in TEST_SETTINGS.items()},
        **tableau_settings(tableau_standin),
    })
    with app.app_context():
        upgrade()
    return app


TABLES = ("ingestion_row_errors", "data_entries", "emission_factors", "data_ingestion_jobs",
          "upload_chunks", "uploads", "api_tokens", "users", "modules", "inventories",
          "factor_types")


@pytest.fixture(autouse=True)
def clean_state(request, service_urls):
    """Every test starts with empty tables (plus the demo seed) and an empty Redis db."""
    if "app" not in request.fixturenames and "db_url" not in request.fixturenames:
        yield
        return
    app = request.getfixturevalue("app")
    for worker in list(RUNNING_WORKERS):  # a job left running would block the TRUNCATE
        settle(app, worker)
    with psycopg.connect(libpq_url(service_urls["database_url"]), autocommit=True) as conn:
        conn.execute("SET lock_timeout = '30s'")  # fail loudly rather than hang
        conn.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
    _flush_redis_except_workers(Redis.from_url(service_urls["redis_url"]))
    with app.app_context():
        from webapp.cli import seed_demo
        seed_demo(2025)
    yield


def _flush_redis_except_workers(conn: Redis) -> None:
    # The session worker's own registration must survive, or RQ would think it died.
    doomed = [key for key in conn.scan_iter(count=1000) if not key.startswith(b"rq:worker")]
    if doomed:
        conn.delete(*doomed)


@pytest.fixture
def db_url(service_urls):
    return libpq_url(service_urls["database_url"])


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield app


@pytest.fixture
def create_user(app):
    """Factory: create_user("editor") -> the user's id and email (password 'pw-<role>')."""
    from webapp.cli import create_user as make

    def factory(role: str = "editor", email: str | None = None):
        email = email or f"{role}-{time.monotonic_ns()}@example.org"
        with app.app_context():
            user = make(email, role, f"pw-{role}")
            return {"id": user.id, "email": email, "password": f"pw-{role}", "role": role}

    return factory


@pytest.fixture
def api_token(app):
    """Factory: api_token(user) -> a bearer token string."""
    from webapp.extensions import db
    from webapp.models import ApiToken, User

    def factory(user: dict, name: str = "tests") -> str:
        with app.app_context():
            owner = db.session.get(User, user["id"])
            row, clear = ApiToken.issue(owner, name)
            db.session.add(row)
            db.session.commit()
            return clear

    return factory


class ApiClient:
    """A Flask test client that sends a bearer token and answers JSON."""

    def __init__(self, client, token: str):
        self.client, self.headers = client, {"Authorization": f"Bearer {token}"}

    def get(self, path, **kw):
        return self.client.get(f"/api/v1{path}", headers=self.headers, **kw)

    def post(self, path, **kw):
        return self.client.post(f"/api/v1{path}", headers=self.headers, **kw)

    def wait(self, job_id: int, until=("completed", "failed", "cancelled"), timeout=60.0,
             seen: list | None = None) -> dict:
        """Poll the status endpoint until the job reaches one of `until`."""
        deadline = time.monotonic() + timeout
        while True:
            body = self.get(f"/sync/status/{job_id}").get_json()
            if seen is not None:
                seen.append(body)
            if body["status"] in until:
                return body
            if time.monotonic() > deadline:
                raise AssertionError(f"job {job_id} still {body['status']}: {body}")
            time.sleep(0.1)


@pytest.fixture
def api(app, create_user, api_token):
    """An editor's API client."""
    editor = create_user("editor")
    return ApiClient(app.test_client(), api_token(editor))


@pytest.fixture
def admin_api(app, create_user, api_token):
    return ApiClient(app.test_client(), api_token(create_user("admin")))


RUNNING_WORKERS: list[WorkerProcess] = []


class WorkerProcess:
    """A real `python worker.py` process (RQ forks a work horse for each job)."""

    def __init__(self, env: dict, name: str):
        self.name = name
        self.log_path = Path(env.get("TMPDIR", "/tmp")) / f"{name}.log"
        self.log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "worker.py"), "--name", name], cwd=ROOT, env=env,
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        RUNNING_WORKERS.append(self)

    def wait_ready(self, redis_url: str, timeout: float = 30) -> None:
        from rq import Worker
        deadline = time.monotonic() + timeout
        conn = Redis.from_url(redis_url)
        while not any(w.name == self.name for w in Worker.all(connection=conn)):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker {self.name} did not start:\n{self.output()}")
            time.sleep(0.1)

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def horse_pids(self) -> list[int]:
        import psutil
        try:
            return [child.pid for child in psutil.Process(self.process.pid).children()]
        except psutil.NoSuchProcess:
            return []

    def kill(self) -> None:
        """SIGKILL the worker and its work horse: no cleanup code runs anywhere."""
        horses = self.horse_pids()  # RQ puts each horse in its own process group
        if self in RUNNING_WORKERS:
            RUNNING_WORKERS.remove(self)
        os.killpg(self.process.pid, signal.SIGKILL)
        for pid in horses:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self in RUNNING_WORKERS:
            RUNNING_WORKERS.remove(self)
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


@pytest.fixture(scope="session")
def _session_worker(worker_env, service_urls):
    worker = WorkerProcess(worker_env, f"test-worker-{os.getpid()}")
    worker.wait_ready(service_urls["redis_url"])
    yield worker
    worker.stop()


@pytest.fixture
def worker(_session_worker, app, service_urls):
    """A running worker shared by the session (re-registered after each Redis flush)."""
    if _session_worker.process.poll() is not None:
        pytest.fail(f"the session worker died:\n{_session_worker.output()}")
    yield _session_worker


@pytest.fixture
def start_worker(worker_env, service_urls):
    """Factory for extra workers a test may kill; all stopped at the end of the test."""
    started = []

    def factory(name: str | None = None) -> WorkerProcess:
        name = name or f"test-worker-{len(started)}-{time.monotonic_ns()}"
        proc = WorkerProcess(worker_env, re.sub(r"[^\w-]", "", name))
        proc.wait_ready(service_urls["redis_url"])
        started.append(proc)
        return proc

    yield factory
    for proc in started:
        proc.stop()
