"""`make run` end to end, in a private instance directory: it serves, a SIGKILLed worker
and a SIGKILLed Redis come back by themselves (the same Redis port, so every URL stays
right), and SIGINT (Ctrl-C) still stops everything it started."""

from __future__ import annotations

import json
import os
import signal

import pytest
import requests
from redis import Redis
from rq import Worker

from tests.support.launcher import launched
from tests.support.polling import wait_for


def test_dead_children_come_back_and_ctrl_c_stops_everything(tmp_path):
    with launched(tmp_path) as run:
        worker = wait_for(lambda: run.children("worker.py"), 30, "the worker")[0]
        worker.kill()
        wait_for(lambda: [w for w in run.children("worker.py") if w.pid != worker.pid],
                 30, "a new worker")
        assert "worker standalone-worker-1 exited (code -9)" in run.output()

        pid_file = run.instance / "redis" / "server.pid"
        redis_pid, redis_port = map(int, pid_file.read_text().split())
        os.kill(redis_pid, signal.SIGKILL)
        wait_for(lambda: pid_file.read_text().split()[0] != str(redis_pid), 30, "a new Redis")
        new_pid, new_port = map(int, pid_file.read_text().split())
        assert new_port == redis_port
        wait_for(run.serving, 30, "healthz to see Redis again")
        assert "Redis restarted." in run.output()
        redis_url = json.loads((run.instance / "services.json").read_text())["redis_url"]
        wait_for(lambda: "standalone-worker-1" in {
            worker.name for worker in Worker.all(connection=Redis.from_url(redis_url))},
            60, "the worker to listen on the new Redis")

        everything = run.everything()
        assert new_pid in {process.pid for process in everything}
        run.process.send_signal(signal.SIGINT)
        run.assert_all_stopped(everything)
        with pytest.raises(requests.RequestException):
            requests.get(f"{run.base}/login", timeout=2)
