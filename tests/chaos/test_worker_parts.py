"""The parts the chaos tests rely on, checked alone: which database errors count as a
lost connection, and when a worker name held in Redis may be taken over."""

from __future__ import annotations

import os
import socket
import subprocess

import psycopg
import psycopg.errors
import pytest
from redis import Redis
from sqlalchemy.exc import OperationalError

from webapp.jobs.lifecycle import connection_lost
from webapp.jobs.worker import free_name, horse_killed_message


@pytest.mark.parametrize(("error", "lost"), [
    (psycopg.OperationalError("server closed the connection unexpectedly"), True),
    (psycopg.errors.AdminShutdown("terminating connection"), True),
    (psycopg.errors.ConnectionFailure("connection failure"), True),
    (OperationalError("COPY", {}, psycopg.errors.AdminShutdown("x")), True),
    (psycopg.errors.LockNotAvailable("lock timeout"), False),  # a refusal, not a loss
    (psycopg.errors.QueryCanceled("statement timeout"), False),
    (psycopg.errors.UniqueViolation("duplicate"), False),
    (RuntimeError("anything else"), False),
])
def test_only_a_vanished_server_counts_as_a_lost_database(error, lost):
    assert connection_lost(error) is lost


def test_the_killed_horse_message_names_the_signal():
    assert "killed by signal 9 (SIGKILL)" in horse_killed_message(9)  # wait status 9 = SIGKILL
    assert "Retry the job" in horse_killed_message(None)


def _register(redis: Redis, name: str, pid: int, host: str | None = None,
              beat: str = "2999-01-01T00:00:00.000000Z") -> str:
    key = f"rq:worker:{name}"
    redis.hset(key, mapping={"pid": pid, "hostname": host or socket.gethostname(),
                             "queues": "ingestion", "last_heartbeat": beat})
    redis.sadd("rq:workers", key)
    return key


def test_a_name_is_freed_only_when_its_worker_is_dead(chaos_servers):
    redis = Redis.from_url(chaos_servers.redis_url)
    redis.flushdb()
    live = _register(redis, "held-by-live", os.getppid())  # a live process, not this one
    free_name(redis, "held-by-live")
    assert not redis.hexists(live, "death")

    elsewhere = _register(redis, "held-elsewhere", 1, host="another-machine")
    free_name(redis, "held-elsewhere")  # its heartbeat is fresh: it may well be alive
    assert not redis.hexists(elsewhere, "death")
    silent = _register(redis, "silent-elsewhere", 1, host="another-machine",
                       beat="2020-01-01T00:00:00.000000Z")
    free_name(redis, "silent-elsewhere")  # no heartbeat for years: dead
    assert redis.hexists(silent, "death")

    gone = subprocess.Popen(["true"])
    gone.wait()
    dead = _register(redis, "held-by-dead", gone.pid)
    free_name(redis, "held-by-dead")
    assert redis.hexists(dead, "death")
    assert not redis.sismember("rq:workers", dead)
