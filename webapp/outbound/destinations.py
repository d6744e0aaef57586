"""A user-chosen URL read as where an outbound call would go, and refused (422, naming the
field and why) when it must not go there: not http(s), a user name or password in it, a
host that does not resolve, or any address of the host that is not public.

The same check runs when the URL is stored and again right before each call: DNS may
answer differently later (a rebinding attack answers a public address first, then
127.0.0.1), so only the addresses checked just before the call are ever connected to.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from webapp.errors import Invalid
from webapp.outbound.addresses import IPAddress, not_public, resolve
from webapp.text import clip_cell

MAX_URL_LENGTH = 2000
DEFAULT_PORTS = {"http": 80, "https": 443}
PRIVATE_OPT_IN = "WEBHOOK_ALLOW_PRIVATE=1"


@dataclass(frozen=True)
class Destination:
    """The parts of a checked URL a connection needs."""

    scheme: str
    host: str  # ASCII (IDNA), without brackets: for DNS, TLS server name and certificate
    port: int
    target: str  # path and query, as the request line carries them
    host_header: str  # what the Host header says: the URL's host, and its port if given
    field: str  # the request field the URL came from, for refusals

    def addresses(self, allow_private: bool) -> list[IPAddress]:
        """The host's addresses, every one checked.

        Raises:
            Invalid: the host does not resolve, or (unless `allow_private`) one of its
                addresses is not public: one is enough for a call to land inside.
        """
        try:
            found = resolve(self.host, self.port)
        except (OSError, UnicodeError):
            found = []
        if not found:
            raise Invalid(f"{self.field} host {clip_cell(self.host)!r} does not resolve to an "
                          "address", field=self.field)
        for address in [] if allow_private else found:
            if reason := not_public(address):
                raise Invalid(
                    f"{self.field} host {clip_cell(self.host)!r} resolves to {address}, "
                    f"{reason}; calls go only to public addresses (a site with an internal "
                    f"receiver sets {PRIVATE_OPT_IN})", field=self.field)
        return found


def destination(url: str, field: str) -> Destination:
    """`url` read as a destination, without any lookup.

    Raises:
        Invalid: not an http(s) URL with a host, or one carrying a user name or password.
    """
    shape = (f"{field} must be an http:// or https:// URL of at most {MAX_URL_LENGTH} "
             "characters, with a host")
    if not isinstance(url, str) or len(url) > MAX_URL_LENGTH or "\x00" in url \
            or any(c.isspace() for c in url):
        raise Invalid(shape, field=field)
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError on a port that is not a number up to 65535
        # A trailing dot names the same host; resolvers and /etc/hosts differ on it.
        host = (parts.hostname or "").rstrip(".").encode("idna").decode("ascii")
    except (ValueError, UnicodeError):
        raise Invalid(f"{shape}; {clip_cell(repr(url))} is not", field=field) from None
    if parts.scheme not in DEFAULT_PORTS or not host:
        raise Invalid(f"{shape}; {clip_cell(repr(url))} is not", field=field)
    if parts.username is not None or parts.password is not None:
        # Not echoed: the point is that it holds a secret. Senders would turn it into an
        # Authorization header, and an address bar into a login prompt.
        raise Invalid(f"{field} must not hold a user name or password (user:password@); "
                      "put a token in the path or query instead", field=field)
    shown = f"[{host}]" if ":" in host else host
    return Destination(
        scheme=parts.scheme, host=host, port=port or DEFAULT_PORTS[parts.scheme],
        target=(parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
        host_header=shown if port is None else f"{shown}:{port}", field=field)


def check(url: str, field: str, allow_private: bool) -> Destination:
    """`url` read and its host's addresses checked: what a request storing it must pass.

    Raises:
        Invalid: as `destination` and `Destination.addresses` say.
    """
    found = destination(url, field)
    found.addresses(allow_private)
    return found
