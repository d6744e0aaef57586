"""Real HTTP(S) listeners on 127.0.0.1 standing in for webhook receivers: each records
what reached it (method, path, headers, JSON body, TLS server name) and answers with the
statuses and headers a test gives it."""

from __future__ import annotations

import json
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

TLS_DIR = Path(__file__).resolve().parent.parent / "data" / "tls"
# A test CA and a certificate for "localhost" (no IP address) it signed, valid until 2126;
# made once with the openssl command line. Only tests use them, only on loopback.
TEST_CA = TLS_DIR / "ca.pem"
LOCALHOST_CERT = TLS_DIR / "localhost.pem"


@dataclass
class Hit:
    method: str
    path: str
    headers: dict[str, str]
    body: dict | None
    server_name: str | None


@dataclass
class Listener:
    """Answers each request with the next of `answers` (status, headers); the last repeats."""

    answers: list[tuple[int, dict[str, str]]] = field(default_factory=lambda: [(204, {})])
    tls: bool = False
    hits: list[Hit] = field(default_factory=list)
    server_names: list[str | None] = field(default_factory=list)

    def __post_init__(self) -> None:
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                listener.hits.append(Hit(
                    self.command, self.path, dict(self.headers),
                    json.loads(raw) if raw else None,
                    listener.server_names[-1] if listener.server_names else None))
                status, headers = listener.answers[min(len(listener.hits),
                                                       len(listener.answers)) - 1]
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = do_PUT = _answer  # noqa: N815 - http.server's names

            def log_message(self, *args):  # keep the test output quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if self.tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(LOCALHOST_CERT)
            context.sni_callback = lambda _sock, name, _ctx: self.server_names.append(name)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/hook", host: str = "127.0.0.1") -> str:
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}{path}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
