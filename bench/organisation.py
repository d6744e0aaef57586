"""Organisation benchmark: importing a university of 2,000 units, creating a year (the
inventory and modules of every active unit, one transaction) for all of them, and what
people read once the tree is big: the dashboard and GET /api/v1/units, as an admin and
as a member of one school, with 2,000 units x 3 years against 10 units x 3 years.

    .venv/bin/python bench/organisation.py [--units 2000]

Targets (issue #20): creating a year for 2,000 units takes under 5 s (best of three,
the year removed, untimed, between runs); each page answers within 2x of the small
university's time (median of REQUESTS, through the whole app: login, access, SQL,
templates). Uses DATABASE_URL / REDIS_URL when set, else private servers in a
temporary directory.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.servers import report_load, start_servers, stop_servers  # noqa: E402  (after the path is set)

RUNS = 3
YEAR = 2031
READ_YEARS = (2022, 2023, 2024)  # the years the read benchmark fills
REQUESTS = 15
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def university(units: int) -> bytes:
    """A tree as a directory exports it, children before parents: a root, 10 schools,
    100 institutes, and labs for the rest."""
    lines = ["code,name,parent_code,active"]
    schools, institutes = 10, 100
    for n in range(units - 1 - schools - institutes):
        lines.append(f"L{n:05d},Lab {n},I{n % institutes:03d},{'no' if n % 50 == 0 else 'yes'}")
    lines += [f"I{n:03d},Institute {n},S{n % schools:02d}," for n in range(institutes)]
    lines += [f"S{n:02d},School {n},ROOT," for n in range(schools)]
    lines.append("ROOT,The university,,")
    return ("\n".join(lines) + "\n").encode()


def small_university() -> bytes:
    """The same shape with 10 units: a root, 2 schools, 3 institutes, 4 labs."""
    return (b"code,name,parent_code,active\nROOT,The university,,\n"
            b"S00,School 0,ROOT,\nS01,School 1,ROOT,\nI000,Institute 0,S00,\n"
            b"I001,Institute 1,S01,\nI002,Institute 2,S00,\nL00000,Lab 0,I000,\n"
            b"L00001,Lab 1,I001,\nL00002,Lab 2,I002,\nL00003,Lab 3,I000,\n")


def fill_years(database_url: str) -> None:
    """READ_YEARS for every active unit, open, with a stored emission summary per module
    (what each recalculation writes), as a university's history would have."""
    from webapp.extensions import db
    from webapp.organisation.years import create_year, open_year

    with psycopg.connect(database_url, autocommit=True) as conn:
        for year in READ_YEARS:
            conn.execute("DELETE FROM modules WHERE inventory_id IN "
                         "(SELECT id FROM inventories WHERE year = %s)", (year,))
            conn.execute("DELETE FROM inventories WHERE year = %s", (year,))
            conn.execute("DELETE FROM inventory_years WHERE year = %s", (year,))
    for year in READ_YEARS:
        create_year(year)
        open_year(year)
    db.session.commit()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("INSERT INTO module_emission_summaries (module_id, total_kg_co2eq, "
                     "entries, entries_with_emissions) SELECT id, (id % 997) * 12.5, id % 50, "
                     "id % 50 FROM modules ON CONFLICT (module_id) DO NOTHING")
        conn.execute("VACUUM ANALYZE")


def read_timings(app, member_token: str, admin_token: str, admin_email: str) -> dict:
    """{what: median seconds} of the pages people read, REQUESTS times each."""
    admin = app.test_client()
    token = CSRF_META.search(admin.get("/login").get_data(as_text=True)).group(1)
    assert admin.post("/login", data={"email": admin_email, "password": "bench-pw",
                                      "csrf_token": token}).status_code == 302
    bearer = {"member": {"Authorization": f"Bearer {member_token}"},
              "admin": {"Authorization": f"Bearer {admin_token}"}}
    year = READ_YEARS[-1]
    calls = {
        "dashboard, the university (admin)": (admin, f"/?unit=ROOT&year={year}", {}),
        "dashboard, a school (admin)": (admin, f"/?unit=S00&year={year}", {}),
        "dashboard, search (admin)": (admin, f"/?q=Lab 1&year={year}", {}),
        "GET /api/v1/units?parent=ROOT (admin)": (app.test_client(),
                                                  "/api/v1/units?parent=ROOT",
                                                  bearer["admin"]),
        "GET /api/v1/units?q=Lab (member)": (app.test_client(), "/api/v1/units?q=Lab",
                                             bearer["member"]),
        "GET /api/v1/units?parent= (member)": (app.test_client(), "/api/v1/units?parent=",
                                              bearer["member"]),
        "GET /api/v1/modules?unit=S00 (member)": (app.test_client(),
                                                  f"/api/v1/modules?unit=S00&year={year}",
                                                  bearer["member"]),
    }
    found = {}
    for what, (client, url, headers) in calls.items():
        times = []
        for _ in range(REQUESTS):
            started = time.perf_counter()
            response = client.get(url, headers=headers)
            times.append(time.perf_counter() - started)
            assert response.status_code == 200, (url, response.status_code)
        found[what] = statistics.median(times)
    return found


def import_tree(content: bytes):
    from webapp.extensions import db
    from webapp.organisation.units import import_units_file

    result = import_units_file(io.BytesIO(content))
    assert not result.errors, result.errors[:3]
    db.session.commit()
    return result


def bench_users() -> tuple[list[str], str]:
    """An admin and a viewer of school S00: their API tokens (member's first) and the
    admin's email (the dashboard is read through the admin's session)."""
    from webapp.cli import create_user
    from webapp.extensions import db
    from webapp.models import ApiToken
    from webapp.organisation.units import get_unit

    admin = create_user("bench-admin@example.org", "bench-pw", admin=True)
    member = create_user("bench-member@example.org", "bench-pw", unit=get_unit("S00"),
                         role="viewer")
    tokens = []
    for owner in (member, admin):
        row, clear = ApiToken.issue(owner, "bench")
        db.session.add(row)
        tokens.append(clear)
    db.session.commit()
    return tokens, admin.email


def year_creation(database_url: str) -> None:
    from webapp.extensions import db
    from webapp.organisation.years import create_year

    runs = []
    for _ in range(RUNS):
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("DELETE FROM modules WHERE inventory_id IN "
                         "(SELECT id FROM inventories WHERE year = %s)", (YEAR,))
            conn.execute("DELETE FROM inventories WHERE year = %s", (YEAR,))
            conn.execute("DELETE FROM inventory_years WHERE year = %s", (YEAR,))
            conn.execute("VACUUM ANALYZE inventories")
            conn.execute("VACUUM ANALYZE modules")
        started = time.perf_counter()
        created = create_year(YEAR)
        db.session.commit()
        runs.append(time.perf_counter() - started)
    print(f"a year for {created.inventories:,} active units ({created.modules:,} "
          f"modules), best of {RUNS}: {min(runs):.2f} s "
          f"(runs {', '.join(f'{t:.2f}' for t in runs)} s; target < 5 s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=2000)
    args = parser.parse_args()
    report_load("before")
    workdir = Path(tempfile.mkdtemp(prefix="carbon-bench-"))
    database_url, redis_url, servers = start_servers(workdir)
    os.environ.update(DATABASE_URL=database_url, REDIS_URL=redis_url, LOG_LEVEL="WARNING")
    try:
        from flask_migrate import upgrade

        from webapp import create_app
        from webapp.cli import seed_demo

        app = create_app()
        # Requests are timed outside the app context: inside it they would share its `g`
        # (and its logged-in user) instead of each having its own, as in production.
        with app.app_context():
            upgrade()
            seed_demo(2025)
            import_tree(small_university())  # the small university, read first
            tokens, admin_email = bench_users()
            fill_years(database_url)
        small = read_timings(app, *tokens, admin_email)
        with app.app_context():
            started = time.perf_counter()
            result = import_tree(university(args.units))  # the same codes, and the rest
            print(f"imported {result.inserted:,} units (updated {result.updated:,}) in "
                  f"{time.perf_counter() - started:.2f} s")
            year_creation(database_url)
            fill_years(database_url)
        large = read_timings(app, *tokens, admin_email)
        print(f"reading with {args.units:,} units x {len(READ_YEARS)} years against 10 "
              f"units (median of {REQUESTS}; target <= 2x):")
        for what in small:
            print(f"  {what}: {large[what] * 1000:.1f} ms vs {small[what] * 1000:.1f} ms "
                  f"= {large[what] / small[what]:.2f}x")
    finally:
        report_load("after")
        stop_servers(servers, workdir)


if __name__ == "__main__":
    main()
