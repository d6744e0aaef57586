"""Organisation benchmark: importing a university of 2,000 units, and creating a year
(the inventory and modules of every active unit, one transaction) for all of them.

    .venv/bin/python bench/organisation.py [--units 2000]

Target (issue #20): creating a year for 2,000 units takes under 5 s. Best of three,
the year removed (untimed) between runs. Uses DATABASE_URL / REDIS_URL when set, else
private servers in a temporary directory.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.servers import report_load, start_servers  # noqa: E402  (after the path is set)

RUNS = 3
YEAR = 2031


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
        from webapp.extensions import db
        from webapp.organisation.units import import_units_file
        from webapp.organisation.years import create_year

        app = create_app()
        with app.app_context():
            upgrade()
            seed_demo(2025)
            started = time.perf_counter()
            result = import_units_file(io.BytesIO(university(args.units)))
            assert not result.errors, result.errors[:3]
            db.session.commit()
            print(f"imported {result.inserted:,} units in {time.perf_counter() - started:.2f} s")
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
    finally:
        report_load("after")
        for server in servers:
            server.stop()


if __name__ == "__main__":
    main()
