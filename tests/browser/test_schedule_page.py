"""The module page's Schedules section: add a schedule with a preset or a custom cron,
time zone and the provider's filters, see its next run, disable it, run it now, delete
it after confirming; a refused form answers beside itself and keeps what was typed."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import open_module

pytestmark = pytest.mark.browser
TRAVEL = 2


def _add(page, *, when: str, zone: str, cron: str | None = None,
         centre: str | None = None, webhook: str | None = None) -> None:
    form = page.get_by_role("form", name="Add a schedule")
    form.get_by_label("Provider to schedule").select_option(label="Synthetic (tests)")
    form.get_by_label("When").select_option(label=when)
    if cron is not None:
        form.get_by_label("Custom cron").fill(cron)
    form.get_by_label("Time zone").fill(zone)
    if centre is not None:
        form.get_by_label("Centre", exact=True).fill(centre)
    if webhook is not None:
        form.get_by_label("Webhook on failure (optional)").fill(webhook)
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

    _add(page, when="Custom cron…", zone="UTC", cron="15 4 * * *")
    expect(section.locator("#schedule-2 .next-run")).to_contain_text("04:15 UTC")
    page.screenshot(path=screenshot_dir / "schedules.png", full_page=True)

    row.get_by_role("button", name="Disable").click()
    expect(section.locator("#schedule-1 .next-run")).to_have_text("disabled")
    section.locator("#schedule-2").get_by_role("button", name="Run now").click()
    expect(section.locator("#schedule-2 .last-outcome")).to_contain_text("created")


@pytest.mark.parametrize(("cron", "zone", "field", "words"), [
    ("0 0 31 2 *", "Europe/Zurich", "Custom cron", "never fires"),
    ("15 4 * * *", "Europe", "Time zone", "not an IANA time zone"),
])
def test_a_refused_schedule_says_why_beside_the_form_and_keeps_the_values(
        page, logged_in, screenshot_dir, cron, zone, field, words):
    logged_in("editor")
    open_module(page, TRAVEL)
    _add(page, when="Custom cron…", zone=zone, cron=cron, centre="F0892",
         webhook="http://127.0.0.1:9/hook")
    form = page.get_by_role("form", name="Add a schedule")
    invalid = form.get_by_label(field)
    expect(invalid).to_have_attribute("aria-invalid", "true")
    expect(invalid).to_have_accessible_description(re.compile(words))  # the error, first
    error = form.get_by_role("alert")
    expect(error).to_contain_text(words)
    expect(error).to_be_in_viewport()  # not atop the page, out of view
    expect(invalid).to_be_focused()
    expect(form.get_by_label("When")).to_have_value("custom")
    expect(form.get_by_label("Custom cron")).to_have_value(cron)
    expect(form.get_by_label("Time zone")).to_have_value(zone)
    expect(form.get_by_label("Centre", exact=True)).to_have_value("F0892")
    expect(form.get_by_label("Webhook on failure (optional)")).to_have_value(
        "http://127.0.0.1:9/hook")
    page.screenshot(path=screenshot_dir / f"schedule-refused-{field[:4].lower()}.png")
    expect(page.get_by_role("region", name="Schedules")).to_contain_text("No schedule")


def test_filters_are_saved_and_shown_with_the_providers_label(page, logged_in):
    logged_in("editor")
    open_module(page, TRAVEL)
    _add(page, when="Daily at 03:00", zone="UTC", centre="F1453, F0892")
    row = page.get_by_role("region", name="Schedules").locator("#schedule-1")
    expect(row.locator(".provider")).to_contain_text("Synthetic (tests)")
    expect(row.locator(".provider")).not_to_contain_text("synthetic\n")
    expect(row.locator(".filters")).to_have_text("Centre: F0892, F1453")


def test_delete_asks_first(page, logged_in, api):
    created = api.post("/schedules", json={"module_id": TRAVEL, "provider_type": "synthetic",
                                           "year": 2025, "cron": "daily",
                                           "filters": {"centre": "F0892"}})
    assert created.status_code == 201
    schedule_id = created.get_json()["id"]
    logged_in("editor")
    open_module(page, TRAVEL)
    section = page.get_by_role("region", name="Schedules")
    section.get_by_role("link", name=f"Delete schedule #{schedule_id}…").click()
    confirm = page.get_by_role("region", name=f"Delete schedule #{schedule_id}?")
    expect(confirm).to_contain_text("Synthetic (tests) (Centre: F0892), Daily at 03:00")
    confirm.get_by_role("link", name="Keep it").click()
    expect(section.locator(f"#schedule-{schedule_id}")).to_be_visible()  # nothing deleted

    section.get_by_role("link", name=f"Delete schedule #{schedule_id}…").click()
    page.get_by_role("button", name=f"Delete schedule #{schedule_id}").click()
    expect(page.get_by_role("status").first).to_contain_text(f"Schedule #{schedule_id} deleted")
    expect(section.locator(f"#schedule-{schedule_id}")).to_have_count(0)


def test_viewers_see_schedules_but_no_forms(page, logged_in, api):
    created = api.post("/schedules", json={"module_id": TRAVEL, "provider_type": "synthetic",
                                           "year": 2025, "cron": "daily"})
    assert created.status_code == 201
    logged_in("viewer")
    open_module(page, TRAVEL)
    section = page.get_by_role("region", name="Schedules")
    expect(section).to_contain_text("Daily at 03:00")
    expect(section.get_by_role("button")).to_have_count(0)
    expect(section.get_by_role("link", name="Delete schedule #1…")).to_have_count(0)
