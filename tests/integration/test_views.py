"""The HTML pages through the Flask test client, with a real worker behind them: roles,
fragments that are also pages, the live panel's polling, form posts and their refusals."""

from __future__ import annotations

import io
import re

import pytest

HEADCOUNT = 1  # module ids of the demo seed: headcount, travel, equipment, purchases
TRAVEL = 2
GOOD_HEADCOUNT = (b"name,position_category,user_institutional_id,fte\n"
                  b"Ada Lovelace,professor,300001,1\nAlan Turing,postdoc,300002,0.5\n")
ACTIONS = ("Sync now", "Upload CSV", ">Retry<", ">Cancel<")
HX = {"HX-Request": "true"}
POLLING = 'hx-trigger="every 1s"'


pytestmark = pytest.mark.usefixtures("settled")


@pytest.fixture
def start_slow_job(api):
    """Factory: a synthetic travel job that runs ~10 s (cancelled after the test).

    The session has one worker, so start it after any job the test waits for."""
    return lambda: _sync(api, TRAVEL, rows=500, batch=5, delay_s=0.1).get_json()["job_id"]


@pytest.fixture
def slow_job(start_slow_job):
    return start_slow_job()


def _sync(api, module_id: int, **config):
    """Start a synthetic job through the API (the pages under test only read it)."""
    return api.sync(module_id, config=config)


def _job_id(location: str) -> int:
    return int(re.search(r"#job-(\d+)$", location)[1])


def _failed_with_row_errors(api) -> int:
    job_id = _sync(api, HEADCOUNT, rows=20, batch=10, bad_rows=[3, 7],
                   on_error="abort").get_json()["job_id"]
    assert api.wait(job_id)["status"] == "failed"
    return job_id


# -- rendering and roles ----------------------------------------------------------------

def test_pages_render_for_viewer_and_editor(pages, api, worker, start_slow_job):
    failed = _failed_with_row_errors(api)
    slow_job = start_slow_job()
    paths = ["/", *(f"/modules/{m}" for m in range(1, 5)), f"/jobs/{failed}",
             f"/jobs/{slow_job}", f"/modules/{TRAVEL}/history?status=failed&page=1"]
    for role in ("viewer", "editor"):
        client = pages(role)
        for path in paths:
            answer = client.get(path)
            assert answer.status_code == 200, (role, path, answer.text[:500])
            assert "<h1>" in answer.text
    editor = pages("editor")
    assert all(word in editor.get(f"/modules/{TRAVEL}").text
               for word in ("Sync now", "Upload CSV", ">Cancel<"))
    assert ">Retry<" in editor.get(f"/jobs/{failed}").text


def test_viewers_see_no_action_buttons_or_forms(pages, api, worker, start_slow_job):
    failed = _failed_with_row_errors(api)
    slow_job = start_slow_job()
    viewer = pages("viewer")
    for path in ("/", f"/modules/{HEADCOUNT}", f"/modules/{TRAVEL}", f"/jobs/{failed}",
                 f"/jobs/{slow_job}", f"/jobs/{slow_job}/panel"):
        text = viewer.get(path).text
        assert not [word for word in ACTIONS if word in text], path
        assert text.count('method="post"') == 1, path  # the log-out form only
    panel = viewer.get(f"/jobs/{slow_job}/panel", headers=HX).text
    assert ">Cancel<" not in panel and "<form" not in panel


def test_viewer_posts_are_forbidden(pages, api, worker):
    failed = _failed_with_row_errors(api)
    viewer = pages("viewer")
    assert viewer.post(f"/modules/{TRAVEL}/sync", {"provider_type": "synthetic",
                                                   "year": "2025"}).status_code == 403
    assert viewer.post(f"/jobs/{failed}/retry").status_code == 403
    assert api.get(f"/sync/history/{TRAVEL}").get_json()["total"] == 0


@pytest.fixture
def without_tableau(app, monkeypatch):
    """The web app as if TABLEAU_* were unset (the test session points at a stand-in)."""
    monkeypatch.setitem(app.config, "TABLEAU_SERVER_URL", None)


def test_unavailable_provider_is_listed_disabled_with_its_reason(pages, without_tableau):
    text = pages("editor").get(f"/modules/{TRAVEL}").text
    option = re.search(r'<option value="tableau_api"[^>]*>[^<]*</option>', text)[0]
    assert " disabled" in option and "(unavailable)" in option
    assert "Tableau (flights) is unavailable: Tableau is not configured" in text
    assert 'for="sync-filter-centre_financier">Centre financier<' in text
    headcount = pages("editor").get(f"/modules/{HEADCOUNT}").text
    assert "tableau_api" not in headcount  # only providers registered for the module


# -- fragments --------------------------------------------------------------------------

def test_every_fragment_is_also_a_full_page(pages, api, worker):
    job_id = _sync(api, TRAVEL, rows=5, batch=5).get_json()["job_id"]
    api.wait(job_id)
    client = pages("viewer")
    fragments = {f"/jobs/{job_id}/panel": f'id="job-{job_id}"',
                 f"/jobs/{job_id}/live": f'id="job-{job_id}-live"',
                 f"/jobs/{job_id}": 'id="job-facts"',
                 f"/modules/{TRAVEL}/history?status=completed": 'id="sync-history"',
                 f"/modules/{TRAVEL}/badges": "completed",
                 f"/modules/{TRAVEL}/entries": 'id="stored-entries"',
                 "/": 'id="overview"'}
    for path, marker in fragments.items():
        page = client.get(path)
        fragment = client.get(path, headers=HX)
        assert page.status_code == fragment.status_code == 200, path
        assert "<html" in page.text and 'class="topbar"' in page.text, path
        assert "<html" not in fragment.text and 'class="topbar"' not in fragment.text, path
        assert marker in page.text and marker in fragment.text, path
        assert "HX-Request" in fragment.headers.get("Vary", ""), path
    # A history-restore request (back button, cache miss) needs the whole page.
    restore = client.get(f"/jobs/{job_id}/panel",
                         headers={**HX, "HX-History-Restore-Request": "true"})
    assert "<html" in restore.text


def test_only_the_live_part_polls_while_the_job_is_active(pages, api, worker, slow_job):
    client = pages("editor")
    active = client.get(f"/jobs/{slow_job}/panel", headers=HX).text
    live_part = re.search(r'<div class="job-live".*?>', active, re.S)[0]
    assert POLLING in live_part and f'hx-get="/jobs/{slow_job}/live' in live_part
    assert active.count(POLLING) == 1 and "<progress" in active  # the panel itself stays
    assert POLLING in client.get(f"/modules/{TRAVEL}").text  # the module page's panel too

    api.wait(slow_job, until=("processing",))
    # A poll that sees a new state tells the page (badges refresh once); others do not.
    moved = client.get(f"/jobs/{slow_job}/live?seen=pending", headers=HX)
    assert moved.headers["HX-Trigger"] == "job-changed"
    assert 'seen=processing"' in moved.text and "<section" not in moved.text
    assert ">Cancel<" not in moved.text  # the buttons are not swapped under the user
    same = client.get(f"/jobs/{slow_job}/live?seen=processing", headers=HX)
    assert "HX-Trigger" not in same.headers

    # At the end the poll swaps in the whole panel (its buttons change), and the page's
    # live region gets the final state.
    api.post(f"/sync/cancel/{slow_job}")
    cancelled = client.get(f"/jobs/{slow_job}/live?seen=processing", headers=HX)
    assert POLLING not in cancelled.text and ">cancelled<" in cancelled.text
    assert cancelled.headers["HX-Trigger"] == "job-changed, job-finished"  # badges refresh
    assert cancelled.headers["HX-Retarget"] == f"#job-{slow_job}"
    assert cancelled.headers["HX-Reswap"] == "outerHTML"
    assert f'<section class="card job-panel job-cancelled" id="job-{slow_job}"' in cancelled.text
    assert re.search(rf'<p id="job-announcer" hx-swap-oob="innerHTML">Cancelled: job '
                     rf'#{slow_job}\. Cancelled by', cancelled.text)

    completed = _sync(api, HEADCOUNT, rows=5, batch=5).get_json()["job_id"]
    assert api.wait(completed)["status"] == "completed"
    text = client.get(f"/jobs/{completed}/live", headers=HX).text
    assert POLLING not in text and ">completed<" in text and "Loaded 5 rows" in text
    assert 'value="100"' in text and f"Completed: job #{completed}. Loaded 5 rows" in text

    failed = _failed_with_row_errors(api)
    text = client.get(f"/jobs/{failed}/live", headers=HX).text
    assert POLLING not in text and ">failed<" in text and ">Retry<" in text
    assert "is odd on purpose" in text and f"/api/v1/sync/errors/{failed}.csv" in text
    assert f">Failed: job #{failed}." in text


# -- acting through the page forms ------------------------------------------------------

def test_uploading_through_the_page_form_creates_a_job(pages, api, worker):
    client = pages("editor")
    answer = client.post(f"/modules/{HEADCOUNT}/upload", {
        "year": "2025", "on_error": "abort",
        "file": (io.BytesIO(GOOD_HEADCOUNT), "people.csv")},
        content_type="multipart/form-data")
    assert answer.status_code == 303, answer.text
    job_id = _job_id(answer.headers["Location"])
    final = api.wait(job_id)
    assert final["status"] == "completed" and final["message"] == "Loaded 2 rows"
    assert final["request"]["upload"]["filename"] == "people.csv"
    assert final["request"]["config"] == {"on_error": "abort"}
    page = client.get(f"/modules/{HEADCOUNT}").text
    assert f"Job #{job_id} started." in page  # the flash after the redirect
    assert "Loaded 2 rows" in page and "people.csv" in page


def test_factor_upload_and_travel_entry_type_reach_the_job(pages, api, worker, ctx):
    from webapp import catalog

    plane = next(f for f in catalog.factor_types("travel") if f.slug == "plane")
    client = pages("admin")  # SPEC §8: admins manage factors
    text = client.get(f"/modules/{TRAVEL}").text
    assert f"/api/v1/templates/factors/{plane.id}.csv" in text
    assert f"/api/v1/templates/{TRAVEL}.csv?entry_type=train" in text
    factors = b"category,cabin_class,ef_kg_co2eq_per_km\nshort_haul,economy,0.151\n"
    answer = client.post(f"/modules/{TRAVEL}/factors/{plane.id}/upload", {
        "year": "2025", "on_error": "skip", "file": (io.BytesIO(factors), "plane.csv")},
        content_type="multipart/form-data")
    assert answer.status_code == 303, answer.text
    final = api.wait(_job_id(answer.headers["Location"]))
    assert final["status"] == "completed" and final["factor_type_id"] == plane.id
    trains = b"origin_name,destination_name\nLausanne,Bern\n"
    answer = client.post(f"/modules/{TRAVEL}/upload", {
        "year": "2025", "entry_type": "train", "file": (io.BytesIO(trains), "t.csv")},
        content_type="multipart/form-data")
    final = api.wait(_job_id(answer.headers["Location"]))
    assert final["request"]["config"]["entry_type"] == "train"
    assert final["status"] == "failed" and "train entries" in final["message"]


def test_sync_now_passes_year_filters_and_config(pages, api, worker):
    answer = pages("editor").post(f"/modules/{TRAVEL}/sync", {
        "provider_type": "synthetic", "year": "2025", "filter_centre_financier": "F1, F2",
        "config": '{"rows": 7, "batch": 7}'})
    assert answer.status_code == 303, answer.text
    final = api.wait(_job_id(answer.headers["Location"]))
    assert final["status"] == "completed" and final["message"] == "Loaded 7 rows"
    assert final["request"]["config"] == {"rows": 7, "batch": 7}
    # Centre financier is a Tableau filter: other providers do not receive it.
    assert final["request"]["filters"] == {}


def test_a_second_job_while_one_runs_shows_409_on_the_page(pages, slow_job):
    client = pages("editor")
    for path, data in ((f"/modules/{TRAVEL}/sync", {"provider_type": "synthetic",
                                                    "year": "2025"}),
                       (f"/modules/{TRAVEL}/upload", {
                           "year": "2025", "file": (io.BytesIO(GOOD_HEADCOUNT), "x.csv")})):
        answer = client.post(path, data, content_type="multipart/form-data")
        assert answer.status_code == 409, path
        assert 'role="alert"' in answer.text and f"job {slow_job} is already" in answer.text
        assert f'href="/jobs/{slow_job}">Open job #{slow_job}' in answer.text
        assert "<h1>" in answer.text and "Sync history" in answer.text  # the whole page


@pytest.mark.parametrize(("data", "status", "message"), [
    ({"provider_type": "synthetic", "year": "2024"}, 422,
     "year 2024 does not match the inventory&#39;s year 2025"),
    ({"provider_type": "synthetic", "year": "soon"}, 422, "year must be a whole number"),
    ({"provider_type": "", "year": "2025"}, 400, "Choose a provider"),
    ({"provider_type": "tableau_api", "year": "2025"}, 503, "Tableau is not configured"),
    ({"provider_type": "synthetic", "year": "2025", "config": "{oops"}, 400,
     "Config must be a JSON object"),
])
def test_refused_sync_is_shown_on_the_page(pages, without_tableau, data, status, message):
    answer = pages("editor").post(f"/modules/{TRAVEL}/sync", data)
    assert answer.status_code == status
    assert message in answer.text and "Not started (Sync now)" in answer.text
    if data["year"] == "2024":  # sent by hand: the form offers the inventory's year only
        assert '<input type="hidden" name="year" value="2025">' in answer.text


def test_refused_upload_is_shown_on_the_page(pages, ctx):
    answer = pages("editor").post(f"/modules/{HEADCOUNT}/upload", {"year": "2025"},
                                  content_type="multipart/form-data")
    assert answer.status_code == 400 and "Choose a CSV file" in answer.text
    from webapp.extensions import db
    from webapp.models import Upload
    assert db.session.execute(db.select(Upload)).first() is None


# -- retry and cancel -------------------------------------------------------------------

def test_cancel_and_retry_answer_htmx_with_the_panel(pages, api, worker, slow_job):
    client = pages("editor")
    cancelled = client.post(f"/jobs/{slow_job}/cancel", headers=HX)
    assert cancelled.status_code == 200 and ">cancelled<" in cancelled.text
    assert cancelled.headers["HX-Trigger"] == "job-changed, job-finished"
    assert "<html" not in cancelled.text and POLLING not in cancelled.text

    retried = client.post(f"/jobs/{slow_job}/retry", headers=HX)
    assert retried.status_code == 200
    assert retried.headers["HX-Trigger"] == "job-changed, job-started"
    new_id = int(re.search(r'id="job-(\d+)"', retried.text)[1])
    assert new_id != slow_job and f"Retry of <a href=\"/jobs/{slow_job}\"" in retried.text
    assert POLLING in retried.text

    again = client.post(f"/jobs/{slow_job}/retry", headers=HX)
    assert again.status_code == 409 and "<html" not in again.text
    assert f"already retried by job {new_id}" in again.text
    page = client.post(f"/jobs/{slow_job}/retry")
    assert page.status_code == 409 and "<html" in page.text and "Retry refused" in page.text

    plain = client.post(f"/jobs/{new_id}/cancel")
    assert plain.status_code == 303 and plain.headers["Location"] == f"/jobs/{new_id}"
    again = client.post(f"/jobs/{new_id}/cancel", headers=HX)
    assert again.status_code == 409 and "Cancel refused" in again.text


def test_plain_retry_redirects_to_the_new_jobs_page(pages, api, worker):
    failed = _failed_with_row_errors(api)
    answer = pages("editor").post(f"/jobs/{failed}/retry")
    assert answer.status_code == 303
    new_id = int(answer.headers["Location"].rsplit("/", 1)[1])
    assert api.get(f"/sync/status/{new_id}").get_json()["retry_of"] == failed


def test_missing_things_are_404_pages(pages):
    client = pages("viewer")
    for path in ("/modules/999", "/jobs/999", "/jobs/999/panel", "/modules/999/history"):
        answer = client.get(path)
        assert answer.status_code == 404 and "does not exist" in answer.text, path


# -- history ----------------------------------------------------------------------------

def test_history_pages_and_filters(pages, api, ctx):
    # Cancelled while pending: a quick way to fill the history without running jobs.
    ids = []
    for _ in range(12):
        job_id = _sync(api, TRAVEL, rows=1).get_json()["job_id"]
        api.post(f"/sync/cancel/{job_id}")
        ids.append(job_id)
    client = pages("viewer")
    first = client.get(f"/modules/{TRAVEL}/history", headers=HX).text
    assert first.count('<tr>') == 11  # header + 10 rows
    assert f'href="/jobs/{ids[-1]}"' in first and "Page 1 of 2" in first
    assert 'rel="next" href="/modules/2/history?page=2"' in first
    second = client.get(f"/modules/{TRAVEL}/history?page=2", headers=HX).text
    assert second.count('<tr>') == 3 and f'href="/jobs/{ids[0]}"' in second
    assert "Newer" in second and "Older" not in second
    none = client.get(f"/modules/{TRAVEL}/history?status=failed", headers=HX).text
    assert "No job matches these filters." in none
    by_provider = client.get(f"/modules/{TRAVEL}/history?provider=csv_upload", headers=HX).text
    assert "No job matches" in by_provider
    junk = client.get(f"/modules/{TRAVEL}/history?status=nope&page=x")
    assert junk.status_code == 200 and "Page 1 of 2" in junk.text


def test_an_error_answers_htmx_with_a_fragment_and_browsers_with_a_page(pages):
    client = pages("viewer")
    full = client.get("/jobs/999")
    fragment = client.get("/jobs/999", headers={"HX-Request": "true"})
    assert full.status_code == fragment.status_code == 404
    assert "<html" in full.text and "<html" not in fragment.text
    assert 'role="alert"' in fragment.text
