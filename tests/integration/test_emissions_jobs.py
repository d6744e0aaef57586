"""Recalculation jobs through real workers: enqueued by loads, one active per module, a
request during a run makes exactly one more run, cancel keeps the previous figures; the
emissions API shapes, the entry filters and the formula-safe CSV export."""

from __future__ import annotations

import contextlib
import csv
import io
import json

import psycopg
import pytest

from tests.support.emissions import wait_recalculated
from webapp.emissions.recalculation import _LOCK_CLASS

TRAVEL, HEADCOUNT = 2, 1
PLANE_FACTORS = 1
FORMULA = '=HYPERLINK("http://evil.example","x")'
PLANES = ("origin_iata,destination_iata,user_institutional_id,cabin_class,departure_date,"
          "number_of_trips,distance_km,note\n"
          f'GVA,LHR,100001,economy,2025-03-01,1,1000,"{FORMULA.replace(chr(34), chr(34) * 2)}"\n'
          "GVA,JFK,100002,business,2025-04-01,2,,conference\n"
          "QQQ,LHR,100003,economy,2025-05-01,1,,\n").encode()
FACTORS = (b"category,cabin_class,ef_kg_co2eq_per_km,rfi_adjustment,min_distance,max_distance\n"
           b"short_haul,economy,0.151,1.9,0,1500\n")
CHEAPER = (b"category,cabin_class,ef_kg_co2eq_per_km,rfi_adjustment,min_distance,max_distance\n"
           b"short_haul,economy,0.2,1.9,0,1500\n")


def _upload(client, content: bytes, factor_type_id: int | None = None) -> dict:
    response = client.sync(TRAVEL, "csv_upload", factor_type_id=factor_type_id, file=content)
    assert response.status_code == 202, response.get_json()
    final = client.wait(response.get_json()["job_id"])
    assert final["status"] == "completed", final
    return final


def load_planes(api, content: bytes = PLANES) -> dict:
    return _upload(api, content)


def load_factors(admin_api, content: bytes = FACTORS) -> dict:
    return _upload(admin_api, content, PLANE_FACTORS)


def recalculations(api, module_id: int = TRAVEL) -> list[dict]:
    """The module's recalculation jobs, oldest first."""
    body = api.get(f"/sync/history/{module_id}?provider_type=recalculation&limit=100")
    return list(reversed(body.get_json()["items"]))


def settled(api, load: dict, module_id: int = TRAVEL) -> dict:
    return wait_recalculated(api, module_id, load)


def wait_status(api, job_id: int, status: str, timeout: float = 30) -> dict:
    return api.wait(job_id, until=(status,), timeout=timeout)


@pytest.fixture
def hold_recalculations(db_url):
    """hold(module_id) blocks that module's recalculations where they start (the lock
    recalculate_module takes); release() lets them go. Always released at the end, or a
    blocked work horse would hang the next test's cleanup."""
    conn = psycopg.connect(db_url)

    class Hold:
        def __call__(self, module_id: int) -> None:
            conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (_LOCK_CLASS, module_id))

        def release(self) -> None:
            conn.rollback()

    yield Hold()
    with contextlib.suppress(Exception):
        conn.rollback()
    conn.close()


def test_an_entry_load_recalculates_its_module_by_itself(api, admin_api, worker):
    settled(api, load_factors(admin_api))  # its own recalculation ends first
    load = load_planes(api)
    figures = settled(api, load)
    assert figures["total_kg_co2eq"] == pytest.approx(1000 * 0.151 * 1.9)
    assert (figures["entries"], figures["entries_with_emissions"]) == (3, 1)
    job = recalculations(api)[-1]
    assert job["status"] == "completed" and job["target_type"] == "emissions"
    assert job["request"]["config"] == {"triggered_by": load["job_id"]}
    assert figures["last_recalculation_job_id"] == job["job_id"]
    assert job["message"].startswith("Recalculated 3 entries: 1 with emissions")
    reasons = {m["reason"]: m["entries"] for m in figures["missing"]}
    assert reasons == {"unknown airport code 'QQQ'": 1,
                       "no plane factor for business at 6,296 km in 2025": 1}, reasons


def test_a_factor_upload_recomputes_the_entries_and_the_totals_change(api, admin_api, worker):
    load_factors(admin_api)
    first = settled(api, load_planes(api))
    assert first["total_kg_co2eq"] == pytest.approx(286.9)
    factors = load_factors(admin_api, CHEAPER)
    second = settled(api, factors)
    assert second["total_kg_co2eq"] == pytest.approx(1000 * 0.2 * 1.9)
    entry = api.get(f"/modules/{TRAVEL}/entries?missing=false").get_json()["items"][0]
    assert entry["kg_co2eq"] == pytest.approx(380.0)
    assert entry["emission"]["method"] == "computed"
    assert entry["emission"]["distance_km"] == 1000
    # Every travel module of that year was recalculated, and only those.
    assert recalculations(api, HEADCOUNT) == []


def test_requests_during_a_run_and_a_concurrent_load_make_exactly_one_more_run(
        api, admin_api, worker, start_worker, hold_recalculations):
    load_factors(admin_api)
    settled(api, load_planes(api))
    before = len(recalculations(api))
    hold_recalculations(TRAVEL)
    running = api.post(f"/sync/emissions/{TRAVEL}")
    assert running.status_code == 202
    running = running.get_json()
    assert running["rerun_requested"] is False and running["status"] == "pending"
    wait_status(api, running["job_id"], "processing")
    assert api.get(f"/modules/{TRAVEL}/emissions").get_json()["stale"] is True

    # A second worker loads more planes while the first is stuck in the recalculation.
    start_worker()
    more = PLANES + b"GVA,CDG,100004,economy,2025-06-01,1,500,\n"
    load = load_planes(api, more)
    for _ in range(3):  # the button pressed again and again: still the same run
        again = api.post(f"/sync/emissions/{TRAVEL}").get_json()
        assert (again["job_id"], again["rerun_requested"]) == (running["job_id"], True)
    assert len(recalculations(api)) == before + 1
    hold_recalculations.release()

    figures = settled(api, load)
    jobs = recalculations(api)
    assert len(jobs) == before + 2, jobs  # the run that was going, and exactly one more
    assert [j["status"] for j in jobs[-2:]] == ["completed", "completed"]
    assert jobs[-1]["request"]["config"] == {"triggered_by": running["job_id"]}
    assert figures["last_recalculation_job_id"] == jobs[-1]["job_id"]
    assert figures["entries"] == 4
    assert figures["total_kg_co2eq"] == pytest.approx((1000 + 500) * 0.151 * 1.9)


def test_one_active_recalculation_per_module_is_enforced_by_the_database(app, db_url):
    with psycopg.connect(db_url, autocommit=True) as conn:
        insert = ("INSERT INTO data_ingestion_jobs (inventory_id, module_id, provider_type, "
                  "target_type, year, status) SELECT inventory_id, id, 'recalculation', "
                  "'emissions', 2025, %s FROM modules WHERE id = %s")
        conn.execute(insert, ("processing", TRAVEL))
        with pytest.raises(psycopg.errors.UniqueViolation, match="uq_jobs_one_active"):
            conn.execute(insert, ("pending", TRAVEL))
        conn.execute(insert, ("pending", HEADCOUNT))  # another module: its own


def test_a_request_while_one_is_pending_adds_nothing(api, worker, hold_recalculations):
    hold_recalculations(TRAVEL)  # the only worker stays busy, so headcount's job waits
    busy = api.post(f"/sync/emissions/{TRAVEL}").get_json()
    wait_status(api, busy["job_id"], "processing")
    first = api.post(f"/sync/emissions/{HEADCOUNT}").get_json()
    second = api.post(f"/sync/emissions/{HEADCOUNT}").get_json()
    assert first["status"] == "pending" and second == first
    hold_recalculations.release()
    assert api.wait(first["job_id"])["status"] == "completed"
    assert len(recalculations(api, HEADCOUNT)) == 1


def test_cancel_leaves_the_previous_figures(api, admin_api, wait_idle, hold_recalculations,
                                            db_url):
    load_factors(admin_api)
    before = settled(api, load_planes(api))
    entries_before = api.get(f"/modules/{TRAVEL}/entries").get_json()
    with psycopg.connect(db_url, autocommit=True) as conn:  # a change no job has seen
        conn.execute("UPDATE emission_factors SET values = values || "
                     "'{\"ef_kg_co2eq_per_km\": 0.5}'")
    hold_recalculations(TRAVEL)
    job = api.post(f"/sync/emissions/{TRAVEL}").get_json()
    wait_status(api, job["job_id"], "processing")
    cancelled = api.post(f"/sync/cancel/{job['job_id']}").get_json()
    assert cancelled["status"] == "cancelled"
    hold_recalculations.release()
    wait_idle()  # the cancelled run has stopped, at its next check
    after = api.get(f"/modules/{TRAVEL}/emissions").get_json()
    assert after["total_kg_co2eq"] == before["total_kg_co2eq"]
    assert after["last_recalculation_job_id"] == before["last_recalculation_job_id"]
    assert after["stale"] is False
    assert api.get(f"/modules/{TRAVEL}/entries").get_json() == entries_before
    assert api.get(f"/sync/status/{job['job_id']}").get_json()["status"] == "cancelled"


def test_api_shapes_and_entry_filters(api, admin_api, worker):
    load_factors(admin_api)
    load = load_planes(api)
    figures = settled(api, load)
    assert set(figures) >= {"module_id", "year", "total_kg_co2eq", "entries",
                            "entries_with_emissions", "by_entry_type", "missing", "stale",
                            "last_recalculation_job_id"}
    assert figures["by_entry_type"] == [{"entry_type": "plane", "entries": 3,
                                         "entries_with_emissions": 1,
                                         "kg_co2eq": pytest.approx(286.9)}]
    inventory = api.get("/inventories/1/emissions").get_json()
    assert inventory["year"] == 2025 and inventory["stale"] is False
    assert inventory["total_kg_co2eq"] == pytest.approx(286.9)
    travel = next(m for m in inventory["modules"] if m["module_id"] == TRAVEL)
    assert travel == {"module_id": TRAVEL, "module_type": "travel", "name": travel["name"],
                      "total_kg_co2eq": pytest.approx(286.9), "entries": 3,
                      "entries_with_emissions": 1, "stale": False}

    def ids(query: str) -> list[int]:
        body = api.get(f"/modules/{TRAVEL}/entries?{query}").get_json()
        assert body["total"] == len(body["items"])
        return [e["id"] for e in body["items"]]

    every = ids("")
    assert len(every) == 3
    assert ids("missing=true") == every[1:]
    assert ids("missing=false") == every[:1]
    assert ids("source=csv_upload") == every and ids("source=tableau_api") == []
    assert ids(f"job_id={load['job_id']}") == every and ids("job_id=99999") == []
    assert ids("reason=unknown airport code 'QQQ'") == every[2:]
    assert api.get(f"/modules/{TRAVEL}/entries?missing=maybe").status_code == 400
    assert api.get("/modules/999/emissions").status_code == 404
    assert api.get("/inventories/999/emissions").status_code == 404


def test_a_new_module_has_zero_figures_and_viewers_may_not_recalculate(
        app, api, create_user, api_token):
    from tests.conftest import ApiClient

    figures = api.get(f"/modules/{HEADCOUNT}/emissions").get_json()
    assert (figures["total_kg_co2eq"], figures["entries"], figures["stale"],
            figures["last_recalculation_job_id"]) == (0.0, 0, False, None)
    viewer = ApiClient(app.test_client(), api_token(create_user("viewer")))
    response = viewer.post(f"/sync/emissions/{HEADCOUNT}")
    assert response.status_code == 403
    assert api.post("/sync/emissions/999").status_code == 404


def test_csv_export_carries_the_emissions_and_neutralises_formulas(api, admin_api, worker):
    load_factors(admin_api)
    settled(api, load_planes(api))
    response = api.get(f"/modules/{TRAVEL}/entries.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 3
    first = rows[0]
    assert first["data.note"] == "'" + FORMULA
    assert float(first["kg_co2eq"]) == pytest.approx(286.9)
    assert first["method"] == "computed" and first["data.origin_iata"] == "GVA"
    assert rows[2]["missing_reason"] == "unknown airport code 'QQQ'"
    assert rows[2]["kg_co2eq"] == ""
    filtered = api.get(f"/modules/{TRAVEL}/entries.csv?missing=true").get_data(as_text=True)
    assert len(list(csv.DictReader(io.StringIO(filtered)))) == 2
    assert not any(cell.startswith(("=", "+", "@")) for row in rows for cell in row.values())
    assert json.loads(api.get("/openapi.json").get_data())["paths"][
        "/modules/{module_id}/entries.csv"]
