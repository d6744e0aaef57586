"""Settings the test app and the test workers share (one place, so they cannot drift)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PLUGINS = "tests.support.providers"  # the synthetic test providers
TEST_SETTINGS = {  # fast clocks for the worker-lost and progress tests
    "WORKER_LOST_AFTER_S": "6", "HEARTBEAT_INTERVAL_S": "1", "REAPER_INTERVAL_S": "2",
}


def tableau_settings(standin) -> dict[str, str]:
    # A short timeout so the 504 test stays quick, and retries that wait milliseconds,
    # not seconds; faults are switched per test.
    return {**standin.settings(), "TABLEAU_TIMEOUT_S": "3", "TABLEAU_RETRY_BACKOFF_S": "0.01"}


def hr_settings(standin) -> dict[str, str]:
    # As for Tableau: a short timeout and retries that wait milliseconds; small pages,
    # so that a sync follows several next links.
    return {**standin.settings(), "HR_TIMEOUT_S": "3", "HR_RETRY_BACKOFF_S": "0.01",
            "HR_PAGE_SIZE": "50"}
