"""A WSGI server of our own on a daemon thread: what the stand-ins (Tableau, HR) share,
for the tests, `make demo` and running one by hand."""

from __future__ import annotations

import json
import shlex
import signal
import socket
import sys
import threading
from dataclasses import asdict, fields
from typing import Any

from werkzeug.serving import make_server, select_address_family
from werkzeug.wrappers import Request, Response


class ThreadedServer:
    """Serves `self._wsgi` on `host:port` (0: a free port) from a daemon thread.
    Subclasses set `thread_name` and define `_wsgi(environ, start_response)`."""

    thread_name = "standin"

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.host, self.port = host, port
        self._server = None
        self._thread: threading.Thread | None = None

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        raise NotImplementedError

    def start(self) -> str:
        """Serve from a thread; returns the base URL.

        Raises:
            OSError: the port is taken (errno EADDRINUSE): the caller decides what then.
        """
        # Bound here, not by make_server: on a taken port it prints and calls sys.exit().
        family = select_address_family(self.host, self.port)
        with socket.create_server((self.host, self.port), family=family) as listener:
            self._server = make_server(self.host, self.port, self._wsgi, threaded=True,
                                       fd=listener.fileno())  # it serves a duplicate
        self.port = self._server.port  # the one picked, if port was 0
        # A short poll interval makes stop() quick, so a server per test stays cheap.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        name=self.thread_name, daemon=True)
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def settings(self) -> dict[str, str]:
        """The settings that point the app at this server."""
        raise NotImplementedError


class SwitchedStandIn(ThreadedServer):
    """A stand-in with fault switches: `self.faults`, a dataclass of `faults_type`, set by
    configure(), or by POST /_standin/control with JSON ({"reset": true} clears them)
    when running by hand; `_state()` answers GET /_standin/state."""

    faults_type: type

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        super().__init__(host, port)
        self.faults = self.faults_type()
        self._lock = threading.Lock()

    def configure(self, **switches: Any) -> None:
        """Set fault switches, e.g. configure(throttle=2)."""
        unknown = set(switches) - {f.name for f in fields(self.faults_type)}
        if unknown:
            raise TypeError(f"unknown stand-in switches: {', '.join(sorted(unknown))}")
        with self._lock:
            for name, value in switches.items():
                setattr(self.faults, name, value)

    def reset(self) -> None:
        """Clear the faults (subclasses clear what they recorded too)."""
        with self._lock:
            self.faults = self.faults_type()

    def state(self) -> dict[str, Any]:
        """What GET /_standin/state answers besides the faults."""
        return {}

    def _control(self, request: Request) -> Response:
        switches = request.get_json(silent=True) or {}
        if switches.pop("reset", False):
            self.reset()
        try:
            self.configure(**switches)
        except TypeError as error:
            return _json({"error": str(error)}, 400)
        return self._state(request)

    def _state(self, request: Request) -> Response:
        with self._lock:
            return _json({"faults": asdict(self.faults), **self.state()})


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


def serve_by_hand(server: ThreadedServer, described: str, switches: str) -> None:
    """`python -m webapp.standalone.<stand-in>`: start `server`, print what it is and the
    variables to export, then serve until Ctrl-C or SIGTERM."""
    try:
        server.start()
    except OSError as error:
        sys.exit(f"Cannot listen on {server.host}:{server.port}: {error.strerror}. "
                 "Choose another --port (0 picks a free one).")
    print(f"{described} on {server.base_url}.")
    print("Point Carbon Sync at it with:\n")
    for key, value in server.settings().items():
        print(f"export {key}={shlex.quote(value)}")
    print(f"\nSwitches: {switches} Ctrl-C stops.", flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
