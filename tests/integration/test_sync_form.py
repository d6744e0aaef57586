"""The module page's Sync form: the year is the inventory's, shown and not asked, and the
centre financier field suggests the centres the module holds, never a made-up one."""

from __future__ import annotations

import re

import psycopg
import pytest

from tests.support.web import PageClient

TRAVEL = 2  # demo seed module id (inventory year 2025)


@pytest.fixture
def editor(app, create_user):
    return PageClient(app, create_user("editor"))


pytestmark = pytest.mark.usefixtures("settled")


def _sync_form(client) -> str:
    html = client.get(f"/modules/{TRAVEL}").text
    return re.search(r'<form class="card" id="sync".*?</form>', html, re.S)[0]


def _suggested(form: str) -> list[str] | None:
    datalist = re.search(r'<datalist id="sync-filter-centre_financier-choices">(.*?)'
                         r"</datalist>", form, re.S)
    return re.findall(r'<option value="([^"]*)">', datalist[1]) if datalist else None


def _sync_centres(api, *centres: str) -> None:
    answer = api.sync(TRAVEL, "tableau_api", filters={"centre_financier": list(centres)})
    assert answer.status_code == 202, answer.get_json()
    assert api.wait(answer.get_json()["job_id"])["status"] == "completed"


def test_the_year_is_the_inventorys_shown_not_editable(editor):
    form = _sync_form(editor)
    year_inputs = re.findall(r'<input[^>]*name="year"[^>]*>', form)
    assert year_inputs == ['<input type="hidden" name="year" value="2025">']
    assert re.search(r'<span class="label">Year</span>\s*<p class="fixed-value">2025 ', form)
    assert 'type="number"' not in form


def test_the_centre_hint_names_no_centre_before_any_is_known(editor, tableau_standin):
    form = _sync_form(editor)
    hint = re.search(r'id="sync-filter-centre_financier-hint">(.*?)</p>', form, re.S)[1]
    assert "centres financiers" in hint and not re.search(r"F\d{4}", hint)
    assert _suggested(form) is None and " list=" not in form


def test_the_centre_field_suggests_the_centres_loaded_into_the_module(editor, api,
                                                                      tableau_standin):
    tableau_standin.reset()
    _sync_centres(api, "F0901", "F0892")
    form = _sync_form(editor)
    assert _suggested(form) == ["F0892", "F0901"]
    assert 'list="sync-filter-centre_financier-choices"' in form
    assert "Known here: F0892, F0901." in form
    # A new load shows at once (the suggestions are kept per state of the last sync).
    _sync_centres(api, "F0915")
    assert _suggested(_sync_form(editor)) == ["F0892", "F0901", "F0915"]


def test_stored_values_are_bounded_and_most_frequent_first(ctx, db_url):
    from webapp.ingestion.filter_choices import MAX_CHOICES, stored_values

    with psycopg.connect(db_url) as conn:
        conn.execute(
            "INSERT INTO data_entries (inventory_id, module_id, year, entry_type, data, source) "
            "SELECT 1, %(m)s, 2025, 'plane', jsonb_build_object('unit_institutional_id', "
            "CASE WHEN n <= 3 THEN 'Z9' ELSE 'C' || n END), 'tableau_api' "
            "FROM generate_series(1, %(n)s) n", {"m": TRAVEL, "n": MAX_CHOICES + 100})
    values = stored_values(TRAVEL, 2025, "tableau_api", "unit_institutional_id")
    assert len(values) == MAX_CHOICES and values[0] == "Z9"
    assert stored_values(TRAVEL, 2025, "csv_upload", "unit_institutional_id") == []
