"""The Content-Security-Policy holds on every page: Chromium reports no violation (console
message or `securitypolicyviolation` event) on the login page, the dashboard, a module
page with its live panel and htmx swaps, a completed job and a failed job with errors."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import (
    expect_state,
    htmx_settled,
    job_panel,
    login,
    open_module,
    started_job_id,
    upload_csv,
)

pytestmark = pytest.mark.browser

HEADCOUNT = 1
HEADER = b"name,position_category,user_institutional_id,fte\n"
BAD = HEADER + b"Ada Lovelace,professor,300001,1\nAlan Turing,postdoc,300002,half\n"

# Runs in every document before its own scripts, and records what the CSP refused.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


def test_no_page_violates_the_content_security_policy(page, create_user, api):
    complaints: list[str] = []
    page.on("console", lambda message: complaints.append(message.text)
            if "Content Security Policy" in message.text else None)
    page.context.add_init_script(RECORD_VIOLATIONS)
    seen: list[str] = []

    def check(what: str) -> None:
        seen.append(what)
        recorded = page.evaluate("window.__cspViolations")
        assert recorded == [] and complaints == [], (what, recorded, complaints)

    user = create_user("admin")
    page.goto("/login")
    check("login")
    login(page, user["email"], user["password"])
    expect(page.get_by_role("heading", name="Inventories")).to_be_visible()
    check("dashboard")

    open_module(page, HEADCOUNT)
    upload_csv(page, "people-bad.csv", BAD)
    failed_id = started_job_id(page)
    panel = job_panel(page, failed_id)
    expect_state(panel, "failed")  # the panel polled and swapped itself meanwhile
    expect(panel.locator("table.errors tbody tr")).to_have_count(1)
    htmx_settled(page)
    page.locator("#sync-history").get_by_label("Status").select_option("failed")
    expect(page).to_have_url(re.compile(r"status=failed"))
    htmx_settled(page)
    check("module page, live panel, history filter")

    page.goto(f"/jobs/{failed_id}")
    expect(page.locator("table.errors tbody tr")).to_have_count(1)
    check("failed job with errors")

    done = api.sync(1, config={"rows": 5, "batch": 5})
    job_id = done.get_json()["job_id"]
    api.wait(job_id)
    page.goto(f"/jobs/{job_id}")
    expect_state(job_panel(page, job_id), "completed")
    check("completed job")

    page.goto("/jobs/2147483648")  # the 404 page
    expect(page.get_by_role("heading", name="404")).to_be_visible()
    check("404 page")
    assert len(seen) == 6
