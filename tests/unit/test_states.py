"""The job state machine (SPEC §4): exactly five transitions are allowed, nothing else."""

from __future__ import annotations

import itertools

import pytest

from webapp.jobs.states import (
    STATUS_CODES,
    IllegalTransition,
    JobStatus,
    check_transition,
)

ALLOWED = {
    ("pending", "processing"), ("pending", "cancelled"),
    ("processing", "completed"), ("processing", "failed"), ("processing", "cancelled"),
}
STATES = [s.value for s in JobStatus]
FORBIDDEN = sorted(set(itertools.product(STATES, STATES)) - ALLOWED)


def test_the_states_are_the_specs_five():
    assert STATES == ["pending", "processing", "completed", "failed", "cancelled"]
    assert len(FORBIDDEN) == 20  # 25 pairs (self-transitions included) minus 5 allowed


@pytest.mark.parametrize(("current", "wanted"), sorted(ALLOWED))
def test_allowed_transition(current, wanted):
    check_transition(1, current, wanted)  # does not raise


@pytest.mark.parametrize(("current", "wanted"), FORBIDDEN)
def test_forbidden_transition(current, wanted):
    with pytest.raises(IllegalTransition) as info:
        check_transition(7, current, wanted)
    assert (info.value.current, info.value.wanted) == (current, wanted)
    assert str(info.value) == f"job 7 cannot go from {current} to {wanted}"


def test_unknown_state_is_refused():
    with pytest.raises((IllegalTransition, ValueError)):
        check_transition(1, "pending", "done")


def test_status_codes():
    assert {str(k): v for k, v in STATUS_CODES.items()} == {
        "pending": 102, "processing": 103, "completed": 200, "cancelled": 499}
