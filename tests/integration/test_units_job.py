"""The unit tree as a tracked job (SPEC §13): `POST /api/v1/units/import` (a CSV file) and
`POST /api/v1/units/sync` (a directory provider), through real workers, with counts, row
errors, undo, and the job's page."""

from __future__ import annotations

import io

import psycopg
import pytest

from tests.integration.test_units import TREE, units
from tests.support.workers import WorkerProcess

pytestmark = pytest.mark.usefixtures("settled")


def _import(client, content: str, on_error: str | None = None):
    form = {"file": (io.BytesIO(content.encode()), "units.csv")}
    if on_error:
        form["on_error"] = on_error
    return client.post("/units/import", data=form, content_type="multipart/form-data")


def _run(client, content: str, on_error: str | None = None) -> dict:
    answer = _import(client, content, on_error)
    assert answer.status_code == 202, answer.get_json()
    return client.wait(answer.get_json()["job_id"])


def test_an_import_job_completes_with_its_counts(admin_api, db_url, worker):
    first = _run(admin_api, TREE)
    assert first["status"] == "completed", first
    assert first["target_type"] == "units" and first["provider_type"] == "csv_upload"
    assert first["module_id"] is None and first["year"] is None
    assert first["counts"] == {"inserted": 5, "updated": 0, "unchanged": 0}
    assert first["message"] == "Imported units: 5 created, 0 updated, 0 unchanged"
    assert units(db_url)["L-101"] == ("Lab of glaciers", "I-10", True, ["S-1", "I-10", "L-101"])
    second = _run(admin_api, TREE.replace("Lab of glaciers", "Glacier lab"))
    assert second["counts"] == {"inserted": 0, "updated": 1, "unchanged": 4}
    history = admin_api.get("/units/jobs").get_json()
    assert [job["job_id"] for job in history["items"]] == [second["job_id"], first["job_id"]]
    with psycopg.connect(db_url) as conn:
        audited = conn.execute("SELECT target_id FROM audit_log WHERE action = 'units.import' "
                               "ORDER BY id").fetchall()
    assert audited == [(first["job_id"],), (second["job_id"],)]


def test_a_bad_file_fails_with_its_rows_named_and_changes_nothing(admin_api, db_url, worker):
    assert _run(admin_api, TREE)["status"] == "completed"
    before = units(db_url)
    failed = _run(admin_api, "code,name,parent_code,active\nA,Alpha,NOPE,\n"
                             "B,,S-1,maybe\nS-1,Renamed school,,\n")
    assert failed["status"] == "failed" and failed["status_code"] == 422, failed
    assert "no unit was changed" in failed["message"]
    assert failed["errors"] == [
        {"row": 2, "column": "parent_code", "value": "NOPE",
         "reason": "is not a unit of this file or of the tree"},
        {"row": 3, "column": "name", "value": "", "reason": "is required"},
        {"row": 3, "column": "active", "value": "maybe", "reason": "is not yes or no"}]
    report = admin_api.get(f"/sync/errors/{failed['job_id']}.csv").get_data(as_text=True)
    assert '2,"parent_code","NOPE","is not a unit of this file or of the tree"' in report
    assert units(db_url) == before  # the valid row (the school's new name) was not written


def test_skip_imports_the_valid_rows_and_a_child_of_a_skipped_row_is_skipped(admin_api,
                                                                            db_url, worker):
    done = _run(admin_api, "code,name,parent_code\nA,Alpha,\nB,,A\nC,Gamma,B\nD,Delta,A\n",
                on_error="skip")
    assert done["status"] == "completed" and done["status_code"] == 207, done
    assert done["counts"] == {"inserted": 2, "updated": 0, "unchanged": 0, "skipped": 2}
    assert [(e["row"], e["column"]) for e in done["errors"]] == [(3, "name"),
                                                                (4, "parent_code")]
    assert {"A", "D"} == set(units(db_url))


def test_skip_keeps_the_first_of_repeated_rows_and_undo_removes_it(admin_api, db_url,
                                                                   worker):
    done = _run(admin_api, "code,name\nA,Alpha\nA,Again\n", on_error="skip")
    assert done["counts"]["skipped"] == 1 and done["errors"][0]["reason"] == "repeats row 2"
    assert units(db_url)["A"][0] == "Alpha"
    undo = admin_api.wait(admin_api.post(f"/sync/undo/{done['job_id']}").get_json()["job_id"])
    assert undo["counts"]["removed"] == 1 and units(db_url) == {}


def test_an_all_invalid_file_under_skip_writes_nothing_and_fails(admin_api, db_url, worker):
    failed = _run(admin_api, "code,name,parent_code\nA,,\nB,Beta,NOPE\n", on_error="skip")
    assert failed["status"] == "failed" and failed["status_code"] == 422, failed
    assert failed["errors_total"] == 2
    assert units(db_url) == {}


def test_undo_puts_the_previous_tree_back(admin_api, db_url, worker):
    assert _run(admin_api, TREE)["status"] == "completed"
    before = units(db_url)
    # Moves I-10 under a new school, renames a lab, deactivates S-1, adds two units.
    changed = _run(admin_api, "code,name,parent_code,active\nS-2,School of science,,\n"
                              "I-10,Institute of environment,S-2,\nL-201,Polymer lab,I-20,\n"
                              "S-1,School of engineering,,no\nL-301,New lab,S-2,\n")
    assert changed["counts"] == {"inserted": 2, "updated": 3, "unchanged": 0}
    assert changed["undo_until"]
    undo = admin_api.post(f"/sync/undo/{changed['job_id']}")
    assert undo.status_code == 202, undo.get_json()
    done = admin_api.wait(undo.get_json()["job_id"])
    assert done["status"] == "completed", done
    assert done["counts"] == {"restored": 3, "removed": 2, "kept": 0}
    assert units(db_url) == before  # names, parents, flags and paths as they were
    again = admin_api.post(f"/sync/undo/{changed['job_id']}")
    assert again.status_code == 409 and "already undone" in again.get_json()["message"]


def test_undo_keeps_a_created_unit_something_refers_to(admin_api, db_url, worker):
    _run(admin_api, "code,name,parent_code\nN-1,New unit,\nN-2,Newer unit,N-1\n")
    job = _run(admin_api, "code,name,parent_code\nN-3,Third unit,N-1\n")
    with psycopg.connect(db_url) as conn:  # a year created since gave N-3 an inventory
        conn.execute("INSERT INTO inventories (name, year, unit_code, unit_id) "
                     "SELECT 'N-3 2030', 2030, code, id FROM units WHERE code = 'N-3'")
    undo = admin_api.post(f"/sync/undo/{job['job_id']}").get_json()
    done = admin_api.wait(undo["job_id"])
    assert done["counts"] == {"restored": 0, "removed": 0, "kept": 1}, done
    assert "kept 1 it created, now inactive, that something refers to: N-3" in done["message"]
    assert units(db_url)["N-3"][2] is False


def test_undo_refuses_when_a_later_import_changed_the_same_units(admin_api, db_url, worker,
                                                                  app, tmp_path):
    first = _run(admin_api, TREE)
    later = _run(admin_api, TREE.replace("Lab of polymers", "Polymers"))
    refused = admin_api.post(f"/sync/undo/{first['job_id']}")
    assert refused.status_code == 409
    assert f"undo job {later['job_id']} first" in refused.get_json()["message"]
    # The CLI writes no job: the undo itself finds the change and writes nothing.
    path = tmp_path / "cli.csv"
    path.write_text("code,name,parent_code\nI-10,Renamed by the CLI,S-1\n")
    assert app.test_cli_runner().invoke(args=["units", "import", str(path)]).exit_code == 0
    before = units(db_url)
    undo = admin_api.post(f"/sync/undo/{later['job_id']}").get_json()
    assert admin_api.wait(undo["job_id"])["status"] == "completed"  # L-201 alone: unchanged
    undo = admin_api.post(f"/sync/undo/{first['job_id']}").get_json()
    failed = admin_api.wait(undo["job_id"])
    assert failed["status"] == "failed" and failed["status_code"] == 409, failed
    assert "I-10 changed after job" in failed["message"]
    assert units(db_url)["I-10"] == before["I-10"]
    assert set(units(db_url)) == set(before)


def test_units_jobs_are_for_admins(api, admin_api, worker):
    assert _import(api, TREE).status_code == 403
    assert api.post("/units/sync", json={"provider_type": "units_file"}).status_code == 403
    done = _run(admin_api, TREE)
    # A units job belongs to no unit: out of anyone's sight but an admin's.
    assert api.post(f"/sync/undo/{done['job_id']}").status_code == 404
    assert api.get(f"/sync/status/{done['job_id']}").status_code == 404
    assert api.get("/units/jobs").get_json()["total"] == 0
    assert admin_api.get("/units/jobs").get_json()["total"] == 1


def test_requests_the_units_job_refuses(admin_api, idle_queue):
    no_file = admin_api.post("/units/import", data={}, content_type="multipart/form-data")
    assert no_file.status_code == 400
    bad_policy = _import(admin_api, TREE, on_error="sometimes")
    assert bad_policy.status_code == 422 and "on_error" in bad_policy.get_json()["message"]
    unknown = admin_api.post("/units/sync", json={"provider_type": "ldap"})
    assert unknown.status_code == 422
    assert unknown.get_json()["valid_providers"] == ["csv_upload", "units_file"]
    unconfigured = admin_api.post("/units/sync", json={"provider_type": "units_file"})
    assert unconfigured.status_code == 503
    assert "UNITS_DIRECTORY_FILE" in unconfigured.get_json()["message"]
    first = _import(admin_api, TREE)
    assert first.status_code == 202
    busy = _import(admin_api, TREE)  # one units job at a time
    assert busy.status_code == 409
    assert busy.get_json()["active_job_id"] == first.get_json()["job_id"]


@pytest.fixture
def directory_worker(app, worker_env, service_urls, tmp_path, monkeypatch):
    """A worker of its own queue that knows UNITS_DIRECTORY_FILE (the session worker does
    not): the directory file's path, to write."""
    path = tmp_path / "directory.csv"
    queue = f"units-directory-{tmp_path.name}"
    monkeypatch.setitem(app.config, "UNITS_DIRECTORY_FILE", str(path))
    monkeypatch.setitem(app.config, "RQ_QUEUE", queue)
    proc = WorkerProcess({**worker_env, "UNITS_DIRECTORY_FILE": str(path), "RQ_QUEUE": queue},
                         f"units-directory-{tmp_path.name}"[:60])
    proc.wait_ready(service_urls["redis_url"])
    yield path
    proc.stop()


def test_a_directory_sync_imports_the_operators_file(admin_api, db_url, directory_worker):
    directory_worker.write_text(TREE)
    answer = admin_api.post("/units/sync", json={"provider_type": "units_file"})
    assert answer.status_code == 202, answer.get_json()
    done = admin_api.wait(answer.get_json()["job_id"])
    assert done["status"] == "completed", done
    assert done["provider_type"] == "units_file" and done["counts"]["inserted"] == 5
    assert set(units(db_url)) == {"S-1", "I-10", "I-20", "L-101", "L-201"}
    directory_worker.unlink()  # the directory's export went missing
    missing = admin_api.wait(admin_api.post(
        "/units/sync", json={"provider_type": "units_file"}).get_json()["job_id"])
    assert missing["status"] == "failed" and missing["status_code"] == 503, missing
    assert "cannot be read" in missing["message"]


def test_the_job_page_of_a_units_job(admin_api, pages, worker):
    job = _run(admin_api, TREE)
    page = pages("admin").get(f"/jobs/{job['job_id']}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "the unit tree" in html and "Imported units: 5 created" in html
    assert f'href="/jobs/{job["job_id"]}/undo"' in html
    confirm = pages("admin").get(f"/jobs/{job['job_id']}/undo")
    assert confirm.status_code == 200
    assert "puts the unit tree back" in confirm.get_data(as_text=True)


def test_a_file_without_the_columns_fails_400(admin_api, worker):
    failed = _run(admin_api, "unit,label\nA,Alpha\n")
    assert failed["status"] == "failed" and failed["status_code"] == 400, failed
    assert "A units file needs the columns code, name" in failed["message"]


def test_a_retry_of_a_failed_import_reads_the_same_file(admin_api, db_url, worker):
    failed = _run(admin_api, "code,name,parent_code\nA,Alpha,\nB,Beta,NOPE\n")
    assert failed["status"] == "failed"
    answer = admin_api.post(f"/sync/retry/{failed['job_id']}")  # same file, same policy
    assert answer.status_code == 202
    again = admin_api.wait(answer.get_json()["job_id"])
    assert again["status"] == "failed" and again["retry_of"] == failed["job_id"]
    assert again["request"]["upload"]["filename"] == "units.csv"
    assert units(db_url) == {}


def test_the_pages_of_a_failed_units_job_and_of_its_undo(admin_api, pages, worker):
    failed = _run(admin_api, "code,name,parent_code\nB,Beta,NOPE\n")
    client = pages("admin")
    page = client.get(f"/jobs/{failed['job_id']}")
    assert page.status_code == 200
    assert "is not a unit of this file or of the tree" in page.get_data(as_text=True)
    panel = client.get(f"/jobs/{failed['job_id']}/panel", headers={"HX-Request": "true"})
    assert panel.status_code == 200 and "NOPE" in panel.get_data(as_text=True)
    done = _run(admin_api, TREE)
    undo = admin_api.wait(admin_api.post(f"/sync/undo/{done['job_id']}").get_json()["job_id"])
    page = client.get(f"/jobs/{undo['job_id']}")
    assert page.status_code == 200
    assert f"Undid job #{done['job_id']}: restored 0 units, removed 5" in page.get_data(
        as_text=True)
