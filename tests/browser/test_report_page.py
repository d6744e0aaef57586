"""The report page in Chromium: its charts draw bars sized by their figures with no CSP
complaint, printing hides the navigation and buttons and keeps the figures, and Chromium
prints it as a PDF of a few A4 pages."""

from __future__ import annotations

import re

import psycopg
import pytest
from playwright.sync_api import expect

from tests.browser.helpers import login
from tests.browser.test_csp import RECORD_VIOLATIONS
from tests.integration.test_reports import Plant, flight
from webapp.emissions import recalculate_module
from webapp.views.formatting import tonnes

pytestmark = pytest.mark.browser

YEAR, BEFORE = 2025, 2024  # the demo's year, and the one before created here


@pytest.fixture
def two_years(admin_api, db_url) -> dict[int, float]:
    """The demo unit F0892 with travel (planes from a factor, a train as given) and
    members in 2025, travel only in 2024: {year: its total kg}."""
    assert admin_api.post(f"/years/{BEFORE}").status_code == 201
    assert admin_api.post(f"/years/{BEFORE}/open").status_code == 200
    totals = {}
    with psycopg.connect(db_url, autocommit=True) as conn:
        plant = Plant(conn)
        for year, factor in ((BEFORE, 0.3), (YEAR, 0.1)):
            plant.factor("plane", year, {"category": "any", "cabin_class": "economy"},
                         {"ef_kg_co2eq_per_km": factor})
            travel = plant.module("F0892", year, "travel")
            plant.entry(travel, year, "plane", flight(4000))
            plant.entry(travel, year, "plane", flight(1500, cabin_class="first"))
            plant.entry(travel, year, "train", {"origin_name": "Lausanne"}, kg_co2eq=180.0)
            recalculate_module(conn, travel)
        plant.factor("headcount", YEAR, {"headcount_category": "staff"},
                     {"ef_kg_co2eq_per_unit": 250})
        headcount = plant.module("F0892", YEAR, "headcount")
        plant.entry(headcount, YEAR, "member", {"name": "Ada", "position_category": "Staff",
                                                "fte": 1})
        recalculate_module(conn, headcount)
        for year in (BEFORE, YEAR):
            totals[year] = conn.execute(
                "SELECT sum(s.total_kg_co2eq) FROM module_emission_summaries s "
                "JOIN modules m ON m.id = s.module_id JOIN inventories i "
                "ON i.id = m.inventory_id WHERE i.year = %s", (year,)).fetchone()[0]
    return totals


def test_the_report_page_draws_its_charts_and_prints(page, create_user, two_years,
                                                     screenshot_dir):
    page.context.add_init_script(RECORD_VIOLATIONS)
    complaints: list[str] = []
    page.on("console", lambda message: complaints.append(message.text)
            if "Content Security Policy" in message.text else None)
    user = create_user("viewer")  # of F0892
    login(page, user["email"], user["password"])
    page.get_by_role("link", name=f"Report {YEAR}").click()  # from the dashboard
    expect(page).to_have_url(re.compile(rf"/units/F0892/report/{YEAR}$"))
    expect(page.locator("#report-total")).to_have_text(tonnes(two_years[YEAR]))
    expect(page.locator("#report-change")).to_contain_text(tonnes(two_years[BEFORE]))

    # Bars sized by their figures: the same scale for every bar of the module chart.
    chart = page.locator("#module-chart")
    expect(chart.locator("title")).to_have_text(re.compile(f"per module, {YEAR} and {BEFORE}"))
    bars = chart.locator("rect[data-value]")  # not the legend's squares
    sized = [(float(bar.get_attribute("data-value")), bar.bounding_box())
             for bar in bars.all()]
    drawn = [(value, box["width"]) for value, box in sized if value > 0]
    assert len(drawn) >= 3  # travel in both years, headcount this year
    largest = max(drawn)
    for value, width in drawn:
        assert width == pytest.approx(largest[1] * value / largest[0], rel=0.02)
    assert largest[1] > 100  # drawn, not collapsed
    shares = page.locator("#type-chart rect.segment[data-value]")
    expect(shares).to_have_count(3)  # plane, train, member
    widths = [box["width"] for box in (s.bounding_box() for s in shares.all())]
    assert all(width > 0 for width in widths)
    assert page.evaluate("window.__cspViolations") == [] and complaints == []
    page.screenshot(path=screenshot_dir / "report.png", full_page=True)

    # Printed: no navigation, no buttons; the figures and tables stay.
    print_button = page.get_by_role("button", name="Print")
    expect(print_button).to_be_visible()
    page.emulate_media(media="print")
    expect(page.locator("header.topbar")).to_be_hidden()
    expect(print_button).to_be_hidden()
    expect(page.get_by_role("link", name="Download .xlsx")).to_be_hidden()
    expect(page.locator("#report-total")).to_be_visible()
    expect(page.locator("table.report-modules")).to_be_visible()
    expect(page.locator("#module-chart")).to_be_visible()
    page.screenshot(path=screenshot_dir / "report-print.png", full_page=True)
    pdf = page.pdf(format="A4", print_background=False)
    assert pdf.startswith(b"%PDF-")
    pages = len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf))
    assert 1 <= pages <= 4, pages
    assert "Demo university" in _pdf_title(pdf)
    (screenshot_dir / "report.pdf").write_bytes(pdf)


def _pdf_title(pdf: bytes) -> str:
    """The document's title from its Info dictionary (the page's <title>), in either
    PDF string form: (literal) or <FEFF hex UTF-16>."""
    found = re.search(rb"/Title\s*(\((?:\\.|[^\\)])*\)|<[0-9A-Fa-f]+>)", pdf)
    assert found, "the PDF has no title"
    raw = found.group(1)
    if raw.startswith(b"<"):
        data = bytes.fromhex(raw[1:-1].decode())
        return data[2:].decode("utf-16-be") if data[:2] == b"\xfe\xff" else data.decode("latin-1")
    return raw[1:-1].decode("latin-1")
