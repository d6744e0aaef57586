"""Reports (SPEC §15): the workbook's totals are the emissions API's, its entry sheets
hold every entry with its emission and factor, it holds only what the caller sees, and
the printable page shows the same figures."""

from __future__ import annotations

import io

import psycopg
import pytest
from openpyxl import load_workbook
from psycopg.types.json import Jsonb
from python_calamine import CalamineWorkbook

from tests.integration.test_units import run_import
from tests.support.web import logged_in_client
from webapp.emissions import recalculate_module
from webapp.views.formatting import tonnes

TREE = """code,name,parent_code,active
UNI,University,,yes
F0892,Demo university,UNI,yes
LAB-1,A lab of the demo,F0892,yes
OTHER,Another school,,yes
"""
YEAR, BEFORE = 2027, 2026
UNITS = ("UNI", "F0892", "LAB-1", "OTHER")
MODULE_TYPES = ("headcount", "travel", "equipment", "purchases")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def flight(km: float, **data) -> dict:
    return {"origin_iata": "GVA", "destination_iata": "LHR", "cabin_class": "economy",
            "user_institutional_id": "U1", "departure_date": "2027-03-01",
            "number_of_trips": 1, "distance_km": km, **data}


class Plant:
    """Entries and factors of any unit and year, written straight into PostgreSQL."""

    def __init__(self, conn: psycopg.Connection):
        self.conn = conn

    def module(self, unit: str, year: int, module_type: str) -> int:
        return self.conn.execute(
            "SELECT m.id FROM modules m JOIN inventories i ON i.id = m.inventory_id "
            "JOIN units u ON u.id = i.unit_id WHERE u.code = %s AND i.year = %s "
            "AND m.module_type = %s", (unit, year, module_type)).fetchone()[0]

    def factor(self, slug: str, year: int, classification: dict, values: dict) -> int:
        return self.conn.execute(
            "INSERT INTO emission_factors (factor_type_id, year, classification, values) "
            "SELECT id, %s, %s, %s FROM factor_types WHERE slug = %s RETURNING id",
            (year, Jsonb(classification), Jsonb(values), slug)).fetchone()[0]

    def entry(self, module_id: int, year: int, entry_type: str, data: dict,
              kg_co2eq: float | None = None) -> int:
        return self.conn.execute(
            "INSERT INTO data_entries (inventory_id, module_id, year, entry_type, data, "
            "kg_co2eq, source) SELECT inventory_id, id, %s, %s, %s, %s, 'csv_upload' "
            "FROM modules WHERE id = %s RETURNING id",
            (year, entry_type, Jsonb(data), kg_co2eq, module_id)).fetchone()[0]


@pytest.fixture
def university(app, db_url, tmp_path, admin_api):
    """The tree of test_access (UNI › F0892 › LAB-1, and OTHER) with YEAR and BEFORE
    open, and recalculated entries in each unit's travel module in both years (planes
    from a factor, trains given by the source, one flight without a factor), and
    members in F0892's and LAB-1's headcount this year."""
    assert run_import(app, tmp_path, TREE).exit_code == 0
    for year in (BEFORE, YEAR):
        assert admin_api.post(f"/years/{year}").status_code == 201
        assert admin_api.post(f"/years/{year}/open").status_code == 200
    with psycopg.connect(db_url, autocommit=True) as conn:
        plant = Plant(conn)
        factors = {year: plant.factor("plane", year, {"category": "any",
                                                      "cabin_class": "economy"},
                                      {"ef_kg_co2eq_per_km": 0.1 * (year - 2025)})
                   for year in (BEFORE, YEAR)}
        plant.factor("headcount", YEAR, {"headcount_category": "staff"},
                     {"ef_kg_co2eq_per_unit": 500})
        entries = {}
        for n, unit in enumerate(UNITS, start=1):
            for year in (BEFORE, YEAR):
                travel = plant.module(unit, year, "travel")
                entries[unit, year] = [
                    plant.entry(travel, year, "plane", flight(1000 * n, note="=1+1")),
                    plant.entry(travel, year, "train", {
                        "origin_name": "Lausanne", "destination_name": "Paris",
                        "origin_country_code": "CH", "destination_country_code": "FR",
                        "cabin_class": "second"}, kg_co2eq=12.345 * n),
                    plant.entry(travel, year, "plane", flight(2000, cabin_class="business"))]
                recalculate_module(conn, travel)
        for unit in ("F0892", "LAB-1"):
            headcount = plant.module(unit, YEAR, "headcount")
            plant.entry(headcount, YEAR, "member", {"name": "Ada", "fte": 0.5,
                                                    "position_category": "Staff"})
            recalculate_module(conn, headcount)
    return {"factors": factors, "entries": entries}


def workbook(client, url: str):
    response = client.get(url)
    assert response.status_code == 200, response.get_data()[:300]
    assert response.mimetype == XLSX
    return response, load_workbook(io.BytesIO(response.get_data()))


def sheet_rows(sheet) -> list[dict]:
    rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]


def api_figures(api, unit: str, year: int) -> dict[str, float]:
    """{module type: kg} of the unit's own inventory, as the emissions API gives it."""
    modules = api.get(f"/modules?unit={unit}&year={year}&limit=500").get_json()["items"]
    inventory = next(m["inventory_id"] for m in modules if m["unit_code"] == unit)
    body = api.get(f"/inventories/{inventory}/emissions").get_json()
    return {m["module_type"]: m["total_kg_co2eq"] for m in body["modules"]}


def test_the_totals_are_the_emissions_apis(admin_api, university):
    response, book = workbook(admin_api, f"/reports/{YEAR}.xlsx")
    assert response.headers["Content-Disposition"].endswith("report-2027-all.xlsx")
    assert book.sheetnames[:2] == ["Totals", "About"]
    totals = book["Totals"]
    rows = {row["Unit code"]: row for row in sheet_rows(totals)}
    assert list(rows) == ["UNI", "F0892", "LAB-1", "OTHER", "Total"]  # parents first
    assert rows["LAB-1"]["Parent code"] == "F0892"
    assert rows["LAB-1"]["Path"] == "UNI › F0892 › LAB-1"
    names = {"headcount": "Headcount", "travel": "Professional travel",
             "equipment": "Equipment", "purchases": "Purchases"}
    sums = {YEAR: 0.0, BEFORE: 0.0}
    for unit in UNITS:
        now, before = api_figures(admin_api, unit, YEAR), api_figures(admin_api, unit, BEFORE)
        row = rows[unit]
        for module_type in MODULE_TYPES:
            label = names[module_type]
            kg_now, kg_before = now[module_type], before[module_type]
            assert row[f"{label} {YEAR} t CO2eq"] * 1000 == pytest.approx(kg_now, abs=0.01)
            assert row[f"{label} {BEFORE} t CO2eq"] * 1000 == pytest.approx(kg_before,
                                                                             abs=0.01)
            assert row[f"{label} change t CO2eq"] * 1000 == pytest.approx(
                kg_now - kg_before, abs=0.01)
            percent = row[f"{label} change %"]
            if kg_before:
                assert percent == pytest.approx((kg_now - kg_before) / kg_before * 100)
            else:
                assert percent is None  # no percentage of nothing
        assert row[f"Total {YEAR} kg CO2eq"] == pytest.approx(sum(now.values()), abs=0.01)
        assert row[f"Total {YEAR} t CO2eq"] * 1000 == pytest.approx(sum(now.values()),
                                                                    abs=0.01)
        sums[YEAR] += sum(now.values())
        sums[BEFORE] += sum(before.values())
    # Travel grew (the plane factor doubled) and members came: the change says so.
    assert rows["F0892"]["Total change t CO2eq"] > 0
    assert rows["Total"][f"Total {YEAR} kg CO2eq"] == pytest.approx(sums[YEAR], abs=0.01)
    assert rows["Total"][f"Total {BEFORE} t CO2eq"] * 1000 == pytest.approx(sums[BEFORE],
                                                                            abs=0.01)
    # Numbers as numbers, shown in t with two decimals.
    cell = totals.cell(row=2, column=5 + 4)  # UNI, travel this year
    assert isinstance(cell.value, float) and cell.number_format == "#,##0.00"
    about = {row[0]: row[1] for row in book["About"].iter_rows(values_only=True)}
    assert about["Year"] == f"{YEAR} (compared with {BEFORE})"
    assert "every unit you may see: 4 units" in about["Scope"]
    assert about["Generated at"].endswith("UTC")


def test_entry_sheets_hold_every_entry_with_its_emission_and_factor(admin_api, university,
                                                                   db_url):
    response, book = workbook(admin_api, f"/reports/{YEAR}.xlsx?unit=UNI")
    assert book.sheetnames == ["Totals", "About", "Member", "Plane", "Train"]
    # Another reader (the one uploads use) reads the same file alike.
    other = CalamineWorkbook.from_filelike(io.BytesIO(response.get_data()))
    assert other.sheet_names == book.sheetnames
    assert other.get_sheet_by_name("Plane").to_python()[0][:3] == [
        "Unit code", "Entry id", "origin_iata"]
    planes = sheet_rows(book["Plane"])
    with psycopg.connect(db_url) as conn:
        stored = {row[0]: row[1:] for row in conn.execute(
            "SELECT id, kg_co2eq, emission FROM data_entries WHERE year = %s "
            "AND entry_type = 'plane'", (YEAR,))}
    in_scope = {e for unit in ("UNI", "F0892", "LAB-1")
                for e in university["entries"][unit, YEAR]}
    assert {row["Entry id"] for row in planes} == in_scope & set(stored)
    factor = university["factors"][YEAR]
    for row in planes:
        kg, emission = stored[row["Entry id"]]
        assert row["origin_iata"] == "GVA"  # the entry's own fields, one column each
        assert row["unit_institutional_id"] is None  # a declared column it does not have
        if row["cabin_class"] == "economy":
            assert row["kg CO2eq"] == pytest.approx(kg) and kg > 0
            assert row["Method"] == "computed" and row["Factor id"] == factor
            assert row["Factor type"] == "plane"
            assert row["Factor"] == "cabin_class=economy; category=any"
            assert row["Factor values"] == "ef_kg_co2eq_per_km=0.2"
            assert row["note"] == "=1+1"  # text, never a formula
        else:
            assert row["kg CO2eq"] is None and row["Factor id"] is None
            assert row["Missing reason"] == emission["missing_reason"]
            assert "no plane factor for business" in row["Missing reason"]
    trains = sheet_rows(book["Train"])
    assert sorted(row["kg CO2eq"] for row in trains) == pytest.approx([12.345, 24.69,
                                                                      37.035])
    assert {row["Method"] for row in trains} == {"source"}
    # A figure the source gives is the entry's kg CO2eq, not a second, empty column.
    assert "kg_co2eq" not in trains[0] and "kg_co2eq" not in planes[0]
    assert {row["Unit code"] for row in trains} == {"UNI", "F0892", "LAB-1"}


def test_a_long_entry_type_continues_on_the_next_sheet(admin_api, university, monkeypatch):
    from webapp.reports import workbook as writer

    monkeypatch.setattr(writer, "ENTRIES_PER_SHEET", 3)
    _, book = workbook(admin_api, f"/reports/{YEAR}.xlsx")
    assert book.sheetnames == ["Totals", "About", "Member", "Plane", "Plane (2)", "Plane (3)",
                               "Train", "Train (2)"]
    parts = [sheet_rows(book[name]) for name in ("Plane", "Plane (2)", "Plane (3)")]
    assert [len(part) for part in parts] == [3, 3, 2]
    ids = [row["Entry id"] for part in parts for row in part]
    assert len(set(ids)) == 8  # 2 flights in each of the 4 units


def test_a_member_gets_their_subtree_only(app, api, api_token, create_user, university,
                                          admin_api):
    from tests.support.accounts import ApiClient

    member = ApiClient(app.test_client(), api_token(create_user("viewer", unit="F0892")))
    response, book = workbook(member, f"/reports/{YEAR}.xlsx")
    units = [row["Unit code"] for row in sheet_rows(book["Totals"])]
    assert units == ["F0892", "LAB-1", "Total"]
    assert {row["Unit code"] for row in sheet_rows(book["Train"])} == {"F0892", "LAB-1"}
    # Above their unit, beside it, or nowhere: the same 404.
    answers = [member.get(f"/reports/{YEAR}.xlsx?unit={code}") for code in
               ("UNI", "OTHER", "NOPE")]
    assert [a.status_code for a in answers] == [404, 404, 404]
    assert answers[0].get_json()["message"] == "no unit has the code 'UNI'"
    assert answers[2].get_json()["message"] == "no unit has the code 'NOPE'"
    lab, book = workbook(member, f"/reports/{YEAR}.xlsx?unit=LAB-1")
    assert lab.headers["Content-Disposition"].endswith("report-2027-LAB-1.xlsx")
    assert [row["Unit code"] for row in sheet_rows(book["Totals"])] == ["LAB-1", "Total"]
    # A closed year does not exist for them; the year before, closed, is not compared.
    assert admin_api.post("/years/2028").status_code == 201
    closed = member.get("/reports/2028.xlsx")
    assert closed.status_code == 404 and closed.get_json()["message"] == "no year 2028"
    assert member.get("/reports/1999.xlsx").get_json()["message"] == "no year 1999"
    assert admin_api.get("/reports/2028.xlsx").status_code == 200
    with app.app_context():
        from webapp.extensions import db
        from webapp.models import InventoryYear

        db.session.get(InventoryYear, BEFORE).open = False
        db.session.commit()
    _, book = workbook(member, f"/reports/{YEAR}.xlsx")
    header = next(book["Totals"].iter_rows(values_only=True))
    assert not any(str(BEFORE) in str(cell) for cell in header)
    anonymous = app.test_client().get(f"/api/v1/reports/{YEAR}.xlsx")
    assert anonymous.status_code == 401


def test_the_page_shows_the_figures(app, create_user, admin_api, university):
    viewer = logged_in_client(app, create_user("viewer", unit="UNI"))
    page = viewer.get(f"/units/UNI/report/{YEAR}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    now = {unit: api_figures(admin_api, unit, YEAR) for unit in ("UNI", "F0892", "LAB-1")}
    before = {unit: api_figures(admin_api, unit, BEFORE) for unit in ("UNI", "F0892", "LAB-1")}
    total = sum(sum(f.values()) for f in now.values())
    earlier = sum(sum(f.values()) for f in before.values())
    assert f'id="report-total">{tonnes(total)}</span> t CO2eq' in html
    assert f"{BEFORE}: {tonnes(earlier)} t CO2eq" in html
    assert f"change +{tonnes(total - earlier)} t CO2eq" in html
    travel = sum(f["travel"] for f in now.values())
    assert f'<th scope="row">Professional travel</th><td class="num">{tonnes(travel)}</td>' \
        in html
    assert "<svg" in html and 'id="module-chart"' in html and 'id="type-chart"' in html
    assert "style=" not in html  # the CSP allows no inline style
    # The one child, F0892, with its subtree's total; the links to the workbook.
    child = sum(sum(now[u].values()) for u in ("F0892", "LAB-1"))
    assert f'>Demo university</a></td><td>F0892</td>\n        <td class="num">{tonnes(child)}' \
        in html
    assert f'href="/api/v1/reports/{YEAR}.xlsx?unit=UNI"' in html
    assert "no plane factor for business" in html  # why entries have no emissions
    assert "1 of 5" not in html and "3 of 3" in html  # coverage of the subtree's units
    assert viewer.get(f"/units/OTHER/report/{YEAR}").status_code == 404
    assert viewer.get("/units/UNI/report/2030").status_code == 404
    # Linked from the unit's dashboard view and its module pages.
    assert f'href="/units/F0892/report/{YEAR}"' in viewer.get(
        f"/?unit=F0892&year={YEAR}").get_data(as_text=True)
    modules = admin_api.get(f"/modules?unit=LAB-1&year={YEAR}").get_json()["items"]
    module = next(m["id"] for m in modules if m["unit_code"] == "LAB-1")
    assert f'href="/units/LAB-1/report/{YEAR}"' in viewer.get(
        f"/modules/{module}").get_data(as_text=True)
