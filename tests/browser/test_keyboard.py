"""Using the pages from the keyboard: the skip link, and a live job panel that keeps the
focus where the user put it and says when the job has ended."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import open_module

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
