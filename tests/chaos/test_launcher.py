"""`make run` end to end, in a private instance directory: it serves, a SIGKILLed worker
and a SIGKILLed Redis come back by themselves (the same Redis port, so every URL stays
right), and SIGINT (Ctrl-C) still stops everything it started."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
import requests
from redis import Redis
from rq import Worker

from tests.support.polling import wait_for
from webapp.standalone.embedded import free_port

ROOT = Path(__file__).resolve().parents[2]


def _children(launcher: psutil.Process, needle: str) -> list[psutil.Process]:
    found = []
    for child in launcher.children(recursive=True):
        try:
            if child.status() != psutil.STATUS_ZOMBIE and needle in " ".join(child.cmdline()):
                found.append(child)
        except psutil.Error:  # gone meanwhile
            continue
    return found


@pytest.fixture
def standalone(tmp_path):
    port = free_port()
    env = {key: value for key, value in os.environ.items()
           if key not in ("DATABASE_URL", "REDIS_URL", "APP_ENV")}
    env.update(INSTANCE_PATH=str(tmp_path / "instance"), PORT=str(port), PYTHONPATH=str(ROOT))
    log = open(tmp_path / "launcher.log", "w+b")  # noqa: SIM115 - read back below
    process = subprocess.Popen([sys.executable, "-m", "webapp.standalone"], cwd=ROOT, env=env,
                               stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"

    def serving() -> bool:
        try:
            return requests.get(f"{base}/api/v1/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    try:
        wait_for(serving, 120, "make run to serve")
        yield process, base, tmp_path, serving, log
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for leftover in psutil.process_iter(["cmdline"]):  # nothing of this run may linger
            if str(tmp_path) in " ".join(leftover.info["cmdline"] or []):
                leftover.kill()


def _output(log) -> str:
    log.flush()
    log.seek(0)
    return log.read().decode(errors="replace")


def test_dead_children_come_back_and_ctrl_c_stops_everything(standalone):
    process, base, tmp_path, serving, log = standalone
    launcher = psutil.Process(process.pid)

    worker = wait_for(lambda: _children(launcher, "worker.py"), 30, "the worker")[0]
    worker.kill()
    wait_for(lambda: [w for w in _children(launcher, "worker.py") if w.pid != worker.pid],
             30, "a new worker")
    assert "worker standalone-worker-1 exited (code -9)" in _output(log)

    redis_pid, redis_port = map(int, (tmp_path / "instance" / "redis" / "server.pid")
                                .read_text().split())
    os.kill(redis_pid, signal.SIGKILL)
    wait_for(lambda: (tmp_path / "instance" / "redis" / "server.pid").read_text().split()[0]
             != str(redis_pid), 30, "a new Redis")
    new_pid, new_port = map(int, (tmp_path / "instance" / "redis" / "server.pid")
                            .read_text().split())
    assert new_port == redis_port
    wait_for(serving, 30, "healthz to see Redis again")
    assert "Redis restarted." in _output(log)
    redis_url = json.loads((tmp_path / "instance" / "services.json").read_text())["redis_url"]
    wait_for(lambda: "standalone-worker-1" in {
        worker.name for worker in Worker.all(connection=Redis.from_url(redis_url))},
        60, "the worker to listen on the new Redis")

    children = launcher.children(recursive=True)
    process.send_signal(signal.SIGINT)
    assert process.wait(60) == 0
    gone, alive = psutil.wait_procs(children, timeout=30)
    assert not alive, [p.cmdline() for p in alive]
    assert not psutil.pid_exists(new_pid)
    assert "Stopped." in _output(log)
    with pytest.raises(requests.RequestException):
        requests.get(f"{base}/login", timeout=2)
