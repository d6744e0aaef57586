"""The entries table in the browser (SPEC §15): a module of several entry types offers a
tab per type, each with its own columns, switched in place (htmx) with the address kept
for the back button; every time on the page is in the site's zone, named once."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import open_module

pytestmark = pytest.mark.browser

TRAVEL = 2


@pytest.fixture
def travel_entries(live_server):
    from webapp.extensions import db
    from webapp.models import DataEntry

    def entry(entry_type, data, kg=None, **emission):
        return DataEntry(inventory_id=1, module_id=TRAVEL, year=2025, entry_type=entry_type,
                         data=data, kg_co2eq=kg, emission=emission or None,
                         source="csv_upload", created_at=datetime(2025, 7, 1, tzinfo=UTC))

    with live_server.app.app_context():
        db.session.add_all([
            entry("plane", {"origin_iata": "GVA", "destination_iata": "LHR",
                            "user_institutional_id": "100001", "departure_date": "2025-03-01",
                            "number_of_trips": 1, "cabin_class": "economy"}, 286.9,
                  method="distance"),
            entry("train", {"origin_name": "Genève", "origin_country_code": "CH",
                            "destination_name": "Zürich", "destination_country_code": "CH",
                            "user_institutional_id": "100002", "departure_date": "2025-04-02",
                            "number_of_trips": 2, "cabin_class": "second"},
                  missing_reason="no factor for CH")])
        db.session.commit()


def test_the_entry_type_tabs_switch_the_columns_in_place(page, logged_in, travel_entries,
                                                         live_server, monkeypatch):
    monkeypatch.setitem(live_server.app.config, "TIME_ZONE", "Europe/Zurich")
    logged_in("viewer")
    open_module(page, TRAVEL)
    expect(page.locator("footer.page-zone")).to_have_text("Times in Europe/Zurich.")
    entries = page.locator("#entry-list")
    tabs = entries.get_by_role("navigation", name="Entry types")
    expect(tabs.locator("[aria-current=page]")).to_have_text("All types")
    expect(entries.locator("thead th")).to_contain_text(["#", "Type", "Entry"])
    expect(entries.locator("tbody tr")).to_have_count(2)

    tabs.get_by_role("link", name="Train").click()
    expect(page).to_have_url(re.compile(r"entry_type=train"))
    expect(tabs.locator("[aria-current=page]")).to_have_text("Train")
    expect(entries.locator("thead th")).to_contain_text(
        ["#", "Route", "Person", "Date", "Trips", "Class", "Source", "Job", "kg CO2eq", "How"])
    expect(entries.locator("tbody tr")).to_have_count(1)
    expect(entries.locator("tbody td").nth(1)).to_have_text("Genève (CH) → Zürich (CH)")
    expect(entries.locator("tbody")).to_contain_text("no factor for CH")

    tabs.get_by_role("link", name="Plane").click()
    expect(entries.locator("tbody td").nth(1)).to_have_text("GVA → LHR")
    expect(entries.locator("tbody td.num").last).to_have_text("286.9")

    page.go_back()  # the tab is in the address: back is the train tab again
    expect(page.locator("#entry-list tbody td").nth(1)).to_have_text(
        "Genève (CH) → Zürich (CH)")
