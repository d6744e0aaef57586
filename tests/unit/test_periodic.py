"""Periodic rounds and forks never overlap: a work horse forked mid-round would inherit
the locks that round held (an import lock, a pool's) and hang before its first line."""

from __future__ import annotations

import os
import threading
import time

from webapp.jobs import periodic


def test_a_fork_waits_for_the_running_round_and_the_child_can_run_rounds(app):
    in_round, round_ended = threading.Event(), []

    def slow_round():
        in_round.set()
        time.sleep(0.5)
        round_ended.append(time.monotonic())

    thread = periodic.Periodic(app, 0.01, slow_round, name="slow")
    thread.start()
    try:
        assert in_round.wait(5)
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: the lock must be free here, or its own rounds would hang
            free = periodic.ROUND_LOCK.acquire(timeout=1)
            os.write(write_end, b"1" if free else b"0")
            os._exit(0)
        forked_at = time.monotonic()
        os.close(write_end)
        assert os.read(read_end, 1) == b"1", "the child inherited a held round lock"
        os.waitpid(pid, 0)
        assert round_ended and forked_at >= round_ended[0], "the fork landed mid-round"
    finally:
        thread.stopped.set()
        thread.join(5)
