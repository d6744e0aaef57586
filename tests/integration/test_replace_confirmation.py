"""A load that would remove more than half of a slice of 100+ rows needs a confirmation
(SPEC §12, continued): without it the job fails 409 naming the counts and changes
nothing; the forms say beforehand what a load replaces."""

from __future__ import annotations

import io
import re

import psycopg
import pytest

from tests.integration.test_csv_ingestion import upload
from tests.integration.test_preview_undo import TRAVEL, planes
from tests.support.web import PageClient, csrf_token, logged_in_client
from webapp.ingestion.loading.replacing import needs_confirmation


@pytest.mark.parametrize(("before", "after", "asks"), [
    (99, 0, False),  # a small slice is replaced without asking
    (100, 50, False),  # exactly half
    (100, 49, True),
    (1800, 295, True),
    (1800, 1800, False),
    (1800, 5000, False),
])
def test_more_than_half_of_100_or_more_rows_needs_confirmation(before, after, asks):
    assert needs_confirmation(before, after) is asks


def _stored(db_url) -> list[tuple]:
    with psycopg.connect(db_url) as conn:
        return conn.execute("SELECT id, data FROM data_entries WHERE module_id = 2 "
                            "ORDER BY id").fetchall()


def test_an_unconfirmed_shrink_fails_409_naming_the_counts_and_changes_nothing(
        api, worker, db_url):
    assert upload(api, planes(0, 180))["status"] == "completed"
    before = _stored(db_url)
    final = upload(api, planes(1000, 30))
    assert (final["status"], final["status_code"]) == ("failed", 409), final
    assert "replace the 180 csv_upload plane rows of 2025 with 30" in final["message"]
    assert "confirm_replace" in final["message"]
    assert _stored(db_url) == before
    confirmed = upload(api, planes(1000, 30), confirm_replace=True)
    assert confirmed["status"] == "completed", confirmed
    assert confirmed["counts"]["deleted"] == 180 and confirmed["counts"]["inserted"] == 30
    assert len(_stored(db_url)) == 30


def test_a_shrink_by_half_or_less_loads_without_asking(api, worker, db_url):
    upload(api, planes(0, 180))
    final = upload(api, planes(1000, 90))
    assert final["status"] == "completed", final
    assert len(_stored(db_url)) == 90


def test_confirm_replace_must_be_true_or_false(api):
    response = api.sync(2, "csv_upload", file=planes(0, 1), filename="p.csv",
                        config={"confirm_replace": "yes"})
    assert response.status_code == 422
    assert "config.confirm_replace must be true or false" in response.get_json()["message"]


def test_loading_a_preview_confirms_what_it_showed(api, wait_idle, db_url):
    upload(api, planes(0, 180))
    preview = upload(api, planes(1000, 30), dry_run=True)
    assert preview["status"] == "completed", preview
    assert preview["counts"]["deleted"] == 180 and preview["counts"]["inserted"] == 30
    wait_idle(TRAVEL, recalculations=True)
    applied = api.post(f"/sync/apply/{preview['job_id']}")
    assert applied.status_code == 202, applied.get_json()
    final = api.wait(applied.get_json()["job_id"])
    assert final["status"] == "completed", final
    assert len(_stored(db_url)) == 30


def test_the_upload_form_says_what_it_replaces_and_its_box_confirms(
        app, api, wait_idle, create_user, db_url):
    editor = create_user("editor")
    browser = logged_in_client(app, editor)
    page = browser.get("/modules/2").get_data(as_text=True)
    assert "Nothing from this source is stored for 2025 yet." in page
    assert 'name="confirm_replace"' not in page  # nothing to lose yet
    upload(api, planes(0, 180))
    wait_idle(TRAVEL, recalculations=True)
    page = browser.get("/modules/2").get_data(as_text=True)
    note = re.sub(r"\s+", " ", page)
    assert "Uploading replaces the 180 csv_upload plane rows of 2025" in note
    assert 'name="confirm_replace"' in page
    response = browser.post("/modules/2/upload", data={
        "csrf_token": csrf_token(browser), "year": "2025", "on_error": "abort",
        "confirm_replace": "1", "file": (io.BytesIO(planes(1000, 30)), "smaller.csv")},
        content_type="multipart/form-data")
    assert response.status_code == 303
    job_id = int(response.headers["Location"].rsplit("#job-", 1)[1])
    final = api.wait(job_id)
    assert final["status"] == "completed", final
    assert len(_stored(db_url)) == 30


def test_the_sync_form_says_what_a_sync_replaces(app, api, wait_idle, create_user):
    response = api.sync(2, "synthetic", config={"rows": 150, "batch": 50})
    assert api.wait(response.get_json()["job_id"])["status"] == "completed"
    wait_idle(TRAVEL, recalculations=True)
    page = logged_in_client(app, create_user("editor")).get("/modules/2")
    note = re.sub(r"\s+", " ", page.get_data(as_text=True))
    assert re.search(r"Syncing [^<]+ replaces the 150 synthetic synthetic rows of 2025", note)


def test_retrying_a_refused_load_with_confirm_replace_loads_it(api, worker, db_url):
    upload(api, planes(0, 180))
    refused = upload(api, planes(1000, 30))
    assert refused["status_code"] == 409
    again = api.post(f"/sync/retry/{refused['job_id']}", json={"confirm_replace": "yes"})
    assert again.status_code == 400 and "confirm_replace" in again.get_json()["message"]
    retried = api.post(f"/sync/retry/{refused['job_id']}", json={"confirm_replace": True})
    assert retried.status_code == 202, retried.get_json()
    final = api.wait(retried.get_json()["job_id"])
    assert final["status"] == "completed", final
    assert final["retry_of"] == refused["job_id"]
    assert len(_stored(db_url)) == 30


def test_a_refused_load_offers_replace_them_instead_of_retry(app, api, worker, create_user,
                                                             db_url):
    upload(api, planes(0, 180))
    refused = upload(api, planes(1000, 30))["job_id"]
    pages = PageClient(app, create_user("editor"))
    html = pages.get(f"/jobs/{refused}").get_data(as_text=True)
    assert re.search(f'id="job-{refused}-replace"[^>]*>Replace them</button>', html)
    assert f'id="job-{refused}-retry"' not in html  # the same request would stop again
    answer = pages.post(f"/jobs/{refused}/retry", data={"confirm_replace": "1"})
    assert answer.status_code == 303
    new = int(answer.headers["Location"].rsplit("/", 1)[1])
    final = api.wait(new)
    assert final["status"] == "completed" and final["retry_of"] == refused, final
    assert len(_stored(db_url)) == 30
    assert "replacing the stored rows" in pages.get(f"/jobs/{new}").get_data(as_text=True)
