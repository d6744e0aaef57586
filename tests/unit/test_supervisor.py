"""The standalone supervisor: dead processes are restarted after a growing pause, at
most MAX_RESTARTS times in RESTART_WINDOW_S, then it gives up loudly."""

from __future__ import annotations

import pytest

from webapp.standalone import supervisor as sv


class FakeProcess:
    def __init__(self):
        self.code: int | None = None

    def poll(self) -> int | None:
        return self.code


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def setup():
    clock, lines, started = Clock(), [], []

    def start():
        started.append(FakeProcess())
        return started[-1]

    supervisor = sv.Supervisor(log=lines.append, clock=clock)
    supervisor.add("worker w1", start)
    return supervisor, clock, lines, started


def test_a_live_process_is_left_alone(setup):
    supervisor, clock, lines, started = setup
    for _ in range(3):
        clock.now += 10
        supervisor.check()
    assert len(started) == 1 and lines == []


def test_a_dead_process_is_restarted_after_a_pause_and_logged(setup):
    supervisor, clock, lines, started = setup
    started[-1].code = -9
    supervisor.check()
    assert len(started) == 1, "not before the pause"
    assert "worker w1 exited (code -9); restarting in 1 s" in lines[-1]
    clock.now += sv.FIRST_PAUSE_S
    supervisor.check()
    assert len(started) == 2 and lines[-1] == "worker w1 restarted."


def test_the_pause_grows_with_each_restart(setup):
    supervisor, clock, lines, started = setup
    pauses = []
    for _ in range(4):
        started[-1].code = 1
        supervisor.check()
        pauses.append(supervisor.processes[0].due_at - clock.now)
        clock.now += pauses[-1]
        supervisor.check()
    assert pauses == [1.0, 2.0, 4.0, 8.0]


def test_it_gives_up_after_too_many_deaths_in_the_window(setup):
    supervisor, clock, lines, started = setup
    for _ in range(sv.MAX_RESTARTS):
        started[-1].code = 1
        supervisor.check()
        clock.now += sv.LONGEST_PAUSE_S
        supervisor.check()
    started[-1].code = 1
    with pytest.raises(sv.GaveUp, match="worker w1 exited 6 times"):
        supervisor.check()


def test_old_restarts_leave_the_window(setup):
    supervisor, clock, lines, started = setup
    for _ in range(sv.MAX_RESTARTS + 3):
        started[-1].code = 1
        supervisor.check()
        clock.now += sv.RESTART_WINDOW_S + 1  # each death long after the one before
        supervisor.check()
    assert len(started) == sv.MAX_RESTARTS + 4


def test_a_failed_start_is_tried_again(setup):
    supervisor, clock, lines, started = setup
    attempts = []

    def flaky():
        attempts.append(1)
        if len(attempts) == 1:
            raise OSError("port in use")
        return FakeProcess()

    supervisor.processes[0].start = flaky
    started[-1].code = 1
    supervisor.check()
    clock.now += 1
    supervisor.check()
    assert "did not start again: port in use" in lines[-1]
    supervisor.check()  # counted as another death: a longer pause
    clock.now += 2
    supervisor.check()
    assert len(attempts) == 2 and lines[-1] == "worker w1 restarted."
