"""`make demo`'s single sign-on provider: a real OpenID Connect provider (the
`oidc-provider-mock` package, from requirements-demo.txt) run in the launcher's
process, so "Log in with your university account" works without a university.

Its sign-in page offers the DEMO_PEOPLE with one click each; their groups claim gives
them memberships of the demo university's units, re-read at each login like a real
provider's. Any other name typed there signs in too, as a person with no unit.
"""

from __future__ import annotations

import secrets
import socket
import threading
import warnings
from dataclasses import dataclass

from werkzeug.serving import BaseWSGIServer, make_server, select_address_family

CLIENT_ID = "carbon-sync-demo"
GROUPS_CLAIM = "groups"


@dataclass(frozen=True)
class DemoPerson:
    sub: str
    email: str
    name: str
    groups: tuple[str, ...]

    def described(self) -> str:
        roles = ", ".join(group.removeprefix("carbon:").replace(":", " of ", 1)
                          for group in self.groups if group.startswith("carbon:"))
        return f"{self.sub:<18} {roles} ({self.email})"

    def claims(self) -> dict[str, object]:
        return {"email": self.email, "name": self.name, "groups": list(self.groups)}


# Their groups name units of the demo university (webapp/organisation/demo_university.py):
# an unknown unit would be ignored at login, which tests/integration/test_demo_sign_on.py
# would see. Their emails are not the local demo accounts': a sign-on whose email belongs
# to a local account is refused (it would take that account over).
DEMO_PEOPLE = (
    DemoPerson("lab-editor", "lab.editor@university.example.org", "Lea Lab-Editor",
               # Another application's group is ignored, as a real directory's would be.
               ("carbon:editor:F1150", "wiki:readers")),
    DemoPerson("institute-manager", "institute.manager@university.example.org",
               "Ivan Institute-Manager", ("carbon:manager:SCI-PHYS",)),
    DemoPerson("school-viewer", "school.viewer@university.example.org",
               "Sara School-Viewer", ("carbon:viewer:SCI",)),
)


class SignOnProvider:
    """Start with `start()` (returns the issuer URL); `stop()` ends it."""

    def __init__(self, port: int = 0):
        self.port = port
        # The provider accepts any secret for an unregistered client; a fresh one per run
        # keeps the app's configuration honest all the same.
        self.client_secret = secrets.token_urlsafe(24)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def issuer(self) -> str:
        # "localhost", not 127.0.0.1 where the app runs: cookies ignore ports, so the
        # provider's cookies must not land on the app's host. (Authlib, like RFC 8252,
        # accepts plain http for a loopback name.)
        return f"http://localhost:{self.port}"

    base_url = issuer  # what the launcher shows for each server it starts

    def start(self) -> str:
        """Serve from a thread; returns the issuer URL.

        Raises:
            OSError: the port is taken (errno EADDRINUSE): the caller decides what then.
        """
        with warnings.catch_warnings():  # its use of Authlib's deprecated modules: not ours
            import authlib.deprecate  # noqa: F401 - its filter says "always": ours comes after

            warnings.simplefilter("ignore", DeprecationWarning)
            from oidc_provider_mock import User, app

        provider = app(require_nonce=True, user_claims=[
            User(sub=person.sub, claims=person.claims()) for person in DEMO_PEOPLE])
        # The package wraps its app in Werkzeug's interactive debugger, a console for
        # whoever reaches the port: a demo serves without it.
        provider.debug = False
        provider.wsgi_app = provider.wsgi_app.app
        host = "127.0.0.1"
        # Bound here, not by make_server: on a taken port it prints and calls sys.exit().
        family = select_address_family(host, self.port)
        with socket.create_server((host, self.port), family=family) as listener:
            self._server = make_server(host, self.port, provider, threaded=True,
                                       fd=listener.fileno())
        self.port = self._server.port
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.1,),
                                        name="sign-on-provider", daemon=True)
        self._thread.start()
        return self.issuer

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def settings(self) -> dict[str, str]:
        """The OIDC_* values that make the app (and its workers) sign in with us."""
        return {"OIDC_ISSUER": self.issuer, "OIDC_CLIENT_ID": CLIENT_ID,
                "OIDC_CLIENT_SECRET": self.client_secret, "OIDC_GROUPS_CLAIM": GROUPS_CLAIM}
