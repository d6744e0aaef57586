"""Poll latency under load: 50 concurrent pollers of a running job's status, against
50 concurrent pollers of /healthz, in the same run, on the same gunicorn server.

    .venv/bin/python bench/poll.py [--pollers 50] [--rounds 3] [--seconds 4]

While a large CSV job runs in a real worker, the rounds alternate: healthz, status,
healthz, status, ... so both see the same load from the job. Prints the p50/p99 of each
and the ratio of the p99s. Target (issue #12): p99 status ≤ 1.5 × p99 healthz.
Uses DATABASE_URL / REDIS_URL when set, else private servers in a temporary directory.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ingest import ROOT, make_csv  # noqa: E402
from servers import report_load, start_servers, start_worker, stop_servers  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {timeout_s:.0f} s")


def poll_round(url: str, headers: dict, pollers: int, seconds: float) -> list[float]:
    """`pollers` threads each polling `url` back to back for `seconds`; latencies in ms."""
    latencies: list[float] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds
    failures: list[str] = []

    def poll() -> None:
        session = requests.Session()
        mine = []
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            response = session.get(url, headers=headers, timeout=30)
            mine.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                failures.append(f"{url}: {response.status_code}")
            time.sleep(0.05)  # a poller, not a flood: about what a page's panel does x20
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=poll) for _ in range(pollers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise SystemExit(f"{len(failures)} failed polls, e.g. {failures[0]}")
    return latencies


def p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100)[98]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pollers", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rows", type=int, default=2_000_000,
                        help="size of the job that runs while polling")
    args = parser.parse_args()
    report_load("before")
    workdir = Path(tempfile.mkdtemp(prefix="carbon-poll-"))
    database_url, redis_url, servers = start_servers(workdir)
    processes = []
    os.environ.update(DATABASE_URL=database_url, REDIS_URL=redis_url,
                      UPLOAD_MAX_MB="1024", LOG_LEVEL="WARNING")
    try:
        from flask_migrate import upgrade

        from webapp import create_app
        from webapp.cli import create_user, seed_demo
        from webapp.extensions import db
        from webapp.models import ApiToken
        from webapp.organisation.units import get_unit

        app = create_app()
        with app.app_context():
            upgrade()
            seed_demo(2025)
            user = create_user(f"poll-{os.getpid()}@example.org", "bench", unit=get_unit("F0892"),
                               role="editor")
            token_row, token = ApiToken.issue(user, "bench")
            db.session.add(token_row)
            db.session.commit()
        headers = {"Authorization": f"Bearer {token}"}

        port = free_port()
        base = f"http://127.0.0.1:{port}/api/v1"
        # As README's production line: gunicorn with worker processes and threads.
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", "2", "--threads", "8", "-b",
             f"127.0.0.1:{port}", "wsgi:app"], cwd=ROOT, env=os.environ,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        processes.append(start_worker(redis_url, f"poll-bench-{os.getpid()}"))
        wait_for_http(f"{base}/healthz")

        csv_path = workdir / "travel.csv"
        make_csv(csv_path, args.rows)
        with csv_path.open("rb") as upload:
            response = requests.post(f"{base}/sync/data-entries/2", headers=headers,
                                     files={"file": ("travel.csv", upload)},
                                     data={"provider_type": "csv_upload", "year": "2025"},
                                     timeout=600)
        if response.status_code != 202:
            raise SystemExit(f"upload refused: {response.status_code} {response.text}")
        job_id = response.json()["job_id"]
        status_url = f"{base}/sync/status/{job_id}"
        while requests.get(status_url, headers=headers, timeout=30).json()["status"] != \
                "processing":
            time.sleep(0.1)

        healthz, status = [], []
        for _ in range(args.rounds):
            healthz += poll_round(f"{base}/healthz", {}, args.pollers, args.seconds)
            status += poll_round(status_url, headers, args.pollers, args.seconds)
        with psycopg.connect(database_url) as conn:
            state = conn.execute("SELECT status FROM data_ingestion_jobs WHERE id = %s",
                                 (job_id,)).fetchone()[0]
        print(f"{args.pollers} pollers, {args.rounds} rounds of {args.seconds:.0f} s each, "
              f"while job {job_id} ({args.rows:,} rows) ran; it is {state} at the end")
        for label, values in (("healthz", healthz), ("status ", status)):
            print(f"  {label}: {len(values):6,} polls  p50 {statistics.median(values):7.1f} ms"
                  f"  p99 {p99(values):7.1f} ms")
        ratio = p99(status) / p99(healthz)
        print(f"  ratio p99 status / p99 healthz: {ratio:.2f}  (target ≤ 1.5)")
        if state != "processing":
            print("  (the job ended before the last round: pass a larger --rows)")
    finally:
        report_load("after")
        for process in processes:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:  # a worker finishing its job: not worth waiting
                process.kill()
                process.wait()
        stop_servers(servers, workdir)


if __name__ == "__main__":
    main()
