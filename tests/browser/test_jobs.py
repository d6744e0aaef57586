"""Start jobs from the module page and watch them live: upload, sync, fail, retry, cancel.

Retry reuses the stored request and file, so an upload that failed on its file (bad
rows, wrong columns) is not offered Retry but a link to upload a corrected file. Retry is
exercised where it can help: a cancelled job (a transient stop), where the new job
completes, and a source that failed.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import (
    expect_state,
    job_panel,
    open_module,
    started_job_id,
    sync_now,
    upload_csv,
)

pytestmark = pytest.mark.browser

HEADCOUNT, TRAVEL = 1, 2  # demo seed module ids
HEADER = b"name,position_category,user_institutional_id,fte\n"
GOOD = HEADER + (b"Ada Lovelace,professor,300001,1\nAlan Turing,postdoc,300002,0.5\n"
                 b"Grace Hopper,phd_student,300003,0.8\n")
BAD = HEADER + (b"Ada Lovelace,professor,300001,1\nAlan Turing,postdoc,300002,1.2\n"
                b"Grace Hopper,phd_student,300003,half\n")


def test_good_csv_upload_completes_with_its_row_count(page, logged_in):
    logged_in("editor")
    open_module(page, HEADCOUNT)
    upload_csv(page, "people.csv", GOOD)
    panel = job_panel(page, started_job_id(page))
    expect_state(panel, "completed")
    expect(panel).to_contain_text("Loaded 3 rows")
    expect(panel.get_by_role("progressbar")).to_have_attribute("value", "100")
    expect(panel.locator(".job-live")).not_to_have_attribute("hx-trigger", re.compile("every"))
    expect(page.locator("#module-badges")).to_contain_text("completed")
    expect(page.locator("#sync-history")).to_contain_text("Loaded 3 rows")
    expect(page.locator("#stored-entries")).to_contain_text("member")


def test_bad_csv_fails_with_row_errors_then_the_fixed_file_completes(page, logged_in,
                                                                    screenshot_dir):
    logged_in("editor")
    open_module(page, HEADCOUNT)
    upload_csv(page, "people-bad.csv", BAD)
    failed_id = started_job_id(page)
    panel = job_panel(page, failed_id)
    expect_state(panel, "failed")
    expect(panel.locator(".job-message")).to_contain_text("Row 3")
    errors = panel.locator("table.errors tbody tr")
    expect(errors).to_have_count(2)
    expect(errors.first).to_contain_text("fte")
    expect(panel.get_by_role("link", name=re.compile("full error report"))).to_have_attribute(
        "href", f"/api/v1/sync/errors/{failed_id}.csv")
    # A retry would read the same file: the fix is a corrected file, one click away.
    expect(panel.get_by_role("button", name="Retry")).to_have_count(0)
    expect(panel.get_by_role("link", name="Upload a corrected file")).to_be_visible()

    page.goto(f"/jobs/{failed_id}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Job #{failed_id}")
    expect(page.locator("#job-facts")).to_contain_text("people-bad.csv")
    page.screenshot(path=screenshot_dir / "job-failed.png", full_page=True)
    expect(page.get_by_role("button", name="Retry")).to_have_count(0)
    page.get_by_role("link", name="Upload a corrected file").click()
    expect(page).to_have_url(re.compile(rf"/modules/{HEADCOUNT}#upload$"))
    upload_csv(page, "people-fixed.csv", GOOD)
    panel = job_panel(page, started_job_id(page))
    expect_state(panel, "completed")
    expect(panel).to_contain_text("Loaded 3 rows")


def test_retry_on_the_job_page_opens_the_new_jobs_page(page, logged_in):
    logged_in("editor")
    open_module(page, TRAVEL)
    sync_now(page, "Synthetic (tests)", config='{"rows": 10, "batch": 5, "fail_at_row": 6}')
    failed_id = started_job_id(page)
    expect_state(job_panel(page, failed_id), "failed")
    page.goto(f"/jobs/{failed_id}")
    page.get_by_role("button", name="Retry").click()
    # The new job has its own page: its URL, heading, panel and the message name it.
    page.wait_for_url(re.compile(rf"/jobs/(?!{failed_id}$)\d+$"))
    new_id = int(page.url.rsplit("/", 1)[1])
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Job #{new_id}")
    expect(page.locator("p.flash")).to_have_text(
        f"Retrying job #{failed_id} as job #{new_id}.")
    expect(job_panel(page, new_id)).to_contain_text(f"Retry of job #{failed_id}")
    expect(job_panel(page, failed_id)).to_have_count(0)


def test_sync_now_shows_live_progress_until_completed(page, logged_in, screenshot_dir):
    logged_in("editor")
    open_module(page, TRAVEL)
    sync_now(page, "Synthetic (tests)", config='{"rows": 120, "batch": 5, "delay_s": 0.1}')
    panel = job_panel(page, started_job_id(page))
    expect_state(panel, "processing")
    expect(panel.locator(".job-live")).to_have_attribute("hx-trigger", "every 1s")
    # The bar fills as rows are read: wait for a real percentage, then show it.
    expect(panel.get_by_role("progressbar")).to_have_attribute(
        "value", re.compile(r"^([1-9]\d?)$"))
    expect(panel).to_contain_text("rows/s")
    expect(page.locator("#module-badges")).to_contain_text("processing")
    page.screenshot(path=screenshot_dir / "module-running.png", full_page=True)

    expect_state(panel, "completed")
    expect(panel).to_contain_text("Loaded 120 rows")
    # The final poll fires job-finished: the badges and the history refresh themselves.
    expect(page.locator("#module-badges")).to_contain_text("completed")
    expect(page.locator("#sync-history tbody tr").first).to_contain_text("completed")
    expect(page.locator("#stored-entries")).to_contain_text("120")


def test_sync_now_from_tableau_loads_the_centres_flights(page, logged_in, tableau_standin):
    from webapp.standalone.tableau_standin.dataset import expected_defects, matching

    tableau_standin.reset()
    good = sum(1 for record in matching(2025, "F0892") if not record.defect)
    skipped = expected_defects(2025, "F0892")
    logged_in("editor")
    open_module(page, TRAVEL)
    sync_now(page, "Tableau (flights)", centre_financier="F0892")
    panel = job_panel(page, started_job_id(page))
    expect_state(panel, "completed")
    expect(panel).to_contain_text(f"Loaded {good} rows; skipped {skipped} invalid rows")
    expect(page.locator("#module-badges")).to_contain_text("completed")
    assert tableau_standin.requests_to("/query-datasource"), "the sync must reach Tableau"


def test_refused_sync_is_explained_on_the_page(page, logged_in):
    logged_in("editor")
    open_module(page, TRAVEL)
    sync_now(page, "Synthetic (tests)", config='{"rows": 5')
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Not started (Sync now)")
    expect(alert).to_contain_text("Config must be a JSON object")
    expect(page.get_by_label("Config (JSON)")).to_have_value('{"rows": 5')  # kept to fix


def test_cancel_an_active_job_then_retry_it(page, logged_in):
    logged_in("editor")
    open_module(page, TRAVEL)
    sync_now(page, "Synthetic (tests)", config='{"rows": 40, "batch": 5, "delay_s": 0.3}')
    job_id = started_job_id(page)
    panel = job_panel(page, job_id)
    expect_state(panel, "processing")
    panel.get_by_role("button", name="Cancel").click()
    expect_state(panel, "cancelled")
    expect(panel).to_contain_text("nothing was written")
    expect(panel.get_by_role("button", name="Cancel")).to_have_count(0)
    expect(page.locator("#module-badges")).to_contain_text("cancelled")

    # A cancelled job retries from its stored request; this time it runs to the end.
    panel.get_by_role("button", name="Retry").click()
    retry_panel = page.locator(".job-panel", has_text=f"Retry of job #{job_id}")
    expect(retry_panel).to_contain_text(re.compile(rf"Retrying job #{job_id} as job #\d+\."))
    expect(page).to_have_url(re.compile(r"#job-\d+$"))
    assert not page.url.endswith(f"#job-{job_id}")  # the URL names the new panel
    expect_state(retry_panel, "completed")
    expect(retry_panel).to_contain_text("Loaded 40 rows")
    expect(page.locator("#sync-history")).to_contain_text("cancelled")
