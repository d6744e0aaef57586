"""An admin syncs every unit from the "Sync every unit" page (SPEC §14): a year of
flights from the Tableau stand-in, each into its centre's lab, watched to completion on
the job's page."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import expect_state, htmx_settled, job_panel
from tests.browser.test_csp import RECORD_VIOLATIONS

pytestmark = pytest.mark.browser


@pytest.fixture
def university(app, tableau_standin):
    from webapp.organisation.demo_university import seed_demo_university

    tableau_standin.reset()
    with app.app_context():
        seed_demo_university()
    yield
    tableau_standin.reset()


def test_an_admin_syncs_every_labs_flights_from_tableau(page, logged_in, university,
                                                        tableau_standin):
    from webapp.organisation.demo_university import LABS
    from webapp.standalone.tableau_standin.dataset import matching

    loaded = {record.centre for record in matching(2025)
              if record.centre in LABS and not record.defect}
    page.context.add_init_script(RECORD_VIOLATIONS)
    logged_in("admin")
    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Sync every unit").click()
    expect(page.get_by_role("heading", name="Sync every unit")).to_be_visible()
    # The sources follow the module type: headcount's HR API, then travel's Tableau.
    page.get_by_label("Module type").select_option("headcount")
    htmx_settled(page)
    expect(page.get_by_label("Source").locator("option").first).to_have_text(
        re.compile("HR"))
    page.get_by_label("Module type").select_option("travel")
    htmx_settled(page)
    assert page.evaluate("window.__cspViolations") == []  # htmx's swap within the CSP
    page.get_by_label("Year").select_option("2025")
    page.get_by_label("Source").select_option("tableau_api")
    page.get_by_label("If a row is wrong").select_option("skip")
    page.get_by_role("button", name="Sync every unit").click()
    page.wait_for_url(re.compile(r"/jobs/\d+$"))
    job_id = int(page.url.rsplit("/", 1)[1])
    panel = job_panel(page, job_id)
    expect_state(panel, "completed")
    expect(panel).to_contain_text(f"for {len(loaded)} units")
    assert tableau_standin.requests_to("/query-datasource"), "the sync must reach Tableau"
