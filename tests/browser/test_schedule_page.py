"""The module page's Schedules section: add a schedule with a preset or a custom cron
and time zone, see its next run, disable it, run it now, delete it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import open_module

pytestmark = pytest.mark.browser
TRAVEL = 2


def _add(page, *, when: str, zone: str, cron: str | None = None) -> None:
    form = page.get_by_role("form", name="Add a schedule")
    form.get_by_label("Provider to schedule").select_option(label="Synthetic (tests)")
    form.get_by_label("When").select_option(label=when)
    if cron is not None:
        form.get_by_label("Custom cron").fill(cron)
    form.get_by_label("Time zone").fill(zone)
    form.get_by_role("button", name="Add schedule").click()


def test_add_a_schedule_and_see_its_next_run(page, logged_in, screenshot_dir):
    logged_in("editor")
    open_module(page, TRAVEL)
    section = page.get_by_role("region", name="Schedules")
    expect(section).to_contain_text("No schedule")
    _add(page, when="Weekly, Monday at 03:00", zone="Europe/Zurich")
    expect(page.get_by_role("status").first).to_contain_text("Schedule #1 added")
    row = section.locator("#schedule-1")
    expect(row).to_contain_text("Weekly, Monday at 03:00")
    # The next run is shown in the schedule's zone: a Monday, 03:00 Zurich time.
    expect(row.locator(".next-run")).to_contain_text(" 03:00 CE")
    expect(row.locator(".last-outcome")).to_contain_text("never run")

    _add(page, when="Custom cron…", zone="Mars/Olympus", cron="15 4 * * *")
    expect(page.get_by_role("status").first).to_contain_text("timezone")
    _add(page, when="Custom cron…", zone="UTC", cron="15 4 * * *")
    expect(section.locator("#schedule-2 .next-run")).to_contain_text("04:15 UTC")
    page.screenshot(path=screenshot_dir / "schedules.png", full_page=True)

    row.get_by_role("button", name="Disable").click()
    expect(section.locator("#schedule-1 .next-run")).to_have_text("disabled")
    section.locator("#schedule-2").get_by_role("button", name="Run now").click()
    expect(section.locator("#schedule-2 .last-outcome")).to_contain_text("created")
    section.get_by_role("button", name="Delete schedule #1").click()
    expect(section.locator("#schedule-1")).to_have_count(0)


def test_viewers_see_schedules_but_no_forms(page, logged_in, api):
    created = api.post("/schedules", json={"module_id": TRAVEL, "provider_type": "synthetic",
                                           "year": 2025, "cron": "daily"})
    assert created.status_code == 201
    logged_in("viewer")
    open_module(page, TRAVEL)
    section = page.get_by_role("region", name="Schedules")
    expect(section).to_contain_text("Daily at 03:00")
    expect(section.get_by_role("button")).to_have_count(0)
