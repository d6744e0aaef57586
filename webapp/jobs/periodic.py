"""One background thread that runs an action every few seconds inside the app context:
the job's heartbeat (runner.py), the worker's reaper (reaper.py) and scheduler.

A worker forks a work horse per job while these threads run. A fork that lands while a
thread is mid-round copies whatever lock that thread held (an import lock, a connection
pool's) into the horse, held forever: the horse hangs before its first line. So a round
and a fork never overlap: each round holds ROUND_LOCK, and every fork of this process
waits for it (os.register_at_fork).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

from flask import Flask

from webapp.extensions import db

log = logging.getLogger("webapp.jobs")

ROUND_LOCK = threading.Lock()
os.register_at_fork(before=ROUND_LOCK.acquire, after_in_parent=ROUND_LOCK.release,
                    after_in_child=ROUND_LOCK.release)


class Periodic(threading.Thread):
    """Calls `action()` every `interval` seconds until `stopped` is set. A failed round is
    logged and tried again next interval; each round gets a fresh database session."""

    def __init__(self, app: Flask, interval: float, action: Callable[[], object], *,
                 name: str, job_id: int | None = None):
        super().__init__(daemon=True, name=name)
        self.app, self.interval, self.action, self.job_id = app, interval, action, job_id
        self.stopped = threading.Event()

    def run(self) -> None:
        with self.app.app_context():
            while not self.stopped.wait(self.interval):
                with ROUND_LOCK:
                    try:
                        self.action()
                    except Exception:  # noqa: BLE001 - the next round tries again
                        log.exception("%s round failed", self.name,
                                      extra={"job_id": self.job_id})
                    finally:
                        db.session.remove()
