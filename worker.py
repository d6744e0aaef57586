"""Start an RQ worker for ingestion jobs inside an app context.

Run as many as you like, on as many machines as you like: they share one Redis and one
PostgreSQL, and any worker can run any job (uploads live in PostgreSQL). Each worker
also runs the reaper, which fails jobs whose worker died and requeues lost pending jobs.
A Redis outage does not end the worker: it reconnects with backoff (jobs/worker.py).

    python worker.py [--name NAME] [--burst] [QUEUE ...]
"""

from __future__ import annotations

import argparse
import os
import socket

from webapp import create_app
from webapp.extensions import redis_connection
from webapp.jobs.reaper import Reaper
from webapp.jobs.worker import run_worker
from webapp.schedules.firing import Scheduler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("queues", nargs="*", help="queues to listen on (default: ingestion)")
    parser.add_argument("--name", help="worker name shown by `rq info`")
    parser.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    args = parser.parse_args()

    app = create_app()
    with app.app_context():
        name = args.name or f"carbon-{socket.gethostname()}-{os.getpid()}"
        Reaper(app).start()
        if app.config["SCHEDULER_INTERVAL_S"] > 0:  # 0: a worker kept off schedules
            Scheduler(app).start()
        run_worker(app, redis_connection(), args.queues or [app.config["RQ_QUEUE"]], name,
                   burst=args.burst)


if __name__ == "__main__":
    main()
