"""The RQ worker our `worker.py` runs: one that rides out Redis outages.

The job row in PostgreSQL is the truth (SPEC §2), so RQ's own bookkeeping in Redis
(heartbeats, results, registries) is best effort here: when Redis is away a running job
goes on, and what RQ could not record is simply lost. `run_worker()` starts the work
loop again, with backoff, whenever it ends on a Redis error, instead of exiting.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import time
from datetime import UTC, datetime, timedelta

import redis.exceptions
from flask import Flask
from redis import Redis
from rq import Queue, Worker, worker_registration
from rq.exceptions import StopRequested
from rq.utils import utcparse

from webapp.extensions import db

log = logging.getLogger("webapp.jobs")
REDIS_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
# RQ's default is 420 s: a crashed worker's registration (and name) would live that
# long. With 60 s an idle worker still heartbeats every 45 s (its dequeue timeout).
WORKER_TTL_S = 60
BACKOFF_S = (1, 2, 4, 8, 15)  # between restarts of the work loop; then every 15 s


def horse_killed_message(ret_val: int | None) -> str:
    cause = ""
    if ret_val is not None and os.WIFSIGNALED(ret_val):
        number = os.WTERMSIG(ret_val)
        cause = f" by signal {number} ({signal.Signals(number).name})"
    return (f"Worker lost: the job's process was killed{cause}, e.g. out of memory or by "
            "an operator; nothing was written. Retry the job.")


class ResilientWorker(Worker):
    """An RQ Worker whose Redis bookkeeping never kills it or its work horse."""

    stopping = False  # SIGTERM/SIGINT received: run_worker must not start it again

    def request_stop(self, signum, frame):
        self.stopping = True
        super().request_stop(signum, frame)

    def heartbeat(self, *args, **kwargs):
        try:
            super().heartbeat(*args, **kwargs)
            if kwargs.get("pipeline") is None and not self.is_horse:
                self._register_again_if_forgotten()
        except REDIS_ERRORS as error:
            self.log.warning("Worker %s: heartbeat not sent, Redis unreachable: %s",
                             self.name, error)

    def _register_again_if_forgotten(self) -> None:
        """A Redis that came back empty forgot this worker: `rq info` would not list it."""
        if not self.connection.sismember(worker_registration.REDIS_WORKER_KEYS, self.key):
            with self.connection.pipeline() as pipeline:
                pipeline.hset(self.key, mapping=self.serialize())
                worker_registration.register(self, pipeline)
                pipeline.expire(self.key, self.worker_ttl + 60)
                pipeline.execute()
            self.log.warning("Worker %s: registered again (Redis had forgotten it)", self.name)

    def maintain_heartbeats(self, *args, **kwargs):
        try:
            super().maintain_heartbeats(*args, **kwargs)
        except REDIS_ERRORS as error:
            self.log.warning("Worker %s: job heartbeat not sent, Redis unreachable: %s",
                             self.name, error)

    def handle_job_success(self, job, *args, **kwargs):
        try:
            super().handle_job_success(job, *args, **kwargs)
        except REDIS_ERRORS as error:  # in the horse, after our job ended in PostgreSQL
            self.log.warning("Worker %s: result of %s not recorded in Redis: %s",
                             self.name, job.id, error)

    def handle_job_failure(self, job, *args, **kwargs):
        try:
            super().handle_job_failure(job, *args, **kwargs)
        except REDIS_ERRORS as error:
            self.log.warning("Worker %s: failure of %s not recorded in Redis: %s",
                             self.name, job.id, error)

    def handle_work_horse_killed(self, job, retpid, ret_val, rusage):
        """The horse died under us (SIGKILL, OOM): fail its job now, not at the reaper's
        next look at the heartbeats."""
        super().handle_work_horse_killed(job, retpid, ret_val, rusage)
        from webapp.jobs.reaper import end_lost_job

        if not job.args:
            return
        try:
            end_lost_job(int(job.args[0]), horse_killed_message(ret_val))
        except Exception:  # noqa: BLE001 - the reaper fails it later instead
            self.log.exception("Worker %s: could not fail job %s", self.name, job.id)
        finally:
            db.session.remove()


def free_name(connection: Redis, name: str) -> None:
    """Let a new worker take `name` when the worker registered under it is dead: on
    this host with its process gone (or it is this very process, after an outage), or
    anywhere with a heartbeat older than its registration's lifetime."""
    key = Worker.redis_worker_namespace_prefix + name
    fields = connection.hgetall(key)
    if not fields or b"death" in fields:
        return
    pid = int(fields.get(b"pid") or 0)
    same_host = fields.get(b"hostname", b"").decode() == socket.gethostname()
    beat = fields.get(b"last_heartbeat")
    stale = beat is not None and (datetime.now(UTC) - utcparse(beat.decode())
                                  > timedelta(seconds=2 * WORKER_TTL_S))
    if not (stale or (same_host and (pid == os.getpid() or not _alive(pid)))):
        return
    old = Worker.find_by_key(key, connection=connection)
    if old is not None:
        old.register_death()
    log.warning("worker name %s was held by a dead worker (pid %s); freed", name, pid)


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def run_worker(app: Flask, connection: Redis, queue_names: list[str], name: str, *,
               burst: bool = False) -> None:
    """Run the work loop until stopped (SIGTERM/SIGINT) or, with `burst`, until the queues
    are empty; after a Redis error, start it again with backoff."""
    failures = 0
    while True:
        worker = ResilientWorker([Queue(q, connection=connection) for q in queue_names],
                                 connection=connection, name=name, worker_ttl=WORKER_TTL_S)
        started = time.monotonic()
        try:
            free_name(connection, name)
            worker.work(burst=burst, logging_level=app.config.get("LOG_LEVEL", "INFO"))
        except REDIS_ERRORS as error:
            reason = f"Redis unreachable ({error})"
        else:
            if worker.stopping or burst:
                return
            reason = "the work loop ended (see above)"
        if time.monotonic() - started > 60:
            failures = 0  # it ran a while: the next outage starts the backoff afresh
        wait = BACKOFF_S[min(failures, len(BACKOFF_S) - 1)]
        failures += 1
        log.warning("worker %s: %s; starting again in %s s", name, reason, wait)
        try:
            time.sleep(wait)
        except StopRequested:  # SIGTERM while waiting: RQ's handler is still installed
            return
        if worker.stopping:  # the same, when RQ still believed itself busy
            return
