"""A job's page and panel through the Flask test client, with a real worker: previews as
tables, the job a page names after Retry or Load it, and which failures offer Retry."""

from __future__ import annotations

import re

import pytest

HEADCOUNT, TRAVEL = 1, 2  # demo seed module ids
PLANE_FACTORS = 1  # demo seed factor type id
HX = {"HX-Request": "true"}
PEOPLE = ("name,position_category,user_institutional_id,fte\n"
          "Anna Müller,professor,300001,1\nZoë Ødegård,postdoc,300002,0.5\n").encode()


pytestmark = pytest.mark.usefixtures("settled")


def _completed(api, module_id: int, content: bytes, **kw) -> int:
    answer = api.sync(module_id, "csv_upload", file=content, filename="people.csv", **kw)
    assert answer.status_code == 202, answer.get_json()
    job_id = answer.get_json()["job_id"]
    assert api.wait(job_id)["status"] == "completed"
    return job_id


def _table(html: str) -> tuple[list[str], list[list[str]]]:
    """(column headings, rows of cell texts) of the page's preview table."""
    table = re.search(r'<table class="preview-rows".*?</table>', html, re.S)[0]
    assert "&#34;" not in table and "{" not in table  # fields, not JSON
    heads = re.findall(r"<th scope=\"col\">(.*?)</th>", table)
    rows = [[re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>",
                                                                         row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>")[1], re.S)]
    return heads, rows


# -- 1. previews ----------------------------------------------------------------------------

def test_a_preview_shows_its_rows_as_a_table_of_fields_as_typed(pages, api):
    preview = _completed(api, HEADCOUNT, PEOPLE, config={"dry_run": True})
    client = pages("viewer")
    for path, headers in ((f"/jobs/{preview}", {}), (f"/jobs/{preview}/panel", HX),
                          (f"/modules/{HEADCOUNT}", {})):
        html = client.get(path, headers=headers).text
        heads, rows = _table(html)
        assert heads == ["Entry type", "name", "position_category", "user_institutional_id",
                         "fte", "kg CO₂eq"], path
        assert rows[0][:5] == ["member", "Anna Müller", "professor", "300001", "1.0"], path
        assert rows[1][1] == "Zoë Ødegård" and len(rows) == 2, path
        assert "\\u00" not in html, path  # the characters typed, not JSON escapes


def test_a_factor_preview_shows_classification_and_value_columns(pages, admin_api):
    factors = ("category,cabin_class,ef_kg_co2eq_per_km\n"
               "Moyen-courrier Genève,economy,0.15\n").encode()
    answer = admin_api.sync(TRAVEL, "csv_upload", factor_type_id=PLANE_FACTORS, file=factors,
                            config={"dry_run": True, "on_error": "skip"})
    preview = answer.get_json()["job_id"]
    assert admin_api.wait(preview)["status"] in ("completed", "failed")
    html = pages("admin").get(f"/jobs/{preview}").text
    heads, rows = _table(html)
    assert heads[0] == "category" and heads[-1] == "Change"
    assert "ef_kg_co2eq_per_km" in heads and rows[0][0] == "Moyen-courrier Genève"
    assert rows[0][-1] == "insert" and "\\u00" not in html


# -- 2. a new job gets its own page, heading and message ------------------------------------

def _failed_api_job(api) -> int:
    """A job the source failed (502): one a retry may fix."""
    job_id = api.sync(TRAVEL, config={"rows": 10, "batch": 5,
                                      "fail_at_row": 6}).get_json()["job_id"]
    assert api.wait(job_id)["status"] == "failed"
    return job_id


def _from(path: str) -> dict:
    """Headers of an htmx request sent from the page at `path`."""
    return {**HX, "HX-Current-URL": f"http://localhost{path}"}


def test_retry_on_the_job_page_opens_the_new_jobs_page(pages, api):
    old = _failed_api_job(api)
    client = pages("editor")
    answer = client.post(f"/jobs/{old}/retry", headers=_from(f"/jobs/{old}"))
    new = api.get(f"/sync/status/{old}").get_json()["retried_by"]
    assert answer.status_code == 200 and new and new != old
    assert answer.headers["HX-Redirect"] == f"/jobs/{new}"
    page = client.get(f"/jobs/{new}").text
    assert f"<h1>Job #{new}" in page and f"Details of job #{new}" in page
    assert f"Retrying job #{old} as job #{new}." in page  # the flash names both
    assert f'id="job-{new}"' in page and f'id="job-{old}"' not in page
    old_page = client.get(f"/jobs/{old}").text
    assert f"<h1>Job #{old}" in old_page and f"Retried by <a href=\"/jobs/{new}\"" in old_page


def test_retry_on_the_module_page_swaps_in_the_new_jobs_own_panel(pages, api):
    old = _failed_api_job(api)
    answer = pages("editor").post(f"/jobs/{old}/retry",
                                  headers=_from(f"/modules/{TRAVEL}#job-{old}"))
    new = api.get(f"/sync/status/{old}").get_json()["retried_by"]
    assert answer.status_code == 200 and "HX-Redirect" not in answer.headers
    html = answer.text
    assert html.lstrip().startswith(f'<section class="card job-panel job-pending" id="job-{new}"')
    assert f'id="job-{new}-title">\n      <a href="/jobs/{new}">Job #{new}</a>' in html
    assert f'<p class="flash flash-info" role="status">Retrying job #{old} as job #{new}.</p>' \
        in html
    assert f'hx-swap-oob="innerHTML">Retrying job #{old} as job #{new}.</p>' in html
    assert answer.headers["HX-Replace-Url"] == f"/modules/{TRAVEL}#job-{new}"


def test_load_it_on_the_preview_page_opens_the_loads_page(pages, api):
    preview = _completed(api, HEADCOUNT, PEOPLE, config={"dry_run": True})
    client = pages("editor")
    answer = client.post(f"/jobs/{preview}/apply", headers=_from(f"/jobs/{preview}"))
    load = api.get(f"/sync/status/{preview}").get_json()["applied_by"]
    assert answer.headers["HX-Redirect"] == f"/jobs/{load}"
    page = client.get(f"/jobs/{load}").text
    assert f"<h1>Job #{load}" in page and f"Loading preview #{preview} as job #{load}." in page


def test_without_javascript_retry_redirects_to_the_new_jobs_page(pages, api):
    old = _failed_api_job(api)
    client = pages("editor")
    answer = client.post(f"/jobs/{old}/retry")
    new = api.get(f"/sync/status/{old}").get_json()["retried_by"]
    assert answer.status_code == 303 and answer.headers["Location"] == f"/jobs/{new}"
    assert f"Retrying job #{old} as job #{new}." in client.get(f"/jobs/{new}").text


# -- 3. Retry only where a retry can help ---------------------------------------------------

BAD_ROWS = b"name,position_category,user_institutional_id,fte\nAda,professor,300001,half\n"
WRONG_COLUMNS = b"name,fte\nAda,1\n"


@pytest.mark.parametrize(("content", "code"), [(BAD_ROWS, 422), (WRONG_COLUMNS, 400)])
def test_an_upload_the_file_failed_offers_a_corrected_upload_not_retry(pages, api, content,
                                                                        code):
    answer = api.sync(HEADCOUNT, "csv_upload", file=content, filename="people.csv")
    job_id = answer.get_json()["job_id"]
    final = api.wait(job_id)
    assert (final["status"], final["status_code"]) == ("failed", code)
    client = pages("editor")
    for path, headers in ((f"/jobs/{job_id}", {}), (f"/jobs/{job_id}/panel", HX)):
        html = client.get(path, headers=headers).text
        assert ">Retry<" not in html, path
        assert (f'<a class="button primary" id="job-{job_id}-reupload" '
                f'href="/modules/{HEADCOUNT}#upload"') in html, path
        assert "Upload a corrected file" in html and "fail the same way" in html, path
    # The module page has the form the link leads to.
    assert 'id="upload"' in client.get(f"/modules/{HEADCOUNT}").text
    # The API's retry is unchanged: it still makes the new job.
    assert api.post(f"/sync/retry/{job_id}").status_code == 202


def test_a_factor_file_that_failed_links_to_its_own_upload_form(pages, admin_api):
    answer = admin_api.sync(TRAVEL, "csv_upload", factor_type_id=PLANE_FACTORS,
                            file=b"category\nshort_haul\n", filename="plane.csv")
    job_id = answer.get_json()["job_id"]
    assert admin_api.wait(job_id)["status_code"] == 400
    html = pages("admin").get(f"/jobs/{job_id}").text
    assert f'href="/modules/{TRAVEL}#factors-{PLANE_FACTORS}"' in html and ">Retry<" not in html
    assert f'id="factors-{PLANE_FACTORS}"' in pages("admin").get(f"/modules/{TRAVEL}").text


def test_failures_a_retry_can_fix_keep_retry(pages, api):
    job_id = _failed_api_job(api)  # the source broke (502)
    html = pages("editor").get(f"/jobs/{job_id}").text
    assert f'id="job-{job_id}-retry">Retry<' in html and "Upload a corrected file" not in html


@pytest.mark.parametrize(("status", "code", "upload", "helps"), [
    ("failed", 422, True, False), ("failed", 400, True, False),
    ("failed", 500, True, True),  # e.g. a worker lost: the file was never the problem
    ("failed", 503, True, True), ("cancelled", 499, True, True),
    ("failed", 422, False, True),  # an API source's rows can be fixed at the source
    ("failed", 502, False, True), ("completed", 200, True, False),
    ("processing", 103, False, False)])
def test_retry_can_help(ctx, status, code, upload, helps):
    from webapp.models import DataIngestionJob
    from webapp.views.jobs import retry_can_help

    request = {"upload": {"id": 1, "filename": "x.csv"}} if upload else {}
    job = DataIngestionJob(status=status, status_code=code, meta={"request": request})
    assert retry_can_help(job) is helps
