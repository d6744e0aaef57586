"""The failure webhook: a JSON POST to a schedule's `webhook_url` when its job fails.

Deliveries run on one background thread per process with a bounded queue, so a slow or
dead receiver never holds up the firing loop (nor, being outside the work horses, any
job). Each delivery has a short timeout and a few retries (urllib3's Retry); when the
queue is full the notice is dropped and logged rather than piling up in memory."""

from __future__ import annotations

import logging
import queue
import threading
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from webapp.ingestion.limits import clip_cell
from webapp.ingestion.refusals import Invalid

log = logging.getLogger("webapp.schedules")
TIMEOUT_S = (3, 5)  # connect, read
RETRIES = Retry(total=3, backoff_factor=0.5, status_forcelist=(429, 500, 502, 503, 504),
                allowed_methods=None, raise_on_status=False)
QUEUE_SIZE = 100
MAX_URL_LENGTH = 2000


def check_url(url: Any) -> str | None:
    """An http(s) URL with a host, or None for "no webhook"; Invalid (422) otherwise."""
    if url in (None, ""):
        return None
    if not isinstance(url, str) or len(url) > MAX_URL_LENGTH or "\x00" in url \
            or any(c.isspace() for c in url):
        raise Invalid("webhook_url must be an http:// or https:// URL of at most "
                      f"{MAX_URL_LENGTH} characters", field="webhook_url")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid(f"webhook_url {clip_cell(repr(url))} must be an http:// or https:// "
                      "URL with a host", field="webhook_url")
    return url


def where(url: str) -> str:
    """The receiver's scheme and host, for logs: the path or query may carry a token."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}"


def deliver(url: str, payload: dict[str, Any]) -> bool:
    """POST `payload` as JSON; True on a 2xx answer (after at most RETRIES)."""
    with requests.Session() as session:
        session.mount("http://", HTTPAdapter(max_retries=RETRIES))
        session.mount("https://", HTTPAdapter(max_retries=RETRIES))
        try:
            response = session.post(url, json=payload, timeout=TIMEOUT_S)
        except requests.RequestException as error:
            log.warning("webhook to %s for job %s failed: %s", where(url), payload["job_id"],
                        type(error).__name__)
            return False
    if not response.ok:
        log.warning("webhook to %s for job %s answered %s", where(url), payload["job_id"],
                    response.status_code)
    return response.ok


class Notifier:
    """One daemon thread sending queued webhook notices, started on first use."""

    def __init__(self) -> None:
        self.pending: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue(QUEUE_SIZE)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def send(self, url: str, payload: dict[str, Any]) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="webhooks",
                                                daemon=True)
                self._thread.start()
        try:
            self.pending.put_nowait((url, payload))
        except queue.Full:
            log.error("webhook queue full; notice for job %s dropped", payload["job_id"])

    def _run(self) -> None:
        while True:
            url, payload = self.pending.get()
            try:
                deliver(url, payload)
            except Exception:  # noqa: BLE001 - one bad notice must not stop the others
                log.exception("webhook for job %s failed", payload.get("job_id"))
            finally:
                self.pending.task_done()


notifier = Notifier()
