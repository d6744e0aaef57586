"""Keeps the standalone mode's processes alive: a worker, the web server or Redis that
dies is started again, with a growing pause, and at most MAX_RESTARTS times in
RESTART_WINDOW_S (a process that keeps dying is a fault to show, not to hide)."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

MAX_RESTARTS = 5
RESTART_WINDOW_S = 300.0
FIRST_PAUSE_S = 1.0
LONGEST_PAUSE_S = 30.0


class Running(Protocol):
    def poll(self) -> int | None: ...


class GaveUp(Exception):
    """A process died more than MAX_RESTARTS times in RESTART_WINDOW_S."""


@dataclass
class Supervised:
    """One process: `start()` runs it and returns its handle (a Popen or alike)."""

    name: str
    start: Callable[[], Running]
    handle: Running | None = None
    restarts: deque[float] = field(default_factory=deque)
    due_at: float | None = None  # when a restart is due, after a pause

    def launch(self) -> None:
        self.handle = self.start()

    def pause_s(self) -> float:
        return min(FIRST_PAUSE_S * 2 ** (len(self.restarts) - 1), LONGEST_PAUSE_S)


class Supervisor:
    def __init__(self, log: Callable[[str], None] = print,
                 clock: Callable[[], float] = time.monotonic):
        self.processes: list[Supervised] = []
        self.log, self.clock = log, clock

    def add(self, name: str, start: Callable[[], Running]) -> Supervised:
        process = Supervised(name, start)
        process.launch()
        self.processes.append(process)
        return process

    def check(self) -> None:
        """One round: notice deaths, restart those whose pause is over.

        Raises:
            GaveUp: a process died too often; the caller stops everything.
        """
        now = self.clock()
        for process in self.processes:
            if process.due_at is None:
                code = process.handle.poll() if process.handle is not None else 0
                if code is None:
                    continue
                while process.restarts and now - process.restarts[0] > RESTART_WINDOW_S:
                    process.restarts.popleft()
                if len(process.restarts) >= MAX_RESTARTS:
                    raise GaveUp(f"{process.name} exited {MAX_RESTARTS + 1} times in "
                                 f"{RESTART_WINDOW_S / 60:.0f} minutes (last exit code "
                                 f"{code}); stopping everything.")
                process.restarts.append(now)
                process.due_at = now + process.pause_s()
                self.log(f"{process.name} exited (code {code}); restarting in "
                         f"{process.pause_s():.0f} s (restart {len(process.restarts)} of at "
                         f"most {MAX_RESTARTS} in {RESTART_WINDOW_S / 60:.0f} minutes).")
            elif now >= process.due_at:
                process.due_at = None
                try:
                    process.launch()
                except Exception as error:  # noqa: BLE001 - try again after the next pause
                    process.handle = None
                    self.log(f"{process.name} did not start again: {error}")
                    continue
                self.log(f"{process.name} restarted.")
