"""Copy forward (SPEC §13) through real workers: a module's entries copied from the same
unit's module of the previous year as a normal load (preview, undo, recalculated with
this year's factors, idempotent), and a year created with `copy_from` (its factors as
undoable copy jobs, its schedules disabled)."""

from __future__ import annotations

import re

import psycopg
import pytest

from tests.support.copying import (
    TRAIN_FACTORS,
    copy,
    create_year,
    entries,
    factors,
    load,
    module_id,
    trains,
)

TRAVEL = 2  # the demo seed's travel module (F0892, 2025)
DISTANCES = (100, 250, 40)
RATE_2024, RATE_2025 = 0.01, 0.03  # train factors per km: a different one each year


@pytest.fixture
def last_year(admin_api, db_url, wait_idle) -> int:
    """F0892's 2024 travel module with three trains (emissions from 2024's factor), and
    a train factor for each year. Returns the 2024 module."""
    create_year(admin_api, 2024)
    travel_2024 = module_id(db_url, 2024, "travel")
    load(admin_api, travel_2024, 2024, TRAIN_FACTORS + f"CH,{RATE_2024}\n".encode(), "train")
    load(admin_api, TRAVEL, 2025, TRAIN_FACTORS + f"CH,{RATE_2025}\n".encode(), "train")
    load(admin_api, travel_2024, 2024, trains(*DISTANCES))
    wait_idle(recalculations=True)
    return travel_2024


def test_a_copy_loads_last_years_entries_recalculated_with_this_years_factors(
        api, db_url, last_year, wait_idle):
    before = entries(db_url, last_year)
    assert [row[6] for row in before] == pytest.approx([km * RATE_2024 for km in DISTANCES])

    done = copy(api, TRAVEL)
    assert (done["status"], done["status_code"]) == ("completed", 200), done
    assert done["counts"]["inserted"] == len(DISTANCES)
    assert done["undo_until"]  # a load like any other: undoable
    wait_idle(TRAVEL, recalculations=True)

    copied = entries(db_url, TRAVEL)
    assert [(r[1], r[2]) for r in copied] == [(r[1], r[2]) for r in before]
    assert {(r[3], r[4], r[5]) for r in copied} == {(2025, "copy_previous_year", done["job_id"])}
    assert [r[6] for r in copied] == pytest.approx([km * RATE_2025 for km in DISTANCES])
    assert entries(db_url, last_year) == before  # the source year is left as it was


def test_copying_twice_gives_the_same_rows_and_undo_restores_the_first_copy(
        api, db_url, last_year, wait_idle):
    load(api, TRAVEL, 2025, trains(7))  # a CSV row of 2025: outside the copy's slice
    first = copy(api, TRAVEL)
    wait_idle(TRAVEL, recalculations=True)
    after_first = entries(db_url, TRAVEL)
    assert len(after_first) == 1 + len(DISTANCES)

    second = copy(api, TRAVEL)
    assert second["status"] == "completed", second
    assert (second["counts"]["inserted"], second["counts"]["deleted"]) == (3, 3)
    wait_idle(TRAVEL, recalculations=True)
    after_second = entries(db_url, TRAVEL)
    # Same rows (type, data, year, source, figures); only ids and the job differ.
    assert [(r[1], r[2], r[3], r[4], r[6]) for r in after_second] == \
        [(r[1], r[2], r[3], r[4], r[6]) for r in after_first]

    undo = api.post(f"/sync/undo/{second['job_id']}")
    assert undo.status_code == 202, undo.get_json()
    assert api.wait(undo.get_json()["job_id"])["status"] == "completed"
    wait_idle(TRAVEL, recalculations=True)
    assert [r[:6] for r in entries(db_url, TRAVEL)] == [r[:6] for r in after_first]

    undo_first = api.post(f"/sync/undo/{first['job_id']}")
    assert undo_first.status_code == 202, undo_first.get_json()
    assert api.wait(undo_first.get_json()["job_id"])["status"] == "completed"
    assert [r[4] for r in entries(db_url, TRAVEL)] == ["csv_upload"]  # the CSV row only


def test_a_copy_preview_writes_nothing(api, db_url, last_year, wait_idle):
    preview = copy(api, TRAVEL, dry_run=True)
    assert (preview["status"], preview["dry_run"]) == ("completed", True), preview
    assert preview["message"].startswith("Preview: would load 3 rows")
    assert [row["data"]["distance_km"] for row in preview["preview"]] == list(DISTANCES)
    # Shown with the figures this year's factor gives, as the load would store them.
    assert [row["kg_co2eq"] for row in preview["preview"]] == pytest.approx(
        [km * RATE_2025 for km in DISTANCES])
    wait_idle(TRAVEL, recalculations=True)
    assert entries(db_url, TRAVEL) == []


def test_a_copy_without_a_previous_year_fails_with_a_sentence(api, db_url, worker):
    failed = copy(api, TRAVEL)
    assert (failed["status"], failed["status_code"]) == ("failed", 422), failed
    assert failed["message"] == ("F0892 has no inventory in 2024 to copy from; nothing was "
                                 "loaded")


def test_a_copy_of_a_module_without_entries_fails_and_keeps_the_stored_rows(
        api, admin_api, db_url, wait_idle):
    create_year(admin_api, 2024)
    load(api, TRAVEL, 2025, trains(9))
    wait_idle(TRAVEL, recalculations=True)
    stored = entries(db_url, TRAVEL)
    failed = copy(api, TRAVEL)
    assert (failed["status"], failed["status_code"]) == ("failed", 422), failed
    assert failed["message"] == ("F0892 has no travel entries in 2024 to copy; nothing was "
                                 "loaded")
    assert entries(db_url, TRAVEL) == stored


def test_a_copy_from_a_later_year_given_in_config(api, admin_api, db_url, last_year,
                                                  wait_idle):
    create_year(admin_api, 2023)
    travel_2023 = module_id(db_url, 2023, "travel")
    done = copy(admin_api, travel_2023, year=2023, copy_from=2024)
    assert done["status"] == "completed", done
    assert [r[2] for r in entries(db_url, travel_2023)] == \
        [r[2] for r in entries(db_url, last_year)]
    own_year = copy(api, TRAVEL, copy_from=2025)
    assert (own_year["status"], own_year["status_code"]) == ("failed", 422)
    assert "cannot be copied onto itself" in own_year["message"]


# -- a year created from an earlier one ---------------------------------------------------

def _schedule(admin_api, module: int, year: int, **changes) -> dict:
    response = admin_api.post("/schedules", json={
        "module_id": module, "provider_type": "synthetic", "year": year, "cron": "daily",
        "timezone": "Europe/Zurich", "filters": {"centre": "F0892"},
        "config": {"rows": 5}, **changes})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _schedules(db_url, year: int) -> list[tuple]:
    with psycopg.connect(db_url) as conn:
        return conn.execute(
            "SELECT m.module_type, i.unit_code, s.provider_type, s.year, s.filters, "
            "s.config, s.cron, s.timezone, s.enabled, s.next_run_at, s.created_by "
            "FROM sync_schedules s JOIN modules m ON m.id = s.module_id "
            "JOIN inventories i ON i.id = m.inventory_id WHERE s.year = %s ORDER BY s.id",
            (year,)).fetchall()


def test_a_year_copied_from_another_gets_its_factors_as_undoable_jobs(
        admin_api, db_url, last_year, wait_idle):
    load(admin_api, TRAVEL, 2025, b"category,cabin_class,ef_kg_co2eq_per_km\n"
         b"short,economy,0.2\nlong,economy,0.1\n", "plane")
    body = create_year(admin_api, 2026, copy_from=2025)
    assert body["copy_from"] == 2025 and body["factors_not_copied"] == []
    assert len(body["factor_jobs"]) == 2  # plane and train: the types 2025 has factors of
    for job_id in body["factor_jobs"]:
        final = admin_api.wait(job_id)
        assert (final["status"], final["provider_type"], final["target_type"], final["year"]
                ) == ("completed", "copy_previous_year", "factors", 2026), final
    assert [row[1:] for row in factors(db_url, 2026)] == \
        [row[1:] for row in factors(db_url, 2025)]

    for job_id in body["factor_jobs"]:
        undo = admin_api.post(f"/sync/undo/{job_id}")
        assert undo.status_code == 202, undo.get_json()
        assert admin_api.wait(undo.get_json()["job_id"])["status"] == "completed"
    assert factors(db_url, 2026) == []
    assert len(factors(db_url, 2025)) == 3  # the copied year keeps its own
    wait_idle(recalculations=True)


def test_a_year_copied_from_another_gets_its_schedules_disabled(admin_api, db_url,
                                                                 last_year, worker):
    travel = _schedule(admin_api, last_year, 2024)
    _schedule(admin_api, module_id(db_url, 2024, "headcount"), 2024, cron="weekly",
              enabled=False)
    _schedule(admin_api, TRAVEL, 2025)  # another year's: not copied
    body = create_year(admin_api, 2027, copy_from=2024)
    assert body["schedules_copied"] == 2
    assert body["factor_jobs"]  # 2024's train factors
    copied = _schedules(db_url, 2027)
    assert [row[:2] for row in copied] == [("travel", "F0892"), ("headcount", "F0892")]
    first = copied[0]
    assert first[2:8] == ("synthetic", 2027, {"centre": ["F0892"]}, {"rows": 5}, "0 3 * * *",
                          "Europe/Zurich")
    assert (first[8], first[9], first[10]) == (False, None, travel["created_by"])
    assert {row[8] for row in copied} == {False}
    with psycopg.connect(db_url) as conn:
        audit = conn.execute("SELECT details FROM audit_log WHERE action = 'year.copied'"
                             ).fetchone()[0]
    assert (audit["copy_from"], audit["schedules"]) == (2024, 2)
    for job_id in body["factor_jobs"]:
        admin_api.wait(job_id)


@pytest.mark.parametrize("body,status,message", [
    ({"copy_from": 2019}, 422, "copy_from 2019 is not an existing year"),
    ({"copy_from": 10**12}, 422, "copy_from 1000000000000 is not an existing year"),
    ({"copy_from": "2025"}, 400, "copy_from must be a whole number"),
    ({"copy_from": 2025.5}, 400, "copy_from must be a whole number"),
])
def test_copy_from_must_be_an_existing_year(admin_api, body, status, message):
    response = admin_api.post("/years/2026", json=body)
    assert response.status_code == status, response.get_json()
    assert response.get_json()["message"].startswith(message)
    years = [item["year"] for item in admin_api.get("/years").get_json()["items"]]
    assert 2026 not in years  # nothing was created


def test_the_sync_form_offers_the_copy_after_the_outside_sources(pages, worker):
    html = pages("editor").get(f"/modules/{TRAVEL}").text
    options = html[html.index('id="sync-provider"'):]
    options = options[:options.index("</select>")]
    offered = re.findall(r'<option value="(\w+)"( selected)?', options)
    # Last and never picked for the user: the outside sources come first.
    assert offered[-1] == ("copy_previous_year", "")
    assert ("tableau_api", "") in offered and offered[0][1] == " selected"
