"""`InOrder`: a thread that handles submitted items one at a time, in order, so that the
job's thread can go on meanwhile (a sink's COPY while the next batch is validated; the
copy of replaced rows while the load goes on)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any


class InOrder(threading.Thread):
    """Runs `handle(item)` for each submitted item, in order, on its own thread.

    The queue is short: memory stays bounded, and a slow handler slows the submitter
    instead of filling RAM. The first error stops the handling; it is raised in the
    submitter's thread at its next `submit()` or at `close()`.
    """

    _END = object()

    def __init__(self, handle: Callable[[Any], None], name: str, depth: int = 2):
        super().__init__(daemon=True, name=name)
        self._handle = handle
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._stopping = False
        self.error: BaseException | None = None

    def run(self) -> None:
        while (item := self._queue.get()) is not self._END:
            if self.error is None and not self._stopping:
                try:
                    self._handle(item)
                except BaseException as error:  # noqa: BLE001 - handed to the submitter
                    self.error = error

    def submit(self, item: Any) -> None:
        if self.error is not None:
            raise self.error
        if not self.is_alive():
            self.start()
        self._queue.put(item)

    def close(self, *, discard: bool = False) -> None:
        """Wait until every item is handled (or, with `discard`, skip the rest); re-raise
        the error that stopped the handling, if any, unless discarding."""
        if self.is_alive():
            self._stopping = discard
            self._queue.put(self._END)
            self.join()
        if self.error is not None and not discard:
            raise self.error
