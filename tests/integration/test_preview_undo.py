"""Preview (config.dry_run), Load it (apply) and Undo, through real workers (SPEC §11)."""

from __future__ import annotations

import psycopg
import pytest

from tests.integration.test_csv_ingestion import PLANE_HEADER, upload

TRAVEL = 2  # the demo seed's travel module, where these tests load
TRAIN_FACTORS = b"country_code,ef_kg_co2eq_per_km\n"
PLANE_FACTORS = b"category,cabin_class,ef_kg_co2eq_per_km\n"


def planes(first: int, count: int, day: int = 1) -> bytes:
    lines = [PLANE_HEADER] + [f"GVA,CDG,{first + n},economy,2025-03-{day:02d}"
                              for n in range(count)]
    return ("\n".join(lines) + "\n").encode()


def entries(db_url) -> list[tuple]:
    """Every stored entry of the travel module, every column that matters, by id."""
    with psycopg.connect(db_url) as conn:
        return conn.execute(
            "SELECT id, entry_type, data, source, job_id, kg_co2eq, emission "
            "FROM data_entries WHERE module_id = 2 ORDER BY id").fetchall()


def factors(db_url, factor_type_id: int) -> list[tuple]:
    with psycopg.connect(db_url) as conn:
        return conn.execute(
            'SELECT id, classification, "values", job_id, updated_at FROM emission_factors '
            "WHERE factor_type_id = %s ORDER BY id", (factor_type_id,)).fetchall()


def test_preview_writes_nothing_and_counts_what_the_load_does(api, db_url, wait_idle):
    upload(api, planes(100, 30))
    wait_idle(TRAVEL, recalculations=True)
    before = entries(db_url)
    new_file = planes(120, 25)  # rows 120..129 equal stored ones, 130..144 are new
    preview = upload(api, new_file, dry_run=True)
    assert (preview["status"], preview["status_code"], preview["dry_run"]) == (
        "completed", 200, True), preview
    assert preview["message"].startswith("Preview: would load 25 rows")
    assert entries(db_url) == before  # nothing was written
    assert preview["counts"] == {"inserted": 25, "updated": 0, "deleted": 30,
                                 "unchanged": 10, "skipped": 0}
    assert len(preview["preview"]) == 20
    assert preview["preview"][0]["data"]["user_institutional_id"] == "120"
    assert preview["undo_until"] is None
    wait_idle(TRAVEL, recalculations=True)
    assert entries(db_url) == before  # and a preview queues no recalculation either
    recalculations = api.get("/sync/history/2?provider_type=recalculation").get_json()
    assert recalculations["total"] == 1  # the first load's

    load = upload(api, new_file)
    # A real load of entries does not count "unchanged" (it would cost a fifth of a load).
    assert load["counts"] == {k: v for k, v in preview["counts"].items() if k != "unchanged"}
    assert load["dry_run"] is False and load["undo_until"]


def test_preview_shows_emissions_when_factors_exist(api, admin_api, db_url, worker):
    upload(admin_api, PLANE_FACTORS + b"short,economy,0.5\n", module="travel",
           factor_type="plane")
    preview = upload(api, planes(1, 3), dry_run=True)
    first = preview["preview"][0]
    assert first["kg_co2eq"] and first["kg_co2eq"] > 0
    assert first["emission"]["method"] == "computed"
    assert entries(db_url) == []


def test_preview_of_factors_writes_nothing(admin_api, db_url, worker):
    upload(admin_api, TRAIN_FACTORS + b"CH,0.008\nFR,0.012\n", factor_type="train")
    before = factors(db_url, 2)
    preview = upload(admin_api, TRAIN_FACTORS + b"CH,0.009\nFR,0.012\nDE,0.03\n",
                     factor_type="train", dry_run=True)
    assert factors(db_url, 2) == before
    assert {k: preview["counts"][k] for k in ("inserted", "updated", "unchanged")} == {
        "inserted": 1, "updated": 1, "unchanged": 1}
    assert [row["change"] for row in preview["preview"]] == ["update", "unchanged", "insert"]
    applied = admin_api.post(f"/sync/apply/{preview['job_id']}")
    assert applied.status_code == 202, applied.get_json()
    load = admin_api.wait(applied.get_json()["job_id"])
    assert load["counts"] == preview["counts"]


def test_apply_loads_the_previewed_file_and_links_both_ways(api, db_url, worker):
    preview = upload(api, planes(1, 5), dry_run=True)
    response = api.post(f"/sync/apply/{preview['job_id']}")
    assert response.status_code == 202, response.get_json()
    load = api.wait(response.get_json()["job_id"])
    assert load["status"] == "completed" and load["preview_of"] == preview["job_id"]
    assert load["dry_run"] is False and load["request"]["config"].get("dry_run") is None
    assert api.get(f"/sync/status/{preview['job_id']}").get_json()["applied_by"] == load[
        "job_id"]
    assert len(entries(db_url)) == 5
    again = api.post(f"/sync/apply/{preview['job_id']}")
    assert again.status_code == 409 and f"job {load['job_id']}" in again.get_json()["message"]
    not_preview = api.post(f"/sync/apply/{load['job_id']}")
    assert not_preview.status_code == 409
    assert "not a completed preview" in not_preview.get_json()["message"]


def test_undo_restores_exactly_what_the_load_replaced(api, admin_api, db_url, wait_idle):
    upload(admin_api, PLANE_FACTORS + b"short,economy,0.5\n", module="travel",
           factor_type="plane")
    upload(api, planes(1, 12))
    wait_idle(TRAVEL, recalculations=True)  # the load's own recalculation: the previous emissions
    before = entries(db_url)
    assert all(row[5] and row[6]["method"] == "computed" for row in before)
    second = upload(api, planes(5, 20, day=2))
    wait_idle(TRAVEL, recalculations=True)
    assert entries(db_url) != before
    response = api.post(f"/sync/undo/{second['job_id']}")
    assert response.status_code == 202, response.get_json()
    undo = api.wait(response.get_json()["job_id"])
    assert undo["status"] == "completed", undo
    assert undo["undo_of"] == second["job_id"]
    assert undo["counts"]["restored"] == 12 and undo["counts"]["removed"] == 20
    assert entries(db_url) == before  # same ids, data, source, job ids and emissions
    wait_idle(TRAVEL, recalculations=True)  # and the recalculation the undo queued agrees with them
    assert entries(db_url) == before
    history = api.get("/sync/history/2?provider_type=recalculation&limit=100").get_json()
    assert any(item["status"] == "completed" for item in history["items"])
    assert api.get(f"/sync/status/{second['job_id']}").get_json()["undone_by"] == undo[
        "job_id"]
    again = api.post(f"/sync/undo/{second['job_id']}")
    assert again.status_code == 409
    assert f"already undone by job {undo['job_id']}" in again.get_json()["message"]


def test_undo_of_factors_restores_values_and_removes_inserted(admin_api, db_url, worker):
    upload(admin_api, TRAIN_FACTORS + b"CH,0.008\nFR,0.012\n", factor_type="train")
    before = factors(db_url, 2)
    load = upload(admin_api, TRAIN_FACTORS + b"CH,0.009\nDE,0.03\n", factor_type="train")
    response = admin_api.post(f"/sync/undo/{load['job_id']}")
    assert response.status_code == 202, response.get_json()
    assert admin_api.wait(response.get_json()["job_id"])["status"] == "completed"
    assert factors(db_url, 2) == before


def test_undo_refusals(api, worker):
    first = upload(api, planes(1, 3))
    second = upload(api, planes(1, 4))
    refused = api.post(f"/sync/undo/{first['job_id']}")
    assert refused.status_code == 409
    assert f"undo job {second['job_id']} first" in refused.get_json()["message"]
    preview = upload(api, planes(1, 2), dry_run=True)
    refused = api.post(f"/sync/undo/{preview['job_id']}")
    assert refused.status_code == 409 and "preview" in refused.get_json()["message"]
    # Undo the later one; then the earlier one may be undone.
    undo = api.wait(api.post(f"/sync/undo/{second['job_id']}").get_json()["job_id"])
    assert undo["status"] == "completed"
    refused = api.post(f"/sync/undo/{undo['job_id']}")
    assert refused.status_code == 409 and "is an undo" in refused.get_json()["message"]
    assert api.post(f"/sync/undo/{first['job_id']}").status_code == 202


def test_undo_needs_the_role_of_the_load(api, admin_api, worker):
    load = upload(admin_api, TRAIN_FACTORS + b"CH,0.008\n", factor_type="train")
    assert api.post(f"/sync/undo/{load['job_id']}").status_code == 403
    assert api.post(f"/sync/apply/{load['job_id']}").status_code == 403


@pytest.mark.parametrize("first_is_preview", [True, False])
def test_a_preview_and_a_load_never_block_each_other(api, db_url, worker, start_worker,
                                                      first_is_preview):
    start_worker()  # two workers, so both jobs run at once
    slow = {"rows": 400, "batch": 20, "delay_s": 0.05}
    first = api.sync(2, "synthetic", config={**slow, "dry_run": first_is_preview})
    assert first.status_code == 202
    api.wait(first.get_json()["job_id"], until=("processing",))
    second = api.sync(2, "synthetic", config={"rows": 5, "dry_run": not first_is_preview})
    assert second.status_code == 202, second.get_json()
    done = api.wait(second.get_json()["job_id"])
    assert done["status"] == "completed", done
    assert api.get(f"/sync/status/{first.get_json()['job_id']}").get_json()[
        "status"] == "processing"  # the second finished while the first still ran
    api.wait(first.get_json()["job_id"])


def test_preview_apply_and_undo_are_audited_with_their_jobs(api, db_url, worker):
    preview = upload(api, planes(1, 2), dry_run=True)
    load = api.wait(api.post(f"/sync/apply/{preview['job_id']}").get_json()["job_id"])
    undo = api.wait(api.post(f"/sync/undo/{load['job_id']}").get_json()["job_id"])
    with psycopg.connect(db_url) as conn:
        actions = dict(conn.execute(
            "SELECT target_id, action FROM audit_log WHERE target_type = 'job'").fetchall())
    assert (actions[preview["job_id"]], actions[load["job_id"]], actions[undo["job_id"]]) == (
        "job.preview", "job.applied", "job.undo")


def test_undo_is_no_longer_possible_once_its_rows_are_purged(api, app, db_url, worker):
    from datetime import UTC, datetime, timedelta

    from webapp.ingestion.undo import purge_expired

    upload(api, planes(1, 3))
    load = upload(api, planes(1, 4))
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    with psycopg.connect(db_url) as conn:
        conn.execute("UPDATE replaced_entries SET kept_at = now() - interval '31 days'")
        conn.execute("UPDATE data_ingestion_jobs SET metadata = jsonb_set(metadata, "
                     "'{undo_until}', to_jsonb(CAST(%s AS text))) WHERE id = %s",
                     (past, load["job_id"]))
    with app.app_context():
        assert purge_expired(force=True) == 3
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM replaced_entries").fetchone()[0] == 0
    refused = api.post(f"/sync/undo/{load['job_id']}")
    assert refused.status_code == 409
    assert "no longer possible" in refused.get_json()["message"]
    # The notes the history and the job panel show (the browser test sees them rendered).
    from webapp.ingestion import undo
    from webapp.jobs import queries

    with app.app_context():
        job = queries.get_job(load["job_id"])
        assert undo.undo_note(job) == "Undo no longer possible"
        assert "no longer possible" in undo.undo_refusal(job)
