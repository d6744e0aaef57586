"""Institution-wide sync benchmark (issue #21): a year of Tableau flights spread over
many units, as one institution sync, against the same rows as one unit's own sync, in
the same run, on the same servers, through one real RQ worker.

    .venv/bin/python bench/feeds.py [--rows 300000] [--units 500] [--no-replace]

The Tableau stand-in serves `--rows` flights of YEAR, either spread over `--units` unit
codes (the institution sync, `POST /api/v1/sync/institution/{year}`) or all with the
first unit's code (that unit's own sync, `POST /api/v1/sync/data-entries/{module_id}`
filtered on its centre financier): the same rows but for their centre, with the same
few defects. Each rate is the best of three runs, in turns, each into an empty
`data_entries` right after a checkpoint; with replacing (the default) then three more
of each that replace a load of the same rows. Rates are the worker's: from the job's
processing_started_at to its completed_at (fetch, mapping, routing, loading, commit).
Targets: the institution sync reaches 0.8 of the single unit's rate; the work horse's
peak RSS stays flat (no more than a few MB above the single unit's).
Uses DATABASE_URL / REDIS_URL when set, else private servers in a temporary directory.
"""

from __future__ import annotations

import argparse
import io
import logging
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# After the path is set:
from bench.ingest import PeakRss, checkpoint  # noqa: E402
from bench.servers import report_load, start_servers, start_worker, stop_servers  # noqa: E402

RUNS = 3
YEAR = 2030  # a year of its own: create_year makes every unit's inventory and modules
SOURCE_YEAR = "2025"  # the stand-in's year whose rows are the pattern, moved to YEAR
CENTRE = "Centre financier"
TICKET = "IN_Ticket number"


def unit_codes(units: int) -> list[str]:
    return [f"U{n:04d}" for n in range(units)]


def units_csv(codes: list[str]) -> bytes:
    """A flat university: every unit a root of its own, all active."""
    lines = ["code,name,parent_code,active"] + [f"{code},Unit {code},,yes" for code in codes]
    return ("\n".join(lines) + "\n").encode()


def flights(rows: int, codes: list[str]) -> list[dict]:
    """`rows` flights of YEAR, row n with the centre codes[n % len(codes)]: the stand-in's
    own seeded rows of SOURCE_YEAR (valid ones and its few defects, about 0.6 %) cycled
    and moved to YEAR, each with a ticket number of its own."""
    from webapp.standalone.tableau_standin.dataset import build_dataset

    pattern = [record.values for record in build_dataset() if record.year == SOURCE_YEAR]
    dated = ("IN_Departure date", "IN_Booking date")
    moved = []
    for values in pattern:
        values = dict(values)
        for caption in dated:
            text = str(values[caption])
            if text.startswith(SOURCE_YEAR):  # a booking may be in the year before
                values[caption] = f"{YEAR}{text[4:]}"
            else:
                values[caption] = f"{YEAR - 1}{text[4:]}"
        moved.append(values)
    count = len(codes)
    return [{**moved[n % len(moved)], CENTRE: codes[n % count], TICKET: f"724{n:010d}"}
            for n in range(rows)]


def one_centre(rows: list[dict], code: str) -> list[dict]:
    """The same rows, every one with the centre `code`."""
    return [{**row, CENTRE: code} for row in rows]


@dataclass
class Run:
    body: dict
    sampler: PeakRss
    wall_s: float  # from the request to the job's end, seen from here

    @property
    def processing_s(self) -> float:
        """The worker's time: processing_started_at → completed_at."""
        started = datetime.fromisoformat(self.body["processing_started_at"])
        completed = datetime.fromisoformat(self.body["completed_at"])
        return (completed - started).total_seconds()


def sync_and_wait(client, headers: dict, database_url: str, worker_pid: int,
                  path: str, body: dict) -> Run:
    sampler = PeakRss(worker_pid)
    sampler.start()
    started = time.perf_counter()
    response = client.post(path, headers=headers, json=body)
    assert response.status_code == 202, response.get_json()
    job_id = response.get_json()["job_id"]
    # The job row, not the status API: polling the API would take CPU from the job.
    with psycopg.connect(database_url, autocommit=True) as watch:
        while watch.execute("SELECT status FROM data_ingestion_jobs WHERE id = %s",
                            (job_id,)).fetchone()[0] in ("pending", "processing"):
            time.sleep(0.05)
    wall = time.perf_counter() - started
    sampler.stop()
    final = client.get(f"/api/v1/sync/status/{job_id}", headers=headers).get_json()
    if final["status"] != "completed":
        raise SystemExit(f"job {job_id} ended {final['status']}: {final['message']}")
    return Run(final, sampler, wall)


def empty_entries(database_url: str) -> None:
    """No entries, no counts, no undo copies; vacuumed; then a checkpoint."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("TRUNCATE data_entries, module_entry_counts, replaced_entries")
        conn.execute("VACUUM ANALYZE data_entries")
    checkpoint(database_url)


def travel_module(database_url: str, code: str) -> int:
    with psycopg.connect(database_url) as conn:
        return conn.execute(
            "SELECT m.id FROM modules m JOIN inventories i ON i.id = m.inventory_id "
            "JOIN units u ON u.id = i.unit_id WHERE u.code = %s AND i.year = %s "
            "AND m.module_type = 'travel'", (code, YEAR)).fetchone()[0]


def prepare(app, database_url: str, codes: list[str]) -> str:
    """Migrate, seed, import the units, create and open YEAR; an admin's API token."""
    from flask_migrate import upgrade

    from webapp.cli import create_user, seed_demo
    from webapp.extensions import db
    from webapp.models import ApiToken
    from webapp.organisation.units import import_units_file
    from webapp.organisation.years import create_year, open_year

    with app.app_context():
        upgrade()
        seed_demo(2025)
        result = import_units_file(io.BytesIO(units_csv(codes)))
        assert not result.errors, result.errors[:3]
        created = create_year(YEAR)
        open_year(YEAR)
        db.session.commit()
        admin = create_user("bench-admin@example.org", "bench-pw", admin=True)
        row, token = ApiToken.issue(admin, "bench")
        db.session.add(row)
        db.session.commit()
    print(f"{len(codes):,} units imported; the year {YEAR} for {created.inventories:,} "
          f"active units ({created.modules:,} modules)")
    return token


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--units", type=int, default=500)
    parser.add_argument("--no-replace", dest="replace", action="store_false",
                        help="skip the runs that replace a load of the same rows")
    args = parser.parse_args()
    report_load("before")
    workdir = Path(tempfile.mkdtemp(prefix="carbon-bench-"))
    database_url, redis_url, servers = start_servers(workdir)

    from webapp.standalone.tableau_standin.server import StandIn

    codes = unit_codes(args.units)
    started = time.perf_counter()
    spread = flights(args.rows, codes)
    single = one_centre(spread, codes[0])
    print(f"generated {args.rows:,} flights of {YEAR} over {args.units:,} centres, and the "
          f"same with one centre, in {time.perf_counter() - started:.1f} s")
    # One stand-in; its rows are switched between the two kinds of sync (it reads
    # `rows` at each query).
    standin = StandIn(records=None)
    standin.start()
    os.environ.update(DATABASE_URL=database_url, REDIS_URL=redis_url, LOG_LEVEL="WARNING",
                      RECALCULATE_AFTER_LOADS="0",  # the loads alone are timed
                      **{**standin.settings(), "TABLEAU_TIMEOUT_S": "300"})
    worker = None
    try:
        from webapp import create_app

        app = create_app()
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the stand-in's requests
        token = prepare(app, database_url, codes)
        module_id = travel_module(database_url, codes[0])
        worker = start_worker(redis_url, f"bench-feeds-{os.getpid()}")
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        kinds = {
            "institution": (spread, f"/api/v1/sync/institution/{YEAR}",
                            {"provider_type": "tableau_api", "module_type": "travel"}),
            "one unit": (single, f"/api/v1/sync/data-entries/{module_id}",
                         {"provider_type": "tableau_api", "year": YEAR,
                          "filters": {"centre_financier": [codes[0]]}}),
        }

        def run(kind: str) -> Run:
            rows, path, body = kinds[kind]
            standin.rows = rows
            return sync_and_wait(client, headers, database_url, worker.pid, path, body)

        def measure(replacing: bool) -> dict[str, list[Run]]:
            """RUNS of each kind, in turns, each into an empty data_entries or, when
            `replacing`, over an untimed load of the same rows by the same kind."""
            runs: dict[str, list[Run]] = {kind: [] for kind in kinds}
            for _ in range(RUNS):
                for kind in kinds:
                    empty_entries(database_url)
                    if replacing:
                        run(kind)
                        with psycopg.connect(database_url, autocommit=True) as conn:
                            conn.execute("VACUUM ANALYZE data_entries")
                        checkpoint(database_url)
                    runs[kind].append(run(kind))
            return runs

        report(measure(False), args.rows, "into an empty data_entries")
        if args.replace:
            report(measure(True), args.rows, "each replacing a load of the same rows")
    finally:
        report_load("after")
        if worker is not None:
            worker.terminate()
            worker.wait(10)
        standin.stop()
        stop_servers(servers, workdir)


def report(runs: dict[str, list[Run]], rows: int, how: str) -> None:
    mb = 2**20
    print(f"{rows:,} flights, {how}, best of {RUNS} (worker: processing_started_at → "
          "completed_at):")
    best = {}
    for kind, done in runs.items():
        fastest = min(done, key=lambda r: r.processing_s)
        best[kind] = rows / fastest.processing_s
        counts = fastest.body["counts"]
        print(f"  {kind:<12} {best[kind]:10,.0f} rows/s (runs "
              f"{', '.join(f'{r.processing_s:.2f}' for r in done)} s; request → end "
              f"{min(r.wall_s for r in done):.2f} s); work horse peak RSS "
              f"{', '.join(f'{r.sampler.peak_horse / mb:.0f}' for r in done)} MB")
        units = len(counts.get("by_unit") or {}) or 1
        print(f"               inserted {counts['inserted']:,}, deleted "
              f"{counts['deleted']:,}, skipped {counts.get('skipped', 0):,}, "
              f"{units:,} unit{'s' if units != 1 else ''}: {fastest.body['message'][:90]}")
    ratio = best["institution"] / best["one unit"]
    print(f"  ratio institution / one unit: {ratio:.2f}  (target ≥ 0.8)")
    peaks = {kind: max(r.sampler.peak_horse for r in done) / mb for kind, done in runs.items()}
    print(f"  work horse peak RSS, the highest of each: {peaks['institution']:.0f} MB against "
          f"{peaks['one unit']:.0f} MB, {peaks['institution'] - peaks['one unit']:+.0f} MB  "
          "(target: flat, a few MB)")


if __name__ == "__main__":
    main()
