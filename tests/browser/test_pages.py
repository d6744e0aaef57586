"""Logging in, the dashboard, the history's pages and filters, and what viewers see."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import expect_state, htmx_settled, job_panel, login, open_module

pytestmark = pytest.mark.browser

HEADCOUNT, TRAVEL = 1, 2
ACTIONS = ("Sync now", "Upload CSV", "Retry", "Cancel")


def _sync(api, module_id: int, **config) -> int:
    answer = api.sync(module_id, config=config)
    assert answer.status_code == 202, answer.get_json()
    return answer.get_json()["job_id"]


def test_login_then_the_dashboard_lists_modules_and_badges(page, create_user, api,
                                                           screenshot_dir):
    api.wait(_sync(api, HEADCOUNT, rows=10, batch=5))
    api.wait(_sync(api, HEADCOUNT, rows=10, batch=5, fail_at_row=6))
    running = _sync(api, TRAVEL, rows=300, batch=5, delay_s=0.1)
    user = create_user("editor")
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login"))  # anonymous: sent to log in
    login(page, user["email"], user["password"])
    expect(page.get_by_role("heading", name="Inventories")).to_be_visible()
    expect(page.get_by_role("link", name="Professional travel")).to_be_visible()
    expect(page.locator("#overview")).to_contain_text("failed")
    running_now = page.get_by_role("region", name="Running now")
    expect(running_now).to_contain_text(f"Job #{running}")
    expect(running_now.get_by_role("progressbar")).to_be_visible()
    page.screenshot(path=screenshot_dir / "dashboard.png", full_page=True)
    api.post(f"/sync/cancel/{running}")
    # The dashboard polls while a job runs; once none runs the list goes away by itself.
    expect(page.get_by_role("region", name="Running now")).to_have_count(0, timeout=10_000)
    expect(page.locator("#overview")).to_contain_text("cancelled")


def test_history_pages_and_filters(page, logged_in, api):
    # Cancelled while pending: a quick way to fill the history (a fast worker may finish
    # some first; every one is a row either way).
    for _ in range(12):
        api.post(f"/sync/cancel/{_sync(api, TRAVEL, rows=1)}")
    logged_in("viewer")
    open_module(page, TRAVEL)
    history = page.locator("#sync-history")
    expect(history.locator("tbody tr")).to_have_count(10)
    expect(history).to_contain_text("Page 1 of 2")
    history.get_by_role("link", name="Older").click()
    expect(history).to_contain_text("Page 2 of 2")
    expect(history.locator("tbody tr")).to_have_count(2)
    expect(page).to_have_url(re.compile(r"/modules/2/history\?.*page=2"))
    htmx_settled(page)
    history.get_by_role("link", name="Newer").click()
    expect(history).to_contain_text("Page 1 of 2")

    htmx_settled(page)
    history.get_by_label("Status").select_option("failed")
    expect(history).to_contain_text("No job matches these filters.")
    expect(page).to_have_url(re.compile(r"status=failed"))
    htmx_settled(page)
    history.get_by_label("Status").select_option("")
    expect(history).to_contain_text("Page 1 of 2")
    htmx_settled(page)
    history.get_by_label("Source").select_option(label="Synthetic (tests)")
    expect(page).to_have_url(re.compile(r"provider=synthetic"))
    expect(history.locator("tbody tr")).to_have_count(10)
    first_job = history.locator("tbody tr a").first
    job_id = first_job.inner_text().lstrip("#")
    first_job.click()
    expect(page).to_have_url(re.compile(rf"/jobs/{job_id}$"))
    # Reload of a pushed fragment URL renders the whole page.
    page.goto(f"/modules/{TRAVEL}/history?page=2")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Professional travel")


def test_a_viewer_sees_no_action_buttons(page, logged_in, api):
    failed = _sync(api, HEADCOUNT, rows=10, batch=5, fail_at_row=3)
    api.wait(failed)
    running = _sync(api, TRAVEL, rows=300, batch=5, delay_s=0.1)
    logged_in("viewer")
    for path in (f"/modules/{HEADCOUNT}", f"/modules/{TRAVEL}", f"/jobs/{failed}",
                 f"/jobs/{running}", "/"):
        page.goto(path)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        for name in ACTIONS:
            expect(page.get_by_role("button", name=name)).to_have_count(0)
        expect(page.get_by_label("CSV file")).to_have_count(0)
    page.goto(f"/jobs/{running}")
    panel = job_panel(page, running)
    expect_state(panel, "processing")  # viewers watch live too
    api.post(f"/sync/cancel/{running}")
    expect_state(panel, "cancelled")
    expect(panel.get_by_role("button", name="Retry")).to_have_count(0)
