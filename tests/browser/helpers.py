"""What a person does in the browser, by the accessible names the pages keep stable
(SPEC §8): "Email", "Password", "Log in"; "Provider", "Sync now"; "CSV file",
"Upload CSV"; "Retry", "Cancel"; the `progress` bar and the badges' state words."""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect

FINAL_STATES = ("completed", "failed", "cancelled")
JOB_TIMEOUT_MS = 30_000


def login(page: Page, email: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def open_module(page: Page, module_id: int) -> None:
    page.goto(f"/modules/{module_id}")


def sync_now(page: Page, provider: str, *, centre_financier: str | None = None,
             config: str | None = None) -> None:
    """Fill and send the module page's Sync form (its year is the inventory's, fixed).

    This is the hook for API providers: `sync_now(page, "Tableau (flights)",
    centre_financier="F0892")` syncs from whatever Tableau the app is configured with
    (the test session points it at tests/tableau_standin).
    """
    form = page.get_by_role("form", name="Sync from an API")
    form.get_by_label("Provider").select_option(label=provider)
    if centre_financier is not None:
        form.get_by_label("Centre financier").fill(centre_financier)
    if config is not None:
        form.locator("summary", has_text="Advanced").click()
        form.get_by_label("Config (JSON)").fill(config)
    form.get_by_role("button", name="Sync now").click()


def upload_csv(page: Page, name: str, content: bytes, *, form: str = "Upload data entries",
               on_error: str | None = None, entry_type: str | None = None) -> None:
    """Choose a file in one of the module page's upload forms and send it.

    `form` is the form's heading: "Upload data entries", or e.g. "Plane travel factors"
    (those sit in the folded "Upload emission factors" section, opened here).
    """
    if form != "Upload data entries":
        factors = page.locator("details.factors")
        if factors.get_attribute("open") is None:
            factors.locator("summary").click()
    target = page.get_by_role("form", name=form)
    target.get_by_label("CSV file").set_input_files(
        files=[{"name": name, "mimeType": "text/csv", "buffer": content}])
    if on_error is not None:
        target.get_by_label(re.compile(rf"^{on_error}:", re.IGNORECASE)).check()
    if entry_type is not None:
        target.get_by_label("Entry type").select_option(entry_type)
    target.get_by_role("button", name="Upload CSV").click()


def started_job_id(page: Page) -> int:
    """The id of the job a form just started (the page redirects to `#job-<id>`)."""
    page.wait_for_url(re.compile(r"#job-\d+$"))
    return int(page.url.rsplit("-", 1)[1])


def htmx_settled(page: Page) -> None:
    """Wait until htmx has no request in flight and has wired up what it swapped in.

    New content is processed when it settles (~20 ms after the swap); a `change` fired
    before that reaches a form without htmx's listener and is lost.
    """
    page.wait_for_function("() => !document.querySelector("
                           "'.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')")


def job_panel(page: Page, job_id: int) -> Locator:
    return page.locator(f"#job-{job_id}")


def expect_state(panel: Locator, state: str, timeout: int = JOB_TIMEOUT_MS) -> None:
    """Wait until the panel's badge shows `state` (the panel updates itself by polling).

    Stops early, with the job's message, when the job ends in another state.
    """
    badge = panel.locator(".job-state .badge")
    awaited = {state, *FINAL_STATES}
    expect(badge).to_have_text(re.compile("^(" + "|".join(awaited) + ")$"), timeout=timeout)
    shown = badge.inner_text().strip()
    if shown != state:
        raise AssertionError(f"expected the job to be {state}, it is {shown}: "
                             f"{panel.locator('.job-message').inner_text()}")
