"""One background thread that runs an action every few seconds inside the app context:
the job's heartbeat (runner.py) and the worker's reaper (reaper.py)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from flask import Flask

from webapp.extensions import db

log = logging.getLogger("webapp.ingestion")


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
                try:
                    self.action()
                except Exception:  # noqa: BLE001 - the next round tries again
                    log.exception("%s round failed", self.name, extra={"job_id": self.job_id})
                finally:
                    db.session.remove()
