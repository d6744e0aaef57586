"""pytest plugin: real RQ worker processes (`python worker.py`), a queue none of them
listens to (idle_queue), waiting until their jobs are done (wait_idle), and letting them
finish before the next test wipes the database."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from redis import Redis

from tests.support.polling import wait_for
from tests.support.settings import (
    PLUGINS,
    ROOT,
    TEST_SETTINGS,
    hr_settings,
    tableau_settings,
)

RUNNING_WORKERS: list[WorkerProcess] = []
IDLE_QUEUE = "ingestion-nobody-listens"  # see idle_queue


class WorkerProcess:
    """A real `python worker.py` process (RQ forks a work horse for each job)."""

    def __init__(self, env: dict, name: str):
        self.name = name
        self.log_path = Path(env.get("TMPDIR", "/tmp")) / f"{name}.log"
        self.log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        # Its PostgreSQL sessions (and its work horses') carry its name: libpq reads
        # PGAPPNAME into pg_stat_activity.application_name.
        env = {**env, "PGAPPNAME": name}
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "worker.py"), "--name", name], cwd=ROOT, env=env,
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        RUNNING_WORKERS.append(self)

    def wait_ready(self, redis_url: str, timeout: float = 30) -> None:
        from rq import Worker
        conn = Redis.from_url(redis_url)

        def registered() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker {self.name} exited:\n{self.output()}")
            return any(w.name == self.name for w in Worker.all(connection=conn))

        wait_for(registered, timeout, lambda: f"worker {self.name} to start:\n{self.output()}")

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


def wait_until_idle(worker: WorkerProcess, timeout: float = 30.0) -> None:
    """Wait until `worker` has no work horse running.

    A cancelled job stops at its next check, not at once. Until then its data
    transaction is open, the next test's TRUNCATE queues behind it, and the job's own
    progress updates queue behind the TRUNCATE: a deadlock PostgreSQL cannot see.
    """
    wait_for(lambda: not worker.horse_pids(), timeout, f"worker {worker.name} to be idle")


def unfinished_jobs(db_url: str, module_id: int | None = None,
                    recalculations: bool = False) -> list[tuple[int, str, str]]:
    """(id, provider type, status) of the jobs still pending or processing, in `module_id`
    or in any module.

    With `recalculations`, also of the completed loads (previews aside) that no
    recalculation of their module ended after: a load queues its recalculation only once
    it has committed, so "no active job" alone can be seen in between.
    """
    in_module = "AND j.module_id = %(module_id)s" if module_id is not None else ""
    query = f"""
        SELECT j.id, j.provider_type, j.status FROM data_ingestion_jobs j
        WHERE (j.status IN ('pending', 'processing') {in_module})
           OR (%(recalculations)s AND j.status = 'completed' {in_module}
               AND j.target_type <> 'emissions' AND j.metadata->>'dry_run' IS NULL
               AND j.completed_at > coalesce((
                   SELECT max(r.completed_at) FROM data_ingestion_jobs r
                   WHERE r.module_id = j.module_id AND r.target_type = 'emissions'),
                   '-infinity'))
        ORDER BY j.id"""
    with psycopg.connect(db_url) as conn:
        return conn.execute(query, {"module_id": module_id,
                                    "recalculations": recalculations}).fetchall()


@pytest.fixture
def wait_idle(db_url, worker) -> Callable[..., None]:
    """wait_idle(module_id=None, recalculations=False, timeout=60): wait until no job is
    pending or processing (in that module, or in any) and the session worker runs no work
    horse; with `recalculations`, until every completed load has been recalculated after
    too (see unfinished_jobs)."""

    def wait(module_id: int | None = None, recalculations: bool = False,
             timeout: float = 60.0) -> None:
        left: list = []

        def idle() -> bool:
            left[:] = unfinished_jobs(db_url, module_id, recalculations)
            left.extend(f"{worker.name}'s work horse {pid}" for pid in worker.horse_pids())
            return not left

        wait_for(idle, timeout, lambda: f"the jobs to end and the worker to be idle: {left}")

    return wait


def cancel_active(app) -> None:
    """Cancel the jobs a test left pending or processing."""
    from webapp.errors import Refusal
    from webapp.jobs import queries, service

    with app.app_context():
        for job in queries.active_jobs():
            with contextlib.suppress(Refusal):  # it may have ended meanwhile
                service.cancel_job(job.id, None)


def settle(app, worker: WorkerProcess) -> None:
    """Cancel the jobs a test left pending or processing, and let the worker finish."""
    cancel_active(app)
    wait_until_idle(worker)


@pytest.fixture
def settled(app, worker):
    """Jobs the test leaves running are cancelled and finished before the next test
    (`pytestmark = pytest.mark.usefixtures("settled")` in a module of page tests)."""
    yield worker
    settle(app, worker)


@pytest.fixture
def idle_queue(app, monkeypatch) -> str:
    """Jobs the test queues stay pending, so nothing runs meanwhile: they go to a queue no
    worker listens to (RQ_QUEUE is a setting; the session worker, once started by any
    test, listens on the default one). Returns the queue's name."""
    monkeypatch.setitem(app.config, "RQ_QUEUE", IDLE_QUEUE)
    return IDLE_QUEUE


@pytest.fixture(scope="session")
def worker_env(service_urls, tableau_standin, hr_standin):
    env = {**os.environ, "DATABASE_URL": service_urls["database_url"],
           "REDIS_URL": service_urls["redis_url"], "PROVIDER_PLUGINS": PLUGINS,
           "PYTHONPATH": str(ROOT), **TEST_SETTINGS, **tableau_settings(tableau_standin),
           **hr_settings(hr_standin),
           # No scheduler loop in the session worker: the schedule tests start workers
           # with one (tests/support/schedules.py), and a second loop would race theirs
           # to fire a due time or announce a failure.
           "SCHEDULER_INTERVAL_S": "0"}
    env.pop("APP_ENV", None)
    return env


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
