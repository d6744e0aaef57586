"""Run the Tableau stand-in by hand: `python -m webapp.standalone.tableau_standin --port 8765`.

It prints the TABLEAU_* variables to export so the app syncs from it. Faults can be
switched on while it runs, e.g.
    curl -X POST localhost:8765/_standin/control -d '{"throttle": 2}' \
         -H 'Content-Type: application/json'
"""

from __future__ import annotations

import argparse

from webapp.standalone.serving import serve_by_hand
from webapp.standalone.tableau_standin.dataset import YEARS, default_dataset
from webapp.standalone.tableau_standin.server import StandIn


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m webapp.standalone.tableau_standin",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    args = parser.parse_args(argv)

    serve_by_hand(
        StandIn(host=args.host, port=args.port),
        f"Tableau stand-in ({len(default_dataset())} flights, years {YEARS[0]}-{YEARS[-1]})",
        "POST /_standin/control with JSON such as "
        '{"refuse_signin": true}, {"throttle": 2, "retry_after": 1}, '
        '{"server_errors": 4}, {"delay_s": 40}, {"expire_token_after": 1}, '
        '{"drop_caption": "IN_Segment class"}, {"reset": true}.')

if __name__ == "__main__":
    main()
