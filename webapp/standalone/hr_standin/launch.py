"""Starting the HR stand-in for `make demo`, the way the launcher starts Tableau's."""

from __future__ import annotations

from webapp.standalone.hr_standin.server import HrStandIn
from webapp.standalone.ports import start_on_port

DEFAULT_HR_STANDIN_PORT = 8767  # beside the Tableau stand-in's 8765 and sign-on's 8766


def start_hr_standin() -> HrStandIn:
    """The stand-in on HR_STANDIN_PORT if set, else on DEFAULT_HR_STANDIN_PORT or, when
    that is taken (say by another `make demo`), on any free port; the app (and the
    workers the launcher starts after this) is pointed at it through os.environ.

    Raises:
        SystemExit: HR_STANDIN_PORT is not a port number, or is taken.
    """
    return start_on_port("HR stand-in", "HR_STANDIN_PORT", DEFAULT_HR_STANDIN_PORT,
                         lambda port: HrStandIn(port=port))
