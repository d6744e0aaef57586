"""Emissions in the browser: load factors and entries on the module page, watch the total
appear and change after a factor upload, follow a missing reason to its entries, and see
the inventory's total and chart on the dashboard."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import expect_state, job_panel, open_module, started_job_id, upload_csv

pytestmark = pytest.mark.browser

TRAVEL = 2
PLANES = (b"origin_iata,destination_iata,user_institutional_id,cabin_class,departure_date,"
          b"number_of_trips,distance_km\n"
          b"GVA,LHR,100001,economy,2025-03-01,1,1000\n"
          b"QQQ,LHR,100003,economy,2025-05-01,1,\n")
HEADER = b"category,cabin_class,ef_kg_co2eq_per_km,rfi_adjustment,min_distance,max_distance\n"
FACTORS = HEADER + b"short_haul,economy,0.151,1.9,0,1500\n"
CHEAPER = HEADER + b"short_haul,economy,0.2,1.9,0,1500\n"
RECALCULATION_MS = 40_000


def _upload_and_finish(page, name: str, content: bytes, form: str = "Upload data entries"):
    upload_csv(page, name, content, form=form)
    expect_state(job_panel(page, started_job_id(page)), "completed")


def test_the_total_appears_and_changes_after_a_factor_upload(page, logged_in):
    logged_in("admin")  # factors are for admins
    open_module(page, TRAVEL)
    total = page.locator("#module-total")
    expect(total).to_have_text("0.00")  # t CO2eq
    _upload_and_finish(page, "factors.csv", FACTORS, form="Plane travel factors")
    _upload_and_finish(page, "planes.csv", PLANES)

    # Refreshed by the card itself once the load's recalculation is done: no reload.
    expect(total).to_have_text("0.29", timeout=RECALCULATION_MS)  # 286.9 kg
    card = page.locator("#emissions")
    expect(card).to_contain_text("1 of 2 entries have emissions")
    expect(card.locator("svg.chart title")).to_have_text(re.compile("by entry type"))
    expect(card.locator("svg.chart .bar-label")).to_have_text("plane")
    expect(card.locator("svg.chart .bar-value")).to_have_text("0.29 t")
    expect(card.get_by_role("button", name="Recalculate")).to_be_visible()

    _upload_and_finish(page, "cheaper.csv", CHEAPER, form="Plane travel factors")
    expect(total).to_have_text("0.38", timeout=RECALCULATION_MS)
    expect(page.locator("#stored-factors td.num").first).to_have_text("0.2")

    # A missing reason links to exactly those entries.
    card.get_by_role("link", name="unknown airport code 'QQQ'").click()
    entries = page.locator("#entry-list")
    expect(entries).to_contain_text("Without emissions because")
    expect(entries.locator("tbody tr")).to_have_count(1)
    expect(entries.locator("tbody")).to_contain_text("unknown airport code 'QQQ'")

    page.goto("/")
    expect(page.locator("#inventory-1-total")).to_have_text("0.38")
    chart = page.locator("#inventory-1-chart")
    expect(chart.locator(".bar-value").first).to_be_visible()
    expect(chart).to_contain_text("0.38 t")


def test_the_recalculate_button_queues_a_job_and_the_card_follows_it(page, logged_in):
    logged_in("editor")
    open_module(page, TRAVEL)
    page.locator("#emissions").get_by_role("button", name="Recalculate").click()
    page.wait_for_url(re.compile(r"#emissions$"))
    expect(page.get_by_text(re.compile(r"Recalculation job #\d+"))).to_be_visible()
    expect(page.locator("#emissions")).to_contain_text("As of the recalculation by job #",
                                                       timeout=RECALCULATION_MS)
    expect(page.locator("#emissions .badge")).to_have_count(0, timeout=RECALCULATION_MS)


def test_viewers_get_no_recalculate_button(page, logged_in):
    logged_in("viewer")
    open_module(page, TRAVEL)
    expect(page.locator("#emissions")).to_be_visible()
    expect(page.get_by_role("button", name="Recalculate")).to_have_count(0)
