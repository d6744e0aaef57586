"""Spreadsheet benchmark (issue #22): which reader, and a workbook through the real path.

    .venv/bin/python bench/spreadsheets.py [--mb 50]

Generates travel rows as an .xlsx of about `--mb` MB (XlsxWriter, constant_memory: dates
as date cells, numbers as numbers, codes as text) and the same rows as CSV. Then:
(a) each reader reads the .xlsx alone, in a subprocess of its own: python-calamine (the
    whole sheet in memory), python-calamine-plus (streamed; the runtime's reader),
    open_table (python-calamine-plus and our cells-as-text conversion), openpyxl's
    read-only mode; and the CSV through open_table for reference. Seconds, rows/s, peak RSS.
(b) the real pipeline (API upload → RQ worker → completed), the .xlsx and the .csv in
    turns, best of 3 each: worker-only rows/s of each, their ratio (target ≥ 0.5) and the
    work horse's peak RSS (target < 250 MB).
Uses DATABASE_URL / REDIS_URL when set, else private servers in a temporary directory.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ingest import (  # noqa: E402  (after the path is set)
    AIRPORTS,
    CLASSES,
    HEADER,
    RUNS,
    bench_app,
    fresh_load,
    peak_rss,
)
from bench.servers import report_load, start_servers, start_worker, stop_servers  # noqa: E402

ROWS_PER_MB = 20_400  # of these travel rows in an .xlsx, measured
MB = 2**20


def travel_rows(count: int):
    """The same rows for both files: Python values as a user types them in Excel."""
    rng = random.Random(7)
    start = date(2025, 1, 1)
    for n in range(count):
        origin, destination = rng.sample(AIRPORTS, 2)
        yield (origin, destination, str(100000 + n % 5000), start + timedelta(days=n % 365),
               1 + n % 3, rng.choice(CLASSES), f"trip {n}, conference",
               round(rng.random() * 900, 2), f"F{n % 40:04d}")


def make_files(xlsx_path: Path, csv_path: Path, rows: int) -> None:
    import xlsxwriter

    book = xlsxwriter.Workbook(str(xlsx_path), {"constant_memory": True})
    sheet = book.add_worksheet("Travel")
    as_date = book.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(0, 0, HEADER)
    with csv_path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        for r, row in enumerate(travel_rows(rows), start=1):
            writer.writerow(row)
            for c, value in enumerate(row):
                if isinstance(value, date):
                    sheet.write_datetime(r, c, value, as_date)
                elif isinstance(value, str):
                    sheet.write_string(r, c, value)
                else:
                    sheet.write_number(r, c, value)
    book.close()


# -- (a) each reader alone, in a subprocess ---------------------------------------------------

def _reader(reader: str, path: str) -> Callable[[], int]:
    """What a subprocess times: a function reading the file with `reader`, returning the
    rows read (the header included). Its imports are done here, before the clock starts."""
    if reader == "python-calamine":
        import python_calamine

        def read() -> int:
            sheet = python_calamine.CalamineWorkbook.from_path(path).get_sheet_by_index(0)
            return sum(1 for _ in sheet.iter_rows())
    elif reader == "python-calamine-plus":
        import python_calamine_plus

        def read() -> int:
            book = python_calamine_plus.CalamineWorkbook.from_path(path)
            return sum(1 for _ in book.stream_sheet_by_index(0))
    elif reader == "openpyxl read-only":
        import openpyxl

        def read() -> int:
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
            return sum(1 for _ in book.worksheets[0].iter_rows(values_only=True))
    elif reader.startswith("open_table"):  # the app's own: cells as text, limits, blank rows
        from webapp.ingestion.providers.csv_upload.spreadsheet import open_table

        def read() -> int:
            with open(path, "rb") as stream:
                table = open_table(stream)
                return 1 + sum(len(numbers) for numbers, _ in table.batches(5000, 8 << 20))
    else:
        raise SystemExit(f"unknown reader {reader}")
    return read


READERS = (("python-calamine", "xlsx"), ("python-calamine-plus", "xlsx"),
           ("open_table (.xlsx, cells as text)", "xlsx"), ("openpyxl read-only", "xlsx"),
           ("open_table (.csv)", "csv"))


def compare_readers(files: dict[str, Path]) -> None:
    print("(a) each reader alone, in its own process:")
    for reader, kind in READERS:
        result = subprocess.run([sys.executable, __file__, "--read", reader, str(files[kind])],
                                capture_output=True, text=True, cwd=ROOT)
        if result.returncode:
            print(f"  {reader}: failed: {result.stderr.strip().splitlines()[-1:]}")
            continue
        found = json.loads(result.stdout)
        print(f"  {reader:<36} {found['seconds']:7.1f} s {found['rows'] / found['seconds']:11,.0f}"
              f" rows/s  peak RSS {found['peak_rss'] / MB:5.0f} MB", flush=True)


# -- (b) through the worker -----------------------------------------------------------------

def through_the_worker(files: dict[str, Path], rows: int, redis_url: str,
                       database_url: str) -> None:
    app, token = bench_app()
    worker = start_worker(redis_url, f"bench-sheets-{os.getpid()}")
    try:
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        runs: dict[str, list] = {"xlsx": [], "csv": []}
        for _ in range(RUNS):  # in turns, so a change in the machine's load hits both
            for kind in ("xlsx", "csv"):
                runs[kind].append(fresh_load(client, headers, database_url, worker.pid,
                                             files[kind]))
    finally:
        worker.terminate()
        worker.wait(10)
    print(f"(b) through the pipeline (API upload → worker → completed), {rows:,} rows, "
          f"in turns, best of {RUNS}:")
    rate = {}
    for kind in ("xlsx", "csv"):
        seconds = [run.finished - run.uploaded for run in runs[kind]]
        rate[kind] = rows / min(seconds)
        horse = max(run.sampler.peak_horse for run in runs[kind])
        print(f"  .{kind:<4} worker only: {rate[kind]:10,.0f} rows/s (runs "
              f"{', '.join(f'{s:.2f}' for s in seconds)} s); work horse peak RSS "
              f"{horse / MB:.0f} MB (target < 250 MB)")
    print(f"  ratio .xlsx / .csv (worker only):  {rate['xlsx'] / rate['csv']:.2f}  "
          "(target ≥ 0.5)")
    print(f"  job {runs['xlsx'][-1].job_id}: {runs['xlsx'][-1].body['message']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=50, help="size of the .xlsx (MB)")
    parser.add_argument("--read", nargs=2, metavar=("READER", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.read:  # a subprocess of compare_readers()
        read = _reader(*args.read)
        started = time.perf_counter()
        rows = read()
        # VmHWM: this process's own peak (ru_maxrss would count the parent's, from the fork).
        print(json.dumps({"rows": rows, "seconds": time.perf_counter() - started,
                          "peak_rss": peak_rss(psutil.Process())}))
        return
    report_load("before")
    workdir = Path(tempfile.mkdtemp(prefix="carbon-bench-sheets-"))
    database_url, redis_url, servers = start_servers(workdir)
    os.environ.update(DATABASE_URL=database_url, REDIS_URL=redis_url, UPLOAD_MAX_MB="1024",
                      LOG_LEVEL="WARNING", RECALCULATE_AFTER_LOADS="0")
    try:
        files = {"xlsx": workdir / "travel.xlsx", "csv": workdir / "travel.csv"}
        rows = int(args.mb * ROWS_PER_MB)
        started = time.perf_counter()
        make_files(files["xlsx"], files["csv"], rows)
        print(f"generated {rows:,} rows: .xlsx {files['xlsx'].stat().st_size / MB:.1f} MB, "
              f".csv {files['csv'].stat().st_size / MB:.1f} MB in "
              f"{time.perf_counter() - started:.0f} s", flush=True)
        compare_readers(files)
        through_the_worker(files, rows, redis_url, database_url)
    finally:
        report_load("after")
        stop_servers(servers, workdir)


if __name__ == "__main__":
    main()
