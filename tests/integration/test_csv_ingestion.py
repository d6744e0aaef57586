"""CSV files through the real path: API upload → worker → job result and stored rows."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import psycopg
import pytest

from tests.support.emissions import wait_recalculated

CORPUS = Path(__file__).resolve().parent.parent / "data" / "csv"
MANIFEST = json.loads((CORPUS / "manifest.json").read_text())
MODULE_IDS = {"headcount": 1, "travel": 2, "equipment": 3, "purchases": 4}
FACTOR_TYPE_IDS = {"plane": 1, "train": 2, "equipment": 3, "purchase": 4, "headcount": 5}
PLANE_HEADER = "origin_iata,destination_iata,user_institutional_id,cabin_class,departure_date"


def upload(api, content: bytes | Path, *, module: str = "travel", factor_type: str | None = None,
           filename: str = "upload.csv", **config):
    response = api.sync(MODULE_IDS[module], "csv_upload",
                        factor_type_id=FACTOR_TYPE_IDS[factor_type] if factor_type else None,
                        file=content, filename=filename, config=config)
    assert response.status_code == 202, response.get_json()
    return api.wait(response.get_json()["job_id"])


@pytest.mark.parametrize("case", MANIFEST, ids=[case["file"] for case in MANIFEST])
def test_corpus_file_ends_as_the_manifest_says(api, admin_api, worker, case):
    config = {"on_error": case["on_error"]}
    if case.get("config_entry_type"):
        config["entry_type"] = case["config_entry_type"]
    client = admin_api if case["target"] == "factors" else api  # admins manage factors
    final = upload(client, CORPUS / case["file"], module=case["module_type"],
                   factor_type=case.get("factor_type"), filename=case["file"], **config)
    expect = case["expect"]
    assert (final["status"], final["status_code"]) == (expect["status"],
                                                       expect["status_code"]), final
    assert final["errors_total"] == expect["errors_total"]
    assert sorted({e["row"] for e in final["errors"]}) == expect["error_rows"]
    assert sorted({e["column"] for e in final["errors"]}) == sorted(expect["error_columns"])
    if expect["message_contains"]:
        assert expect["message_contains"] in final["message"]
    if final["status"] == "completed":
        assert final["counts"]["inserted"] == expect["inserted"]
    if case["target"] == "data_entries":
        stored = api.get(f"/modules/{MODULE_IDS[case['module_type']]}/entries").get_json()
        assert stored["total"] == (expect["inserted"] if final["status"] == "completed" else 0)


def test_editors_may_not_upload_factors(api):
    response = api.sync(2, "csv_upload", factor_type_id=1, file=b"x", filename="f.csv")
    assert response.status_code == 403
    assert "admin" in response.get_json()["message"]


def plane_rows(count: int, bad_last: bool = False) -> bytes:
    lines = [PLANE_HEADER]
    lines += [f"GVA,CDG,{100000 + n},economy,2025-03-{1 + n % 28:02d}" for n in range(count)]
    if bad_last:
        lines[-1] = "GVA,CDG,999,economy,2025-13-45"
    return ("\n".join(lines) + "\n").encode()


def test_abort_with_one_bad_row_at_the_end_of_100k_rows_writes_nothing(api, worker):
    first = upload(api, plane_rows(10))
    assert first["status"] == "completed"
    wait_recalculated(api, 2, first)  # the load's own recalculation, done
    before = api.get("/modules/2/entries?limit=50").get_json()
    final = upload(api, plane_rows(100_000, bad_last=True))
    assert final["status"] == "failed" and final["status_code"] == 422
    assert final["message"].startswith("Row 100001: departure_date '2025-13-45'")
    assert final["errors_total"] == 1
    after = api.get("/modules/2/entries?limit=50").get_json()
    assert after == before  # the previous data, exactly, and nothing of the new file


def test_skip_mode_loads_the_good_rows_and_reports_the_bad(api, worker):
    final = upload(api, plane_rows(50, bad_last=True), on_error="skip")
    assert final["status"] == "completed" and final["status_code"] == 207, final["message"]
    assert final["counts"] == {**final["counts"], "inserted": 49, "skipped": 1}
    assert final["errors"] == [{"row": 51, "column": "departure_date", "value": "2025-13-45",
                                "reason": final["errors"][0]["reason"]}]
    assert "skipped 1 invalid row" in final["message"]


@pytest.mark.parametrize("on_error", ["skip", "abort"])
def test_a_file_without_one_valid_row_keeps_the_stored_rows_in_any_mode(api, worker,
                                                                        on_error):
    """SPEC §12 (continued): 50 stored rows, then 20 invalid ones in skip mode, used to
    end "Loaded 0 rows (replaced 50)". No valid row writes nothing and fails 422."""
    first = upload(api, plane_rows(50))
    assert first["status"] == "completed"
    wait_recalculated(api, 2, first)  # the load's own recalculation, done
    before = api.get("/modules/2/entries?limit=100").get_json()
    invalid = [PLANE_HEADER] + [f"GVA,CDG,{n},economy,2025-13-45" for n in range(20)]
    final = upload(api, ("\n".join(invalid) + "\n").encode(), on_error=on_error)
    assert (final["status"], final["status_code"]) == ("failed", 422), final
    assert "20 invalid rows" in final["message"]
    assert "no row is valid; nothing was loaded and the stored rows are kept" in final["message"]
    assert final["errors_total"] == 20
    assert api.get("/modules/2/entries?limit=100").get_json() == before


def test_uploading_the_same_file_twice_leaves_the_same_rows(api, wait_idle):
    body = plane_rows(300)
    upload(api, body)
    wait_idle(2, recalculations=True)  # each load's recalculation, done before reading
    first = api.get("/modules/2/entries?limit=500").get_json()
    second_job = upload(api, body)
    wait_idle(2, recalculations=True)
    second = api.get("/modules/2/entries?limit=500").get_json()
    assert second_job["counts"]["deleted"] == 300
    assert second["total"] == first["total"] == 300
    strip = [{k: v for k, v in item.items() if k not in ("id", "job_id", "created_at")}
             for item in first["items"]]
    assert strip == [{k: v for k, v in item.items() if k not in ("id", "job_id", "created_at")}
                     for item in second["items"]]


def test_every_character_of_a_cell_is_stored_as_it_was_written(api, worker, db_url):
    # Rows reach PostgreSQL as COPY text lines built by the loader: backslashes, tabs,
    # line breaks, quotes, "\\N" and non-ASCII text must all come back unchanged.
    notes = ["C:\\temp\\trip", "tab\there", "two\nlines", 'say "hi"', "\\N", "Zürich → 東京 🚆",
             "trailing backslash \\"]
    lines = [PLANE_HEADER + ",note,kg_co2eq"]
    for n, note in enumerate(notes):
        quoted = '"' + note.replace('"', '""') + '"'
        lines.append(f"GVA,CDG,{n},economy,2025-03-01,{quoted},{n}.5")
    final = upload(api, ("\n".join(lines) + "\n").encode())
    assert final["status"] == "completed", final
    with psycopg.connect(db_url) as conn:
        stored = conn.execute("SELECT data->>'note', kg_co2eq FROM data_entries "
                              "ORDER BY (data->>'user_institutional_id')::int").fetchall()
    assert stored == [(note, n + 0.5) for n, note in enumerate(notes)]


def test_manual_entries_and_other_entry_types_survive_a_csv_replace(app, api, worker,
                                                                    db_url):
    with psycopg.connect(db_url) as conn:
        conn.execute("INSERT INTO data_entries (inventory_id, module_id, year, entry_type, "
                     "data, source) VALUES (1, 2, 2025, 'plane', '{\"manual\": true}', 'manual')")
    # Written around the app: the stored counts learn of it as operators are told to.
    assert app.test_cli_runner().invoke(args=["recount-entries"]).exit_code == 0
    train = (b"origin_name,origin_country_code,destination_name,destination_country_code,"
             b"user_institutional_id,cabin_class\nLausanne,CH,Paris,FR,1,second\n")
    assert upload(api, train)["status"] == "completed"
    upload(api, plane_rows(5))
    upload(api, plane_rows(3))
    counts = api.get("/modules/2").get_json()["entry_counts"]
    assert {(c["entry_type"], c["source"]): c["count"] for c in counts} == {
        ("plane", "csv_upload"): 3, ("plane", "manual"): 1, ("train", "csv_upload"): 1}


def test_factor_upsert_counts_inserted_updated_unchanged(admin_api, worker):
    api = admin_api
    header = b"country_code,ef_kg_co2eq_per_km\n"
    first = upload(api, header + b"CH,0.008\nFR,0.012\n", module="travel", factor_type="train")
    assert first["counts"]["inserted"] == 2
    again = upload(api, header + b"CH,0.008\nFR,0.012\n", module="travel", factor_type="train")
    assert (again["counts"]["inserted"], again["counts"]["updated"],
            again["counts"]["unchanged"]) == (0, 0, 2)
    changed = upload(api, header + b"CH,0.009\nFR,0.012\nDE,0.03\n", module="travel",
                     factor_type="train")
    assert (changed["counts"]["inserted"], changed["counts"]["updated"],
            changed["counts"]["unchanged"]) == (1, 1, 1)
    stored = api.get("/factors/2?year=2025").get_json()["items"]
    values = {f["classification"]["country_code"]: f["values"]["ef_kg_co2eq_per_km"]
              for f in stored}
    assert values == {"CH": 0.009, "FR": 0.012, "DE": 0.03}


@pytest.mark.parametrize("module,entry_type,row", [
    ("headcount", "member", {"name": "Ada", "position_category": "professor",
                             "user_institutional_id": "1", "fte": "0.5"}),
    ("travel", "train", {"origin_name": "Bern", "origin_country_code": "CH",
                         "destination_name": "Milano", "destination_country_code": "IT",
                         "user_institutional_id": "2", "cabin_class": "first"}),
])
def test_a_filled_in_template_loads(api, worker, module, entry_type, row):
    template = api.get(f"/templates/{MODULE_IDS[module]}.csv?entry_type={entry_type}")
    assert template.status_code == 200
    header, _example = list(csv.reader(io.StringIO(template.get_data(as_text=True))))
    assert all(name in header for name in row)
    line = ",".join(row.get(name, "") for name in header)
    final = upload(api, (",".join(header) + "\r\n" + line + "\r\n").encode(), module=module,
                   entry_type=entry_type)
    assert final["status"] == "completed" and final["counts"]["inserted"] == 1


def test_every_factor_type_has_a_template_that_names_its_columns(api):
    for slug, factor_type_id in FACTOR_TYPE_IDS.items():
        response = api.get(f"/templates/factors/{factor_type_id}.csv")
        assert response.status_code == 200, slug
        assert response.headers["Content-Type"].startswith("text/csv")
        assert response.get_data(as_text=True).count(",") >= 1


def test_a_refused_upload_stores_no_file(api, db_url):
    response = api.sync(2, "csv_upload", year=2024, file=plane_rows(1000), filename="trips.csv")
    assert response.status_code == 422
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM uploads").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM upload_chunks").fetchone()[0] == 0
