"""The one polling helper of the suite: wait until something becomes true."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(condition: Callable[[], T], timeout: float = 30.0,
             what: str | Callable[[], str] = "the condition", interval: float = 0.1) -> T:
    """Call `condition` until it returns something truthy, and return that.

    Raises AssertionError naming `what` (a string, or a function giving one, called only
    then, e.g. to show the last state seen) after `timeout` seconds. `condition` may raise
    to stop early, e.g. when the process it waits for has died.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            described = what() if callable(what) else what
            raise AssertionError(f"timed out after {timeout:g} s waiting for {described}")
        time.sleep(interval)
