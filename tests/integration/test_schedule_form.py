"""The module page's schedule form and list through the real app (the test client):
refusals answered beside the form with the values kept (422, never a 500), the
provider's filters saved and listed under the provider's label, and deleting only after
a confirmation page. (Webhook masking on the page: test_schedule_webhooks.py.)"""

from __future__ import annotations

import re

import pytest

from tests.integration.test_schedule_cron_refusals import EXTENSIONS, NEVER_FIRES, NOT_ZONES
from tests.support.schedules import DAILY, TRAVEL, create
from tests.support.web import csrf_token, logged_in_client


@pytest.fixture
def editor(app, create_user):
    client = logged_in_client(app, create_user("editor"))
    return client, csrf_token(client)


def _add(client, token, **fields):
    form = {"csrf_token": token, "provider_type": "synthetic", "year": "2025",
            "preset": "custom", "cron": "15 4 * * *", "timezone": "UTC", **fields}
    return client.post(f"/modules/{TRAVEL}/schedules", data=form)


def _schedule_form(html: str) -> str:
    start = html.index('<form method="post" id="schedule-add"')
    return html[start:html.index("</form>", start)]


def _input(form_html: str, input_id: str) -> str:
    return re.search(rf'<(?:input|select)[^>]*id="{input_id}"[^>]*>', form_html).group(0)


@pytest.mark.parametrize(("fields", "input_id", "words"), [
    *[({"cron": cron}, "schedule-cron", "never fires") for cron in NEVER_FIRES[:3]],
    ({"cron": "0 0 L * *"}, "schedule-cron", "not standard cron"),
    ({"cron": "@yearly"}, "schedule-cron", "five fields"),
    *[({"timezone": zone}, "schedule-timezone", "IANA") for zone in NOT_ZONES[:6]],
    ({"webhook_url": "http://127.0.0.1:9/hook"}, "schedule-webhook", "loopback"),
    ({"filter_centre": "F0892, <b>"}, "schedule-filter-centre", "not a valid value"),
])
def test_a_refused_form_answers_beside_the_field_and_keeps_what_was_typed(
        editor, fields, input_id, words):
    client, token = editor
    typed = {"cron": "15 4 * * *", "timezone": "America/New_York",
             "webhook_url": "http://127.0.0.1:9/hook?token=abc", "filter_centre": "F0892",
             **fields}
    response = _add(client, token, **typed)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'class="flash flash-error"' not in html  # not atop the page, out of view
    form = _schedule_form(html)
    field = _input(form, input_id)
    assert 'aria-invalid="true"' in field and f"{input_id}-error" in field
    error = re.search(rf'<p class="field-error" id="{input_id}-error"[^>]*>([^<]*)</p>', form)
    assert error and words in error.group(1), form
    assert '<option value="custom" selected>' in form
    for name, value in typed.items():
        value_attr = f'value="{value}"'.replace("<", "&lt;").replace(">", "&gt;")
        assert value_attr in _input(form, {"cron": "schedule-cron",
                                           "timezone": "schedule-timezone",
                                           "webhook_url": "schedule-webhook",
                                           "filter_centre": "schedule-filter-centre"}[name])
    assert client.get("/api/v1/schedules").get_json()["total"] == 0


@pytest.mark.parametrize(("fields", "input_id"), [
    *[({"cron": cron}, "schedule-cron") for cron in NEVER_FIRES + EXTENSIONS],
    *[({"timezone": zone}, "schedule-timezone") for zone in NOT_ZONES],
])
def test_every_cron_and_zone_the_api_refuses_is_refused_by_the_form(editor, fields, input_id):
    client, token = editor
    response = _add(client, token, **fields)
    assert response.status_code == 422
    assert 'aria-invalid="true"' in _input(_schedule_form(response.get_data(as_text=True)),
                                           input_id)


def test_the_form_saves_the_providers_filters_and_the_list_shows_them(editor):
    client, token = editor
    response = _add(client, token, preset="weekly", filter_centre="F1453, F0892")
    assert response.status_code == 303
    [schedule] = client.get("/api/v1/schedules").get_json()["items"]
    assert schedule["filters"] == {"centre": ["F0892", "F1453"]}
    assert schedule["cron"] == "0 3 * * 1"
    row = client.get(f"/modules/{TRAVEL}").get_data(as_text=True)
    row = row[row.index(f'<tr id="schedule-{schedule["id"]}">'):]
    row = row[:row.index("</tr>")]
    assert "Synthetic (tests)" in row and ">synthetic<" not in row
    assert "Centre: F0892, F1453" in row


def test_delete_asks_first_on_a_page_of_its_own(editor, api):
    client, token = editor
    created = create(api, **{k: v for k, v in DAILY.items() if k != "config"})
    module_page = client.get(f"/modules/{TRAVEL}").get_data(as_text=True)
    confirm_url = f"/schedules/{created['id']}/delete"
    assert f'href="{confirm_url}"' in module_page
    confirm = client.get(confirm_url)
    assert confirm.status_code == 200
    html = confirm.get_data(as_text=True)
    assert f"Delete schedule #{created['id']}?" in html and "Daily at 03:00" in html
    assert api.get(f"/schedules/{created['id']}").status_code == 200  # asking deletes nothing
    deleted = client.post(confirm_url, data={"csrf_token": token})
    assert deleted.status_code == 303
    assert api.get(f"/schedules/{created['id']}").status_code == 404
