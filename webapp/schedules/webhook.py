"""The failure webhook: a JSON POST to a schedule's `webhook_url` when its job fails.

The URL is checked when stored and again at each delivery (webapp/outbound): http(s)
only, no user name or password, every address of its host public unless
WEBHOOK_ALLOW_PRIVATE is set; the POST goes to the checked address, and a redirect is a
failed delivery, never followed.

Deliveries run on one background thread per process with a bounded queue, so a slow or
dead receiver never holds up the firing loop (nor, being outside the work horses, any
job). Each delivery has a short timeout and a few retries (urllib3's Retry); when the
queue is full the notice is dropped and logged rather than piling up in memory."""

from __future__ import annotations

import json
import logging
import queue
import threading
from typing import Any
from urllib.parse import urlsplit

from urllib3.exceptions import HTTPError, MaxRetryError

from webapp.errors import Invalid
from webapp.outbound import destinations, pinned

log = logging.getLogger("webapp.schedules")
QUEUE_SIZE = 100
FIELD = "webhook_url"


def check_url(url: Any, allow_private: bool) -> str | None:
    """The URL, or None for "no webhook".

    Raises:
        Invalid (422, field webhook_url): as webapp.outbound.destinations.check says.
    """
    if url in (None, ""):
        return None
    destinations.check(url, FIELD, allow_private)
    return url


def where(url: str) -> str:
    """The receiver's scheme and host, for logs: the path or query may carry a token."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    return f"{parts.scheme}://{f'[{host}]' if ':' in host else host}"


def masked(url: str | None) -> str | None:
    """What people who may not change the schedule see: `https://hooks.example.org/…`."""
    return f"{where(url)}/…" if url else url


def deliver(url: str, payload: dict[str, Any], allow_private: bool = False, *,
            ca_certs: str | None = None) -> bool:
    """POST `payload` as JSON; True on a 2xx answer (after at most pinned.RETRIES).

    The host is resolved and checked now; each checked address is tried in turn until
    one answers. Nothing is sent when any address is refused.
    """
    job = payload.get("job_id")
    try:
        target = destinations.destination(url, FIELD)
        addresses = target.addresses(allow_private)
    except Invalid as refused:
        log.warning("webhook to %s for job %s not sent: %s", where(url), job, refused.message)
        return False
    body = json.dumps(payload).encode()
    for address in addresses:
        try:
            status = pinned.post_json(target, address, body, ca_certs=ca_certs)
        except (HTTPError, OSError) as error:  # no answer from this address: try the next
            cause = error.reason if isinstance(error, MaxRetryError) else error
            log.warning("webhook to %s (%s) for job %s failed: %s", where(url), address, job,
                        type(cause).__name__)
            continue
        if 300 <= status < 400:
            log.warning("webhook to %s for job %s answered %s: redirects are not followed",
                        where(url), job, status)
        elif not 200 <= status < 300:
            log.warning("webhook to %s for job %s answered %s", where(url), job, status)
        return 200 <= status < 300
    return False


class Notifier:
    """One daemon thread sending queued webhook notices, started on first use."""

    def __init__(self) -> None:
        self.pending: queue.Queue[tuple[str, dict[str, Any], bool]] = queue.Queue(QUEUE_SIZE)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def send(self, url: str, payload: dict[str, Any], allow_private: bool = False) -> None:
        """Queue a notice; `allow_private` is the sending app's WEBHOOK_ALLOW_PRIVATE (the
        thread has no app context to read it from)."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="webhooks",
                                                daemon=True)
                self._thread.start()
        try:
            self.pending.put_nowait((url, payload, allow_private))
        except queue.Full:
            log.error("webhook queue full; notice for job %s dropped", payload["job_id"])

    def _run(self) -> None:
        while True:
            url, payload, allow_private = self.pending.get()
            try:
                deliver(url, payload, allow_private)
            except Exception:  # noqa: BLE001 - one bad notice must not stop the others
                log.exception("webhook for job %s failed", payload.get("job_id"))
            finally:
                self.pending.task_done()


notifier = Notifier()
