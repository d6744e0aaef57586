"""The dashboard of a university (SPEC §13): the caller's units with totals rolled up the
tree from the stored summaries, drilling down, search, pages, and nothing of units the
caller may not see."""

from __future__ import annotations

import re

import pytest

from tests.integration.test_units import run_import
from tests.support.emissions import wait_recalculated
from tests.support.web import logged_in_client
from webapp.views.formatting import tonnes

TREE = """code,name,parent_code,active
S-1,School of engineering,,yes
I-1,Institute of environment,S-1,yes
L-1,Lab of glaciers,I-1,yes
L-3,Lab of rivers,I-1,yes
"""


def _modules(admin_api, unit: str, year: int) -> dict[str, int]:
    items = admin_api.get(f"/modules?unit={unit}&year={year}&limit=500").get_json()["items"]
    return {m["module_type"]: m["id"] for m in items if m["unit_code"] == unit}


@pytest.fixture
def school(app, tmp_path, admin_api):
    assert run_import(app, tmp_path, TREE).exit_code == 0
    assert admin_api.post("/years/2026").status_code == 201
    assert admin_api.post("/years/2026/open").status_code == 200


def _cells(html: str, code: str) -> list[str]:
    """The cells of the units table's row of `code`."""
    row = re.search(rf"<tr>\s*<td><a[^>]*>[^<]*</a>[^<]*</td>\s*<td>{code}</td>(.*?)</tr>",
                    html, re.S)
    assert row, f"no row for {code}"
    return [re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)]


def test_totals_roll_up_the_tree_from_the_stored_summaries(app, admin_api, school, worker,
                                                           create_user):
    loads = {}
    for unit, rows in (("L-1", 5), ("L-3", 7)):
        module_id = _modules(admin_api, unit, 2026)["travel"]
        job = admin_api.sync(module_id, year=2026, config={"rows": rows, "batch": rows})
        assert job.status_code == 202, job.get_json()
        loads[unit] = (module_id, admin_api.wait(job.get_json()["job_id"]))
    figures = {unit: wait_recalculated(admin_api, module_id, load)
               for unit, (module_id, load) in loads.items()}
    kg = sum(f["total_kg_co2eq"] for f in figures.values())

    admin = logged_in_client(app, create_user("admin"))
    page = admin.get("/?unit=S-1&year=2026")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Units below School of engineering" in html
    # The institute holds both labs: 12 entries, their summaries' total, in tonnes.
    assert kg > 0
    assert _cells(html, "I-1") == ["2", tonnes(kg), "12"]
    assert re.search(r'id="unit-rollup">[^<]*</span> t CO2eq\s*from 12 entries', html)
    lab = admin.get("/?unit=I-1&year=2026").get_data(as_text=True)
    assert _cells(lab, "L-1") == ["0", tonnes(figures["L-1"]["total_kg_co2eq"]), "5"]
    assert _cells(lab, "L-3")[2] == "7"
    # A lab's page: its own inventory and modules, and where it sits in the tree.
    own = admin.get("/?unit=L-1&year=2026").get_data(as_text=True)
    assert 'aria-label="Where this unit is"' in own and ">School of engineering</a>" in own
    assert f'href="/modules/{loads["L-1"][0]}"' in own


def test_a_member_sees_only_their_units(app, school, create_user):
    lab_viewer = logged_in_client(app, create_user("viewer", unit="L-1"))
    home = lab_viewer.get("/?year=2026").get_data(as_text=True)
    # Their one unit is shown at once; the school above it is not named anywhere.
    assert "Lab of glaciers" in home and "unit L-1" in home
    assert "School of engineering" not in home and "Lab of rivers" not in home
    assert lab_viewer.get("/?unit=S-1").status_code == 404
    assert lab_viewer.get("/?unit=L-3").status_code == 404
    assert "Lab of rivers" not in lab_viewer.get("/?q=Lab").get_data(as_text=True)
    school_viewer = logged_in_client(app, create_user("viewer", unit="S-1"))
    school = school_viewer.get("/?year=2026").get_data(as_text=True)  # a root unit
    assert "unit S-1" in school and "Units below School of engineering" in school
    nobody = logged_in_client(app, create_user("viewer", unit=None))
    assert "You are not a member of any unit yet" in nobody.get("/").get_data(as_text=True)


def test_closed_years_are_an_admins(app, admin_api, school, create_user):
    assert admin_api.post("/years/2027").status_code == 201  # created closed
    editor = logged_in_client(app, create_user("editor", unit="S-1"))
    assert editor.get("/?year=2027").status_code == 404
    assert 'value="2027"' not in editor.get("/").get_data(as_text=True)
    admin = logged_in_client(app, create_user("admin"))
    assert admin.get("/?unit=S-1&year=2027").status_code == 200


def test_search_and_pages(app, tmp_path, create_user):
    labs = "".join(f"L-{n:03},Lab {n},I-9,yes\n" for n in range(60))
    assert run_import(app, tmp_path, "code,name,parent_code,active\n"
                      "I-9,Institute nine,,yes\n" + labs).exit_code == 0
    admin = logged_in_client(app, create_user("admin"))
    first = admin.get("/?unit=I-9").get_data(as_text=True)
    assert "Page 1 of 2" in first and first.count("<td>L-0") == 50
    second = admin.get("/?unit=I-9&page=2").get_data(as_text=True)
    assert second.count("<td>L-0") == 10
    found = admin.get("/?q=L-05").get_data(as_text=True)
    assert "Units matching “L-05”" in found and found.count("<td>L-0") == 10
