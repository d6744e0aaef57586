"""Upload templates through the app (SPEC §15): the routes answer CSV and .xlsx files
with their types and names, or 404 naming what exists; each CSV template's example row
loads in a real dry run (every entry type, every factor type), the units template's in a
real import, the every-unit template's in a real institution-wide sync; the pages where
files are uploaded link both templates, and the links work."""

from __future__ import annotations

import csv
import io
import re

import openpyxl
import pytest

from tests.integration.test_csv_ingestion import FACTOR_TYPE_IDS, MODULE_IDS, upload
from webapp.ingestion.providers.csv_upload.schemas import ENTRY_SCHEMAS, FACTOR_SCHEMAS
from webapp.upload_templates.files import XLSX_TYPE

pytestmark = pytest.mark.usefixtures("settled")
TEMPLATE_LINK = re.compile(r'href="(/api/v1/templates/[^"]+)"')


def _rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def _assert_file(response, mimetype: str, filename: str) -> None:
    assert response.status_code == 200, response.get_data()[:300]
    assert response.mimetype == mimetype
    assert response.headers["Content-Disposition"] == f'attachment; filename="{filename}"'


def test_each_template_as_csv_and_as_excel(api):
    travel = MODULE_IDS["travel"]
    for path, stem, sheet in (
            (f"/templates/{travel}", "travel-plane-template", "Plane"),  # its first type
            (f"/templates/{travel}?entry_type=train", "travel-train-template", "Train"),
            (f"/templates/factors/{FACTOR_TYPE_IDS['purchase']}", "factors-purchase-template",
             "Purchase factors"),
            ("/templates/units", "units-template", "Units"),
            ("/templates/institution/equipment", "every-unit-equipment-equipment-template",
             "Equipment")):
        base, _, query = path.partition("?")
        query = f"?{query}" if query else ""
        as_csv = api.get(f"{base}.csv{query}")
        _assert_file(as_csv, "text/csv", f"{stem}.csv")
        header, example = _rows(as_csv)
        as_xlsx = api.get(f"{base}.xlsx{query}")
        _assert_file(as_xlsx, XLSX_TYPE, f"{stem}.xlsx")
        book = openpyxl.load_workbook(io.BytesIO(as_xlsx.get_data()))
        assert book.sheetnames[:2] == [sheet, "About these columns"], path
        assert [cell.value for cell in book[sheet][1]] == header, path
        assert book[sheet].max_row == 2 and any(example), path


@pytest.mark.parametrize("path,words", [
    ("/templates/2.xlsx?entry_type=bus", "no template for entry type 'bus' of travel; "
                                         "known: plane, train"),
    ("/templates/2.csv?entry_type=bus", "known: plane, train"),
    ("/templates/institution/rockets.xlsx", "module type 'rockets' has no template; known:"),
    ("/templates/institution/travel.csv?entry_type=member", "known: plane, train"),
    ("/templates/factors/99999.xlsx", "factor type 99999 does not exist"),
    ("/templates/99999.xlsx", ""),
])
def test_an_unknown_template_is_a_404_naming_what_exists(api, path, words):
    response = api.get(path)
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"
    assert words in response.get_json()["message"]


@pytest.mark.parametrize("module,entry_type", list(ENTRY_SCHEMAS))
def test_the_example_row_of_each_entry_template_loads_in_a_dry_run(api, worker, module,
                                                                    entry_type):
    template = api.get(f"/templates/{MODULE_IDS[module]}.csv?entry_type={entry_type}")
    header, example = _rows(template)
    preview = upload(api, template.get_data(), module=module, entry_type=entry_type,
                     dry_run=True, filename="template.csv")
    assert (preview["status"], preview["errors_total"]) == ("completed", 0), preview
    assert preview["dry_run"] is True and preview["counts"]["inserted"] == 1
    [row] = preview["preview"]
    assert row["entry_type"] == entry_type
    assert row["data"][header[0]] == example[0]  # a text column, kept as written
    # The Excel template, uploaded as downloaded (its explanation sheet comes second),
    # gives the very same row: its typed cells (dates, numbers) read as the CSV's text.
    workbook = api.get(f"/templates/{MODULE_IDS[module]}.xlsx?entry_type={entry_type}")
    from_excel = upload(api, workbook.get_data(), module=module, entry_type=entry_type,
                        dry_run=True, filename="template.xlsx")
    assert (from_excel["status"], from_excel["errors_total"]) == ("completed", 0), from_excel
    assert from_excel["preview"] == preview["preview"]


@pytest.mark.parametrize("factor_type", list(FACTOR_SCHEMAS))
def test_the_example_row_of_each_factor_template_loads_in_a_dry_run(admin_api, worker,
                                                                     factor_type):
    template = admin_api.get(f"/templates/factors/{FACTOR_TYPE_IDS[factor_type]}.csv")
    module = {"plane": "travel", "train": "travel", "equipment": "equipment",
              "purchase": "purchases", "headcount": "headcount"}[factor_type]
    preview = upload(admin_api, template.get_data(), module=module, factor_type=factor_type,
                     dry_run=True, filename="template.csv")
    assert (preview["status"], preview["errors_total"]) == ("completed", 0), preview
    assert preview["counts"]["inserted"] == 1
    assert [row["change"] for row in preview["preview"]] == ["insert"]
    workbook = admin_api.get(f"/templates/factors/{FACTOR_TYPE_IDS[factor_type]}.xlsx")
    from_excel = upload(admin_api, workbook.get_data(), module=module,
                        factor_type=factor_type, dry_run=True, filename="template.xlsx")
    assert (from_excel["status"], from_excel["errors_total"]) == ("completed", 0), from_excel
    assert from_excel["preview"] == preview["preview"]


def test_the_units_templates_example_row_imports(admin_api, worker, db_url):
    import psycopg

    template = admin_api.get("/templates/units.csv")
    answer = admin_api.post("/units/import", content_type="multipart/form-data", data={
        "file": (io.BytesIO(template.get_data()), "units-template.csv")})
    assert answer.status_code == 202, answer.get_json()
    final = admin_api.wait(answer.get_json()["job_id"])
    assert final["status"] == "completed" and final["counts"]["inserted"] == 1, final
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT name, parent_id, active FROM units WHERE code = 'ENAC'"
                            ).fetchone() == (
            "School of Architecture, Civil and Environmental Engineering", None, True)


def test_the_every_unit_templates_row_goes_to_the_unit_it_names(admin_api, worker, db_url):
    """Its example names a unit of no tree here: the row is refused for that reason only,
    and once it names the demo's unit, it loads there."""
    import psycopg

    template = admin_api.get("/templates/institution/equipment.csv")
    header, example = _rows(template)

    def sync(content: bytes) -> dict:
        answer = admin_api.post("/sync/institution/2025", content_type="multipart/form-data",
                                data={"provider_type": "csv_upload",
                                      "module_type": "equipment",
                                      "file": (io.BytesIO(content), "every-unit.csv")})
        assert answer.status_code == 202, answer.get_json()
        return admin_api.wait(answer.get_json()["job_id"])

    refused = sync(template.get_data())
    assert [(e["column"], e["value"]) for e in refused["errors"]] == [("unit_code", "ENAC-LAB")]
    example[header.index("unit_code")] = "F0892"
    text = io.StringIO()
    csv.writer(text).writerows([header, example])
    final = sync(text.getvalue().encode())
    assert final["status"] == "completed" and final["counts"]["inserted"] == 1, final
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT data->>'equipment_id' FROM data_entries WHERE "
                            "module_id = %s", (MODULE_IDS["equipment"],)).fetchall() == [
            ("EQ-00417",)]


def _links(page) -> list[str]:
    assert page.status_code == 200
    return [link.replace("&amp;", "&") for link in TEMPLATE_LINK.findall(page.text)]


def _all_download(client, links: list[str]) -> None:
    for link in links:
        response = client.get(link)
        assert response.status_code == 200, link
        assert response.mimetype == (XLSX_TYPE if ".xlsx" in link else "text/csv"), link


def test_the_module_page_links_both_templates_beside_its_uploads(pages):
    travel = MODULE_IDS["travel"]
    admin = pages("admin")
    page = admin.get(f"/modules/{travel}")
    assert "Download a template:" in page.text
    links = _links(page)
    for entry_type in ("plane", "train"):
        for extension in ("csv", "xlsx"):
            assert f"/api/v1/templates/{travel}.{extension}?entry_type={entry_type}" in links
    for factor_type in ("plane", "train"):
        for extension in ("csv", "xlsx"):
            assert (f"/api/v1/templates/factors/{FACTOR_TYPE_IDS[factor_type]}.{extension}"
                    in links)
    assert 'aria-label="Train template, Excel"' in page.text
    assert 'aria-label="Plane travel factors template, CSV"' in page.text  # not "Template"
    _all_download(admin.client, links)
    # A viewer uploads nothing, and still finds the templates beside the stored entries.
    headcount = MODULE_IDS["headcount"]  # one entry type: one pair, no choice to make
    assert _links(pages("viewer").get(f"/modules/{headcount}")) == [
        f"/api/v1/templates/{headcount}.csv", f"/api/v1/templates/{headcount}.xlsx"]


def test_the_admin_pages_link_the_units_and_every_unit_templates(pages):
    admin = pages("admin")
    units = _links(admin.get("/admin/units"))
    assert units == ["/api/v1/templates/units.csv", "/api/v1/templates/units.xlsx"]
    sync_page = admin.get("/admin/sync?module_type=equipment")
    assert "For a CSV upload, download a template:" in sync_page.text
    assert _links(sync_page) == ["/api/v1/templates/institution/equipment.csv",
                                 "/api/v1/templates/institution/equipment.xlsx"]
    # Choosing another module type swaps the provider field, and its templates with it.
    fragment = admin.get("/admin/sync?module_type=travel", headers={"HX-Request": "true"})
    travel = _links(fragment)
    assert travel == [f"/api/v1/templates/institution/travel.{extension}?entry_type={kind}"
                      for kind in ("plane", "train") for extension in ("csv", "xlsx")]
    _all_download(admin.client, units + travel)
