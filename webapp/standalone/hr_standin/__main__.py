"""Run the HR stand-in by hand: `python -m webapp.standalone.hr_standin --port 8766`.

It prints the HR_* variables to export so the app syncs from it. Faults can be switched
on while it runs, e.g.
    curl -X POST localhost:8766/_standin/control -d '{"throttle_page": 2}' \
         -H 'Content-Type: application/json'
"""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import threading

from webapp.standalone.hr_standin.dataset import UNITS, YEARS, default_dataset
from webapp.standalone.hr_standin.server import HrStandIn


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m webapp.standalone.hr_standin",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8766, help="0 picks a free port")
    args = parser.parse_args(argv)

    standin = HrStandIn(host=args.host, port=args.port)
    try:
        standin.start()
    except OSError as error:
        sys.exit(f"Cannot listen on {args.host}:{args.port}: {error.strerror}. "
                 "Choose another --port (0 picks a free one).")
    print(f"HR stand-in on {standin.base_url} ({len(default_dataset())} people in "
          f"{len(UNITS)} units, years {YEARS[0]}-{YEARS[-1]}).")
    print("Point Carbon Sync at it with:\n")
    for key, value in standin.settings().items():
        print(f"export {key}={shlex.quote(value)}")
    print("\nSwitches: POST /_standin/control with JSON such as "
          '{"throttle_page": 2, "retry_after": "1"}, {"error_page": 2, "error_count": 99}, '
          '{"expire_token_after": 1}, {"refuse_credentials": true}, {"delay_s": 40}, '
          '{"token_lifetime_s": 5}, {"reset": true}. Ctrl-C stops.', flush=True)

    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        standin.stop()


if __name__ == "__main__":
    main()
