"""/admin/sync, "Sync every unit" (SPEC §14): admins choose a year, a module type and one
of its routing providers (a file for csv_upload); the job's page comes next, and a
refused request comes back to the form saying why."""

from __future__ import annotations

import io
import re

import pytest

OPTION = re.compile(r'<option value="([^"]*)"')


@pytest.fixture
def admin_page(app, pages):
    return pages("admin")


def _provider_choices(html: str) -> list[str]:
    field = html[html.index('id="sync-providers"'):]
    return OPTION.findall(field[:field.index("</select>")])


def test_the_form_offers_the_years_and_the_routing_providers_of_a_module_type(admin_page):
    page = admin_page.get("/admin/sync?module_type=travel")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<option value="2025"' in html and 'name="module_type"' in html
    # Only providers whose rows name their unit: never the synthetic one, nor copy forward.
    assert _provider_choices(html) == ["tableau_api", "csv_upload"]
    fragment = admin_page.get("/admin/sync?module_type=headcount",
                              headers={"HX-Request": "true"})
    text = fragment.get_data(as_text=True)
    assert "<h1" not in text and _provider_choices(text) == ["hr_api", "csv_upload"]
    # Equipment has no routing API source: the CSV only.
    assert _provider_choices(admin_page.get("/admin/sync?module_type=equipment")
                             .get_data(as_text=True)) == ["csv_upload"]


def test_a_csv_for_every_unit_goes_to_the_jobs_page(admin_page, idle_queue, db_url):
    response = admin_page.post("/admin/sync", data={
        "year": "2025", "module_type": "travel", "provider_type": "csv_upload",
        "on_error": "skip", "file": (io.BytesIO(
            b"origin_iata,destination_iata,user_institutional_id,cabin_class,"
            b"departure_date,unit_code\nGVA,CDG,1,economy,2025-03-01,F0892\n"),
            "flights.csv")}, content_type="multipart/form-data")
    assert response.status_code == 303
    job_id = int(re.fullmatch(r"/jobs/(\d+)", response.location).group(1))
    status = admin_page.get(f"/api/v1/sync/status/{job_id}").get_json()
    assert status["module_id"] is None and status["request"]["module_type"] == "travel"
    assert status["request"]["upload"]["filename"] == "flights.csv"
    assert status["request"]["config"] == {"on_error": "skip"}


def test_a_refused_request_comes_back_to_the_form_saying_why(admin_page):
    response = admin_page.post("/admin/sync", data={
        "year": "2025", "module_type": "travel", "provider_type": "csv_upload"})
    assert response.status_code == 303
    assert response.location == "/admin/sync?module_type=travel"
    html = admin_page.get(response.location).get_data(as_text=True)
    assert ("Not started: csv_upload needs a CSV file or an Excel workbook in the "
            "&#39;file&#39; field") in html


def test_only_admins_see_it(pages):
    editor = pages("editor")
    assert editor.get("/admin/sync").status_code == 403
    assert editor.post("/admin/sync", data={"year": "2025", "module_type": "travel",
                                            "provider_type": "tableau_api"}).status_code == 403
    assert "Sync every unit" not in editor.get("/").get_data(as_text=True)
