"""Starting the HR stand-in for `make demo`, the way the launcher starts Tableau's."""

from __future__ import annotations

import errno
import os

from webapp.standalone.hr_standin.server import HrStandIn

DEFAULT_HR_STANDIN_PORT = 8766  # next to the Tableau stand-in's 8765


def start_hr_standin() -> HrStandIn:
    """The stand-in on HR_STANDIN_PORT if set, else on DEFAULT_HR_STANDIN_PORT or, when
    that is taken (say by another `make demo`), on any free port; the app (and the
    workers the launcher starts after this) is pointed at it through os.environ.

    Raises:
        SystemExit: HR_STANDIN_PORT is not a port number, or is taken.
    """
    asked = os.environ.get("HR_STANDIN_PORT", "").strip()
    if asked and not asked.isdigit():
        raise SystemExit(f"HR_STANDIN_PORT must be a port number, got {asked!r}.")
    standin = HrStandIn(port=int(asked or DEFAULT_HR_STANDIN_PORT))
    try:
        standin.start()
    except OSError as error:
        if error.errno != errno.EADDRINUSE:
            raise
        if asked:  # the operator chose it: a different port would surprise them
            raise SystemExit(f"HR_STANDIN_PORT={asked} is in use by another program: stop "
                             "it, choose another port, or unset HR_STANDIN_PORT to let the "
                             "stand-in pick a free one.") from None
        standin = HrStandIn(port=0)
        standin.start()
        print(f"Port {DEFAULT_HR_STANDIN_PORT} is taken: the HR stand-in listens on "
              f"{standin.base_url} instead.", flush=True)
    os.environ.update(standin.settings())
    return standin
