"""The role acting on a job needs is its target's: a factors job is reference data
(SPEC §8), so only admins may cancel or retry it, on the API and on the pages, and an
editor's panel of such a job offers no button."""

from __future__ import annotations

import pytest

from tests.support.web import csrf_token, logged_in_client

TRAVEL, PLANE_FACTORS = 2, 1


@pytest.fixture
def pending_factors_job(admin_api, idle_queue) -> int:
    """A factors job that stays pending: it is queued where no worker listens."""
    response = admin_api.sync(TRAVEL, "csv_upload", factor_type_id=PLANE_FACTORS,
                              file=b"origin,destination\n", filename="factors.csv")
    assert response.status_code == 202, response.get_json()
    return response.get_json()["job_id"]


def test_the_job_role_is_the_targets_role(app, api, admin_api, create_user,
                                          pending_factors_job):
    job_id = pending_factors_job
    refused = api.post(f"/sync/cancel/{job_id}")  # an editor
    assert refused.status_code == 403
    assert refused.get_json() == {"error": "forbidden",
                                  "message": "cancelling this job needs an admin"}

    editor = logged_in_client(app, create_user("editor"))
    page = editor.post(f"/jobs/{job_id}/cancel", data={"csrf_token": csrf_token(editor)})
    assert page.status_code == 403 and "needs an admin" in page.text
    module_page = editor.get(f"/modules/{TRAVEL}").text
    assert f'id="job-{job_id}"' in module_page and ">Cancel<" not in module_page

    admin = logged_in_client(app, create_user("admin"))
    assert ">Cancel<" in admin.get(f"/modules/{TRAVEL}").text
    cancelled = admin_api.post(f"/sync/cancel/{job_id}")
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"


def test_a_missing_job_is_404_not_403(api):
    response = api.post("/sync/cancel/123456")
    assert response.status_code == 404 and response.get_json()["error"] == "not_found"
