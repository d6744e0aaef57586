"""Run the HR stand-in by hand: `python -m webapp.standalone.hr_standin --port 8767`.

It prints the HR_* variables to export so the app syncs from it. Faults can be switched
on while it runs, e.g.
    curl -X POST localhost:8767/_standin/control -d '{"throttle_page": 2}' \
         -H 'Content-Type: application/json'
"""

from __future__ import annotations

import argparse

from webapp.standalone.hr_standin.dataset import UNITS, YEARS, default_dataset
from webapp.standalone.hr_standin.server import HrStandIn
from webapp.standalone.serving import serve_by_hand


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m webapp.standalone.hr_standin",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8767, help="0 picks a free port")
    args = parser.parse_args(argv)

    serve_by_hand(
        HrStandIn(host=args.host, port=args.port),
        f"HR stand-in ({len(default_dataset())} people in {len(UNITS)} units, "
        f"years {YEARS[0]}-{YEARS[-1]})",
        "POST /_standin/control with JSON such as "
        '{"throttle_page": 2, "retry_after": "1"}, {"error_page": 2, "error_count": 99}, '
        '{"expire_token_after": 1}, {"refuse_credentials": true}, {"delay_s": 40}, '
        '{"token_lifetime_s": 5}, {"reset": true}.')

if __name__ == "__main__":
    main()
