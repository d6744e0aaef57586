"""Emissions benchmark: a full recalculation of 1,000,000 travel entries (planes and
trains, with their factors) against, in the same run and on the same rows, the plain
`UPDATE data_entries SET kg_co2eq = kg_co2eq` that is the floor of touching every row;
and the module page, the dashboard and the emissions API, served by the app as a browser
or a script asks for them, from a database whose travel module holds 1,000 entries and
from one whose module holds 1,000,000 (the same URLs), in turns.

    .venv/bin/python bench/emissions.py [--rows 1000000] [--small 1000]

Targets: the recalculation reaches at least 0.7 of the floor's rows/s (issue #23; 0.5
in issue #13), best of three each, in turns; each page's or call's median time with
1,000,000 entries is at most 2x the one with 1,000 (issue #13).
Uses DATABASE_URL / REDIS_URL when set (creating a second database beside DATABASE_URL's:
its role needs CREATEDB), else private servers in a temporary directory.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ingest import checkpoint  # noqa: E402  (after the path is set)
from bench.servers import report_load, start_servers, stop_servers  # noqa: E402
from tests.support.web import login  # noqa: E402

AIRPORTS = ["GVA", "ZRH", "CDG", "LHR", "FRA", "AMS", "JFK", "BCN", "FCO", "VIE", "BOS",
            "SFO", "NRT", "SIN", "DXB", "YUL", "MAD", "LIS", "CPH", "ARN"]
COUNTRIES = ["CH", "FR", "DE", "IT", "AT", "NL", "BE", "ES"]
CABINS = ["economy", "premium_economy", "business", "first"]

# Entries as a CSV load stores them: planes with every 500th airport unknown and every
# 50th with its own distance; trains with a distance except every 200th. Half of each.
ENTRIES_SQL = """
INSERT INTO data_entries (inventory_id, module_id, year, entry_type, data, source, job_id)
SELECT %(inventory_id)s, %(module_id)s, %(year)s,
  CASE WHEN n %% 2 = 0 THEN 'plane' ELSE 'train' END,
  CASE WHEN n %% 2 = 0 THEN jsonb_strip_nulls(jsonb_build_object(
      'origin_iata', (%(airports)s::text[])[1 + n %% 20],
      'destination_iata', CASE WHEN n %% 500 = 2 THEN 'QQQ'
                               ELSE (%(airports)s::text[])[1 + (n / 20 + 1 + n %% 7) %% 20] END,
      'user_institutional_id', (100000 + n %% 5000)::text,
      'departure_date', to_char(date '2025-01-01' + n %% 365, 'YYYY-MM-DD'),
      'number_of_trips', 1 + n %% 3, 'cabin_class', (%(cabins)s::text[])[1 + n %% 4],
      'round_trip', CASE WHEN n %% 3 = 0 THEN true END,
      'distance_km', CASE WHEN n %% 50 = 0 THEN 400 + n %% 900 END,
      'note', 'trip ' || n || ', conference', 'unit_institutional_id', 'F' || n %% 40))
  ELSE jsonb_strip_nulls(jsonb_build_object(
      'origin_name', 'Station ' || n %% 97,
      'origin_country_code', (%(countries)s::text[])[1 + n %% 8],
      'destination_name', 'Station ' || n %% 89,
      'destination_country_code', (%(countries)s::text[])[1 + (n / 8) %% 8],
      'user_institutional_id', (100000 + n %% 5000)::text,
      'departure_date', to_char(date '2025-01-01' + n %% 365, 'YYYY-MM-DD'),
      'number_of_trips', 1 + n %% 2, 'cabin_class', CASE WHEN n %% 5 = 0 THEN 'first'
                                                          ELSE 'second' END,
      'round_trip', CASE WHEN n %% 4 = 1 THEN true END,
      'distance_km', CASE WHEN n %% 200 <> 1 THEN 20 + n %% 700 END,
      'note', 'trip ' || n, 'unit_institutional_id', 'F' || n %% 40)) END,
  'csv_upload', 1
FROM generate_series(1, %(rows)s::int) AS n
"""


def add_factors(conn: psycopg.Connection, year: int) -> None:
    from psycopg.types.json import Jsonb

    def factor(slug: str, classification: dict, values: dict) -> None:
        conn.execute("INSERT INTO emission_factors (factor_type_id, year, classification, "
                     "values) SELECT id, %s, %s, %s FROM factor_types WHERE slug = %s",
                     (year, Jsonb(classification), Jsonb(values), slug))

    for n, cabin in enumerate(CABINS):
        factor("plane", {"category": "short haul", "cabin_class": cabin},
               {"ef_kg_co2eq_per_km": 0.15 + n / 10, "max_distance": 3700})
        factor("plane", {"category": "long haul", "cabin_class": cabin},
               {"ef_kg_co2eq_per_km": 0.1 + n / 10, "rfi_adjustment": 2, "min_distance": 3700})
    for n, country in enumerate(COUNTRIES[:5]):
        factor("train", {"country_code": country}, {"ef_kg_co2eq_per_km": 0.005 + n / 100})
    factor("train", {"country_code": "RoW"}, {"ef_kg_co2eq_per_km": 0.04})


def add_entries(conn: psycopg.Connection, module_id: int, rows: int) -> None:
    """`rows` entries for the module, written around the app: recounted as an operator
    would after SQL by hand (`flask recount-entries`)."""
    from webapp.ingestion.loading.sinks import recount_entries

    inventory_id, year = conn.execute(
        "SELECT i.id, i.year FROM modules m JOIN inventories i ON i.id = m.inventory_id "
        "WHERE m.id = %s", (module_id,)).fetchone()
    conn.execute(ENTRIES_SQL, {"inventory_id": inventory_id, "module_id": module_id,
                               "year": year, "rows": rows,
                               "airports": AIRPORTS, "cabins": CABINS,
                               "countries": COUNTRIES})
    recount_entries(conn)


def settle(database_url: str) -> None:
    """Clear the dead rows the last run left and its dirty pages, so each timed run
    starts from the same state."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE data_entries")
    checkpoint(database_url)


def timed(database_url: str, work) -> float:
    settle(database_url)
    with psycopg.connect(database_url) as conn:
        started = time.perf_counter()
        work(conn)
        conn.commit()
        return time.perf_counter() - started


REQUESTS = 100


def median_ms_each(pairs: dict, times: int = REQUESTS) -> dict[str, tuple[float, float]]:
    """{label: (median ms of read_a, of read_b)} for {label: (read_a, read_b)}, the two
    reads taken in turns so that whatever else the machine does weighs on both alike."""
    result = {}
    for label, reads in pairs.items():
        samples: tuple[list[float], list[float]] = ([], [])
        for turn in range(times + 20):  # the first 20: pools, caches and templates warm up
            for read, kept in zip(reads, samples, strict=True):
                started = time.perf_counter()
                read()
                if turn >= 20:
                    kept.append(time.perf_counter() - started)
        result[label] = tuple(statistics.median(kept) * 1000 for kept in samples)
    return result


def travel_database(app, database_url: str, entries: int) -> tuple[int, int]:
    """Migrate and seed the app's database, give its travel module `entries` entries
    with their factors and emissions; (inventory id, module id)."""
    from flask_migrate import upgrade

    from webapp.cli import seed_demo
    from webapp.emissions import recalculate_module
    from webapp.emissions.airports import ensure_airports

    with app.app_context():
        upgrade()
        inventory = seed_demo(2025).id
    with psycopg.connect(database_url) as conn:
        module = conn.execute("SELECT id FROM modules WHERE module_type = 'travel' "
                              "AND inventory_id = %s", (inventory,)).fetchone()[0]
        conn.execute("DELETE FROM data_entries WHERE module_id = %s", (module,))
        conn.execute("DELETE FROM emission_factors")
        add_factors(conn, 2025)
        ensure_airports(conn)  # once per package version: not part of a recalculation
        t0 = time.perf_counter()
        add_entries(conn, module, entries)
        conn.commit()
        print(f"generated {entries:,} travel entries in {time.perf_counter() - t0:.1f} s")
        recalculate_module(conn, module)
        conn.commit()
    return inventory, module


def second_database(database_url: str, admin_url: str | None, name: str) -> str:
    """A fresh database `name` beside `database_url`'s, owned by its role."""
    from psycopg import sql
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    with psycopg.connect(admin_url or database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
            sql.Identifier(name), sql.Identifier(url.username)))
    return url.set(database=name).render_as_string(hide_password=False)


def page_reads(app, module_id: int, inventory_id: int) -> dict:
    """{label: read()} of what a user opens and a script calls, through the whole app
    (authentication, queries, templates), each checked to answer 200."""
    from webapp.cli import create_user
    from webapp.extensions import db
    from webapp.models import ApiToken
    from webapp.organisation.units import get_unit

    with app.app_context():
        user = create_user(f"bench-{os.getpid()}@example.org", "bench-password",
                           unit=get_unit("F0892"), role="editor")
        token_row, token = ApiToken.issue(user, "bench")
        db.session.add(token_row)
        db.session.commit()
        email = user.email
    browser, script = app.test_client(), app.test_client()
    assert login(browser, email, "bench-password").status_code == 302
    headers = {"Authorization": f"Bearer {token}"}

    def page(url):
        def read():
            response = browser.get(url)
            assert response.status_code == 200, (url, response.status_code)
        return read

    def call(url):
        def read():
            response = script.get(url, headers=headers)
            assert response.status_code == 200, (url, response.status_code)
        return read

    return {"module page": page(f"/modules/{module_id}"),
            "dashboard": page("/"),
            "module emissions API": call(f"/api/v1/modules/{module_id}/emissions"),
            "inventory emissions API": call(f"/api/v1/inventories/{inventory_id}/emissions"),
            "entries API, first page": call(f"/api/v1/modules/{module_id}/entries"),
            # Reads no entry: what the two databases' answers differ by anyway.
            "healthz (control)": call("/api/v1/healthz")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=1_000)
    args = parser.parse_args()
    report_load("before")
    workdir = Path(tempfile.mkdtemp(prefix="carbon-bench-"))
    database_url, redis_url, servers = start_servers(workdir)
    # Nothing here queues a job; the login's throttle counts in Redis.
    os.environ.update(DATABASE_URL=database_url, REDIS_URL=redis_url, LOG_LEVEL="WARNING")
    try:
        from webapp import create_app
        from webapp.config import sqlalchemy_url
        from webapp.emissions import recalculate_module

        # Two databases on one server, alike but for the travel module's size, each
        # with its own app: the small one's pages and calls are timed in turns with the
        # large one's, so the machine's drift weighs on both.
        small_url = second_database(database_url, servers[0].admin_url if servers else None,
                                    "carbonsync_bench_small")
        apps = {"small": create_app({"SQLALCHEMY_DATABASE_URI": sqlalchemy_url(small_url)}),
                "large": create_app()}
        travel_database(apps["small"], small_url, args.small)
        inventory, module = travel_database(apps["large"], database_url, args.rows)

        def floor(conn):
            conn.execute("UPDATE data_entries SET kg_co2eq = kg_co2eq WHERE module_id = %s",
                         (module,))

        results = {}

        def forget_emissions(conn):  # untimed: so the next recalculation writes every row
            conn.execute("UPDATE data_entries SET kg_co2eq = NULL, emission = NULL "
                         "WHERE module_id = %s", (module,))

        def recalculation(conn):
            results["last"] = recalculate_module(conn, module)

        # In turns, best of three each: drift weighs on both, and the faster floor makes
        # the ratio err low. Each full recalculation starts from entries without figures.
        full_runs, floor_runs = [], []
        for _ in range(3):
            timed(database_url, forget_emissions)
            full_runs.append(timed(database_url, recalculation))
            floor_runs.append(timed(database_url, floor))
        full, full_s, floor_s = results["last"], min(full_runs), min(floor_runs)
        rerun_s = timed(database_url, recalculation)
        rerun = results["last"]
        floor_rate, full_rate = args.rows / floor_s, args.rows / full_s
        print(f"floor: UPDATE ... SET kg_co2eq = kg_co2eq:  {floor_rate:12,.0f} rows/s "
              f"(best of {', '.join(f'{t:.1f}' for t in floor_runs)} s)")
        print(f"full recalculation (every row written):   {full_rate:12,.0f} rows/s "
              f"(best of {', '.join(f'{t:.1f}' for t in full_runs)} s; "
              f"{sum(full.changed.values()):,} rows written)")
        print(f"ratio recalculation / floor:              {full_rate / floor_rate:12.2f}  "
              "(target ≥ 0.7)")
        print(f"rerun, nothing changed:                   {args.rows / rerun_s:12,.0f} rows/s "
              f"({rerun_s:.1f} s; {sum(rerun.changed.values()):,} rows written)")
        print(f"result: {full.entries:,} entries, {full.entries_with_emissions:,} with "
              f"emissions, {full.total_kg_co2eq:,.0f} kg CO2eq")

        settle(database_url)
        small_reads = page_reads(apps["small"], module, inventory)
        large_reads = page_reads(apps["large"], module, inventory)
        medians = median_ms_each({label: (read, large_reads[label])
                                  for label, read in small_reads.items()})
        print(f"median of {REQUESTS} requests each, in turns, the module holding "
              f"{args.small:,} entries / {args.rows:,}:")
        for label, (small_ms, large_ms) in medians.items():
            print(f"  {label:<25} {small_ms:7.2f} ms  {large_ms:7.2f} ms  ratio "
                  f"{large_ms / small_ms:5.2f}  (target ≤ 2)")
    finally:
        report_load("after")
        stop_servers(servers, workdir)


if __name__ == "__main__":
    main()
