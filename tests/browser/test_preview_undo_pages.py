"""Preview a file from the module page, then Load it; undo a load after its confirmation."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import expect_state, job_panel, open_module, started_job_id

pytestmark = pytest.mark.browser

HEADCOUNT = 1  # demo seed module id
HEADER = b"name,position_category,user_institutional_id,fte\n"
FIRST = HEADER + b"Ada Lovelace,professor,300001,1\nAlan Turing,postdoc,300002,0.5\n"
SECOND = HEADER + (b"Ada Lovelace,professor,300001,1\nGrace Hopper,phd_student,300003,0.8\n"
                   b"Edsger Dijkstra,professor,300004,1\n")


def send(page, name: str, content: bytes, button: str) -> int:
    form = page.get_by_role("form", name="Upload data entries")
    form.get_by_label("CSV file").set_input_files(
        files=[{"name": name, "mimeType": "text/csv", "buffer": content}])
    form.get_by_role("button", name=button, exact=True).click()
    return started_job_id(page)


def stored_entries(page) -> str:
    page.reload()
    return page.locator("#stored-entries").inner_text()


def test_preview_then_load_it(page, logged_in):
    logged_in("editor")
    open_module(page, HEADCOUNT)
    preview_id = send(page, "people.csv", FIRST, "Preview")
    panel = job_panel(page, preview_id)
    expect_state(panel, "completed")
    expect(panel.locator(".job-message")).to_contain_text("Preview: would load 2 rows")
    rows = panel.locator("table.preview-rows tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("300001")
    assert "member" not in stored_entries(page)  # a preview wrote nothing

    panel = job_panel(page, preview_id)
    panel.get_by_role("button", name="Load it").click()
    expect(page.get_by_text(f"Loads preview #{preview_id}")).to_be_visible()
    load = page.locator(".job-panel").first
    # The panel swapped in is the load's own, and says so.
    expect(load).to_contain_text(re.compile(rf"Loading preview #{preview_id} as job #\d+\."))
    expect(load.get_by_role("heading", level=2)).not_to_contain_text(f"Job #{preview_id} ")
    expect_state(load, "completed")
    expect(load.locator(".job-message")).to_contain_text("Loaded 2 rows")
    assert "member" in stored_entries(page)


def test_undo_with_its_confirmation(page, logged_in):
    logged_in("editor")
    open_module(page, HEADCOUNT)
    first = send(page, "first.csv", FIRST, "Upload CSV or Excel file")
    expect_state(job_panel(page, first), "completed")
    open_module(page, HEADCOUNT)
    second = send(page, "second.csv", SECOND, "Upload CSV or Excel file")
    panel = job_panel(page, second)
    expect_state(panel, "completed")
    panel.get_by_role("link", name="Undo…").click()
    confirm = page.locator("#undo-confirm")
    expect(confirm).to_contain_text("restores the 2 entries")
    expect(confirm).to_contain_text("removes the 3 entries it loaded")
    confirm.get_by_role("button", name=f"Undo job #{second}").click()
    undo = page.locator(".job-panel").first
    expect_state(undo, "completed")
    expect(undo.locator(".job-message")).to_contain_text(
        f"Undid job #{second}: restored 2 rows, removed 3")
    page.goto(f"/jobs/{second}")
    expect(page.locator(".job-panel")).to_contain_text("Undone by job #")
    expect(page.get_by_role("link", name="Undo…")).to_have_count(0)
    open_module(page, HEADCOUNT)
    expect(page.locator("#sync-history")).to_contain_text("Undone by job #")
