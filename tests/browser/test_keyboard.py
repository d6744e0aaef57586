"""Using the pages from the keyboard: the skip link, and a live job panel that keeps the
focus where the user put it and says when the job has ended."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import (
    JOB_TIMEOUT_MS,
    expect_state,
    job_panel,
    open_module,
    started_job_id,
    sync_now,
)

pytestmark = pytest.mark.browser

HEADCOUNT, TRAVEL = 1, 2  # demo seed module ids


def test_the_first_tab_shows_the_skip_link_which_moves_focus_to_main(page, logged_in):
    logged_in("viewer")
    open_module(page, HEADCOUNT)
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).not_to_be_in_viewport()  # out of the way until a keyboard user needs it
    page.keyboard.press("Tab")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()
    page.keyboard.press("Tab")  # the next stop is inside the page, past the top bar
    assert page.evaluate("document.getElementById('main').contains(document.activeElement)")


def _wait_for_polls(page, job_id: int, count: int) -> None:
    for _ in range(count):
        page.wait_for_event("response", lambda r: f"/jobs/{job_id}/live" in r.url)


def test_the_cancel_button_keeps_the_focus_while_the_panel_polls(page, logged_in):
    logged_in("editor")
    open_module(page, TRAVEL)
    announcer = page.locator("#job-announcer")
    expect(announcer).to_have_attribute("aria-live", "polite")  # in the page from the start
    sync_now(page, "Synthetic (tests)", config='{"rows": 60, "batch": 5, "delay_s": 0.6}')
    job_id = started_job_id(page)
    panel = job_panel(page, job_id)
    expect_state(panel, "processing")
    cancel = panel.get_by_role("button", name="Cancel")
    cancel.focus()
    button = cancel.element_handle()
    live_part = panel.locator(".job-live").element_handle()

    _wait_for_polls(page, job_id, 3)
    assert page.evaluate("el => el.isConnected && document.activeElement === el", button)
    assert not page.evaluate("el => el.isConnected", live_part)  # the polls did swap
    expect(cancel).to_be_focused()
    expect(cancel).to_have_id(f"job-{job_id}-cancel")

    # The end is said in the live region; the focus goes to the ended job's next action.
    expect(announcer).to_have_text(f"Completed: job #{job_id}. Loaded 60 rows",
                                   timeout=JOB_TIMEOUT_MS)
    expect(panel.get_by_role("link", name="Undo…")).to_be_focused()


def test_a_failure_is_announced_on_the_job_page(page, logged_in, api):
    job_id = api.sync(TRAVEL, config={"rows": 40, "batch": 5, "delay_s": 0.4,
                                      "fail_at_row": 26}).get_json()["job_id"]
    logged_in("editor")
    page.goto(f"/jobs/{job_id}")
    panel = job_panel(page, job_id)
    panel.get_by_role("button", name="Cancel").focus()
    expect(page.locator("#job-announcer")).to_have_text(
        re.compile(rf"^Failed: job #{job_id}\. The synthetic source broke"),
        timeout=JOB_TIMEOUT_MS)
    expect(panel.get_by_role("button", name="Retry")).to_be_focused()
