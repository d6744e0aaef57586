"""An HR API stand-in that speaks the real protocol on 127.0.0.1.

- `POST /oauth/token`: OAuth2 client credentials (RFC 6749 §4.4), the client
  authenticated by HTTP Basic or by form fields; answers a bearer token that expires.
- `GET /api/v1/headcount?year=&unit=&page_size=&page=`: the year's records (`unit` may
  repeat), as `{"items": [...], "next": absolute URL or null, "total": n}`.

Faults are switched on with `configure(...)` (or POST /_standin/control when run by
hand); every request is recorded, so tests can assert on exactly what the client sent.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from webapp.standalone.hr_standin.dataset import PersonRecord, default_dataset
from webapp.standalone.serving import SwitchedStandIn

MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100


@dataclass(frozen=True)
class Client:
    """The OAuth2 client the stand-in knows."""

    client_id: str = "carbon-sync-hr-reader"
    client_secret: str = field(default="hr-standin-secret-for-tests-only-0123456789",
                               repr=False)


@dataclass
class Faults:
    """Switches. Counted faults count down one per matching request."""

    refuse_credentials: bool = False  # the token endpoint says invalid_client to anyone
    token_errors: int = 0  # next N token requests answer 503
    token_lifetime_s: int = 3600  # expires_in of the tokens issued from now on
    expire_token_after: int | None = None  # a token dies after N headcount requests
    throttle_page: int | None = None  # this page answers 429 ...
    throttle_count: int = 1  # ... this many times
    retry_after: str | None = "1"  # Retry-After sent with a 429 (None: no header)
    error_page: int | None = None  # this page answers error_status ...
    error_count: int = 1  # ... this many times (a large number: a permanent failure)
    error_status: int = 503
    delay_s: float = 0.0  # every request sleeps this long before answering
    next_base_url: str | None = None  # next links point there (another host, say)
    ignore_unit_filter: bool = False  # answer every unit's people whatever `unit` asks


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    args: dict[str, list[str]]
    headers: dict[str, str]
    form: dict[str, str]


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json",
                    headers=headers)


def oauth_error(status: int, error: str, description: str) -> Response:
    """RFC 6749 §5.2 error body; a 401 also says how to authenticate."""
    headers = {"WWW-Authenticate": 'Basic realm="hr"'} if status == 401 else None
    return _json({"error": error, "error_description": description}, status, headers)


def _basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        user, _, password = base64.b64decode(encoded).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    # Taken as sent: RFC 6749 §2.3.1 form-encodes both, but clients (Authlib among
    # them) and servers commonly do not, and our test credentials need neither.
    return user, password


class HrStandIn(SwitchedStandIn):
    """Start with `start()` (returns the base URL) or as a context manager."""

    thread_name = "hr-standin"
    faults_type = Faults

    def __init__(self, client: Client | None = None, host: str = "127.0.0.1", port: int = 0,
                 records: tuple[PersonRecord, ...] | None = None):
        self.client = client or Client()
        super().__init__(host, port)
        self.records = list(records or default_dataset())
        self.requests: list[Recorded] = []
        self.tokens_issued = 0
        self._tokens: dict[str, list[float]] = {}  # token -> [expires at, requests made]
        self._urls = Map([
            Rule("/oauth/token", endpoint="token", methods=["POST"]),
            Rule("/api/v1/headcount", endpoint="headcount", methods=["GET"]),
            Rule("/_standin/control", endpoint="control", methods=["POST"]),
            Rule("/_standin/state", endpoint="state", methods=["GET"]),
        ])

    # -- lifecycle ---------------------------------------------------------------------

    def settings(self) -> dict[str, str]:
        """The HR_* values that point the app at this stand-in."""
        return {"HR_API_URL": self.base_url, "HR_CLIENT_ID": self.client.client_id,
                "HR_CLIENT_SECRET": self.client.client_secret, "HR_TIMEOUT_S": "30"}

    # -- switches and inspection -------------------------------------------------------
    def reset(self) -> None:
        """Clear faults, recorded requests and tokens."""
        super().reset()
        with self._lock:
            self.requests.clear()
            self.tokens_issued = 0
            self._tokens.clear()

    def expire_tokens(self) -> None:
        """Every token issued so far stops working (as after a key rotation)."""
        with self._lock:
            self._tokens.clear()

    def requests_to(self, path: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    # -- HTTP --------------------------------------------------------------------------
    def _wsgi(self, environ: dict, start_response: Any) -> Any:
        request = Request(environ)
        try:
            endpoint, _ = self._urls.bind_to_environ(environ).match()
        except HTTPException as error:
            return error(environ, start_response)
        if endpoint in ("control", "state"):
            return getattr(self, f"_{endpoint}")(request)(environ, start_response)
        with self._lock:
            self.requests.append(Recorded(request.method, request.path,
                                          request.args.to_dict(flat=False),
                                          dict(request.headers), request.form.to_dict()))
            delay = self.faults.delay_s
        if delay:
            time.sleep(delay)
        return getattr(self, f"_{endpoint}")(request)(environ, start_response)

    def _token(self, request: Request) -> Response:
        with self._lock:
            failing = self.faults.token_errors > 0
            if failing:
                self.faults.token_errors -= 1
            refuse, lifetime = self.faults.refuse_credentials, self.faults.token_lifetime_s
        if failing:
            return oauth_error(503, "temporarily_unavailable", "Try again later.")
        credentials = (_basic_credentials(request.headers.get("Authorization", ""))
                       or (request.form.get("client_id", ""),
                           request.form.get("client_secret", "")))
        if refuse or credentials != (self.client.client_id, self.client.client_secret):
            return oauth_error(401, "invalid_client", "Client authentication failed.")
        if request.form.get("grant_type") != "client_credentials":
            return oauth_error(400, "unsupported_grant_type",
                               "Only client_credentials is supported.")
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = [time.monotonic() + lifetime, 0]
            self.tokens_issued += 1
        return _json({"access_token": token, "token_type": "Bearer", "expires_in": lifetime},
                     headers={"Cache-Control": "no-store"})

    def _token_error(self, request: Request) -> Response | None:
        """401 unless the bearer token is live; counts the request against it."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        with self._lock:
            state = self._tokens.get(token) if scheme.lower() == "bearer" else None
            if state is not None:
                state[1] += 1
                limit = self.faults.expire_token_after
                if time.monotonic() >= state[0] or (limit is not None and state[1] > limit):
                    del self._tokens[token]
                    state = None
        if state is None:
            return _json({"error": "invalid_token", "error_description": "The access "
                          "token is missing, unknown or expired."}, 401,
                         {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        return None

    def _page_fault(self, page: int) -> Response | None:
        with self._lock:
            f = self.faults
            throttled = f.throttle_page == page and f.throttle_count > 0
            failing = not throttled and f.error_page == page and f.error_count > 0
            if throttled:
                f.throttle_count -= 1
            if failing:
                f.error_count -= 1
            retry_after, status = f.retry_after, f.error_status
        if throttled:
            headers = {"Retry-After": retry_after} if retry_after is not None else None
            return _json({"error": "rate_limited"}, 429, headers)
        if failing:
            return _json({"error": "unavailable"}, status)
        return None

    def _headcount(self, request: Request) -> Response:
        error = self._token_error(request)
        if error is not None:
            return error
        try:
            year = int(request.args["year"])
            page = int(request.args.get("page", "1"))
            size = int(request.args.get("page_size", str(DEFAULT_PAGE_SIZE)))
        except (KeyError, ValueError):
            return _json({"error": "invalid_request",
                          "error_description": "year is required; year, page and "
                                               "page_size are whole numbers."}, 400)
        if page < 1 or not 1 <= size <= MAX_PAGE_SIZE:
            return _json({"error": "invalid_request", "error_description":
                          f"page >= 1 and page_size 1..{MAX_PAGE_SIZE}."}, 400)
        fault = self._page_fault(page)
        if fault is not None:
            return fault
        units = request.args.getlist("unit")
        wanted = [] if self.faults.ignore_unit_filter else units
        found = [r.values for r in self.records
                 if r.year == year and (not wanted or r.unit in wanted)]
        items = found[(page - 1) * size:page * size]
        next_url = None
        if page * size < len(found):
            base = self.faults.next_base_url or self.base_url
            query = [("year", year), ("page_size", size), ("page", page + 1)]
            next_url = f"{base}/api/v1/headcount?" + urlencode(
                query + [("unit", u) for u in units])
        return _json({"items": items, "next": next_url, "total": len(found)})

    # -- what GET /_standin/state adds to the faults (standalone use) --------------------
    def state(self) -> dict[str, Any]:
        return {"requests": len(self.requests), "tokens": len(self._tokens),
                "tokens_issued": self.tokens_issued}
