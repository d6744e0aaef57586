"""Years (SPEC §13): one request creates a year's inventory and modules for every active
unit, in one transaction; the year starts closed and an admin opens it."""

from __future__ import annotations

import psycopg
import pytest

from webapp.models.inventory import MODULE_TYPES

UNITS = ("code,name,parent_code,active\nS-1,School,,yes\nI-1,Institute,S-1,yes\n"
         "L-1,Lab one,I-1,yes\nL-2,Old lab,I-1,no\n")


@pytest.fixture
def tree(app, tmp_path):
    path = tmp_path / "units.csv"
    path.write_text(UNITS)
    result = app.test_cli_runner().invoke(args=["units", "import", str(path)])
    assert result.exit_code == 0, result.output


def inventories(db_url, year: int) -> dict[str, tuple[str, list[str]]]:
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT i.unit_code, i.name, array_agg(m.module_type ORDER BY m.module_type) "
            "FROM inventories i JOIN units u ON u.id = i.unit_id "
            "LEFT JOIN modules m ON m.inventory_id = i.id WHERE i.year = %s "
            "GROUP BY 1, 2", (year,)).fetchall()
    return {code: (name, types) for code, name, types in rows}


def test_a_year_is_created_for_every_active_unit(admin_api, db_url, tree):
    response = admin_api.post("/years/2026")
    assert response.status_code == 201, response.get_json()
    # The demo unit (F0892) and the three active units of the tree; not the old lab.
    assert response.get_json() == {"year": 2026, "open": False, "inventories": 4,
                                   "modules": 4 * len(MODULE_TYPES)}
    made = inventories(db_url, 2026)
    assert set(made) == {"F0892", "S-1", "I-1", "L-1"}
    assert made["L-1"] == ("Lab one 2026", sorted(MODULE_TYPES))
    listed = admin_api.get("/years").get_json()
    assert {"year": 2026, "open": False, "inventories": 4} in listed["items"]
    assert {"year": 2025, "open": True, "inventories": 1} in listed["items"]  # the demo's


def test_a_year_exists_once(admin_api, db_url, tree):
    assert admin_api.post("/years/2026").status_code == 201
    again = admin_api.post("/years/2026")
    assert again.status_code == 409
    assert again.get_json()["message"] == "the year 2026 exists already"
    assert len(inventories(db_url, 2026)) == 4  # nothing doubled


@pytest.mark.parametrize("year", [1989, 2101])
def test_a_year_out_of_range_is_refused(admin_api, year):
    response = admin_api.post(f"/years/{year}")
    assert response.status_code == 422
    assert "year must be between 1990 and 2100" in response.get_json()["message"]


def test_only_admins_create_and_open_years(api, admin_api):
    assert api.post("/years/2026").status_code == 403
    assert admin_api.post("/years/2026").status_code == 201
    assert api.post("/years/2026/open").status_code == 403


def test_an_admin_opens_a_year(admin_api, db_url):
    assert admin_api.post("/years/2027").status_code == 201
    opened = admin_api.post("/years/2027/open")
    assert opened.status_code == 200 and opened.get_json() == {"year": 2027, "open": True}
    assert admin_api.post("/years/2027/open").get_json()["open"] is True  # idempotent
    assert admin_api.post("/years/2031/open").status_code == 404
    with psycopg.connect(db_url) as conn:
        actions = [row[0] for row in conn.execute(
            "SELECT action FROM audit_log WHERE target_type = 'year' ORDER BY id")]
    assert actions == ["year.created", "year.opened"]


def test_modules_are_listed_by_unit_subtree_year_and_type(admin_api, api, tree):
    assert admin_api.post("/years/2026").status_code == 201
    everything = admin_api.get("/modules?limit=500").get_json()
    assert everything["total"] == 4 * 4 + 4  # the 2026 year's, and the demo's of 2025
    # An editor of the demo's unit sees its modules, and not the closed year's.
    assert api.get("/modules?limit=500").get_json()["total"] == 4
    api = admin_api
    first = everything["items"][0]
    assert (first["year"], first["unit_code"]) == (2026, "F0892")
    below = api.get("/modules?unit=I-1&year=2026&module_type=travel").get_json()
    assert [(m["unit_code"], m["unit_name"], m["module_type"]) for m in below["items"]] == [
        ("I-1", "Institute", "travel"), ("L-1", "Lab one", "travel")]
    page = api.get("/modules?unit=S-1&limit=5&offset=10").get_json()
    assert page["total"] == 12 and len(page["items"]) == 2
    assert api.get("/modules?unit=NOPE").status_code == 404
