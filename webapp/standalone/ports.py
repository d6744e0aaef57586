"""The port of a server `make demo` runs beside the app (the Tableau stand-in, the
sign-on provider): the one the operator names, else a default, else any free one."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from typing import Any


def start_on_port(name: str, variable: str, default: int, make: Callable[[int], Any],
                  caveat: str = "") -> Any:
    """`make(port)`'s server started on the port `variable` names, else on `default` or,
    when that is taken (say by another `make demo`), on any free port; its settings()
    go to the environment that the app and the workers inherit.

    Args:
        make: builds the server for a port (0: a free one); it has start(), which raises
            OSError EADDRINUSE on a taken port, base_url and settings().
        caveat: said after the sentence about a moved server.

    Raises:
        SystemExit: `variable` is not a port number, or is taken.
    """
    asked = os.environ.get(variable, "").strip()
    if asked and not asked.isdigit():
        raise SystemExit(f"{variable} must be a port number, got {asked!r}.")
    server = make(int(asked or default))
    try:
        server.start()
    except OSError as error:
        if error.errno != errno.EADDRINUSE:
            raise
        if asked:  # the operator chose it: a different port would surprise them
            raise SystemExit(f"{variable}={asked} is in use by another program: stop it, "
                             f"choose another port, or unset {variable} to let the "
                             f"{name} pick a free one.") from None
        server = make(0)
        server.start()
        print(f"Port {default} is taken: the {name} listens on {server.base_url} "
              f"instead.{caveat}", flush=True)
    os.environ.update(server.settings())
    return server
