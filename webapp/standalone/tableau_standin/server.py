"""A Tableau stand-in that speaks the real wire protocol on 127.0.0.1.

REST sign-in/sign-out with Connected App JWT checks as Tableau does them, and the two
VizQL Data Service endpoints over the seeded flights dataset. Faults are switched on
with `configure(...)` (or POST /_standin/control when run standalone); every request
is recorded so tests can assert on exactly what the client sent.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import jwt
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from webapp.standalone.serving import SwitchedStandIn
from webapp.standalone.tableau_standin.dataset import FIELDS, FlightRecord, default_dataset
from webapp.standalone.tableau_standin.vizql import VizqlError, run_query

VIZ_SCOPE = "tableau:viz_data_service:read"
MAX_JWT_LIFETIME_S = 600


@dataclass(frozen=True)
class Identity:
    """The Connected App, user, site and datasource the stand-in trusts."""

    client_id: str = "carbon-sync-standin-app"
    secret_id: str = "standin-secret-id-1"
    # 32+ bytes: an HS256 key shorter than the hash is refused by careful JWT libraries.
    secret_value: str = field(default="standin-secret-value-for-tests-only-0123456789",
                              repr=False)
    username: str = "flights-reader@example.org"
    site: str = "carbon"
    datasource_luid: str = "3f1e2d4c-5b6a-4789-9abc-def012345678"
    api_version: str = "3.24"


@dataclass
class Faults:
    """Switches. Counters (throttle, server_errors) count down one per API request."""

    refuse_signin: bool = False
    throttle: int = 0  # next N API requests answer 429
    retry_after: int | None = 1  # Retry-After seconds sent with a 429 (None: no header)
    server_errors: int = 0  # next N API requests answer server_error_status
    server_error_status: int = 503
    delay_s: float = 0.0  # every API request sleeps this long before answering
    expire_token_after: int | None = None  # a session token dies after N VizQL calls
    drop_caption: str | None = None  # the datasource lost this field


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    json: Any


def _now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def rest_error(status: int, code: str, summary: str, detail: str) -> Response:
    """Tableau REST API error body (JSON flavour)."""
    return _json({"error": {"summary": summary, "detail": detail, "code": code}}, status)


def vizql_error(status: int, code: str, message: str) -> Response:
    """VizQL Data Service error body."""
    return _json({"errorCode": code, "message": message, "datetime": _now_iso()}, status)


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


class StandIn(SwitchedStandIn):
    """Start with `start()` (returns the base URL) or as a context manager."""

    thread_name = "tableau-standin"
    faults_type = Faults

    def __init__(self, identity: Identity | None = None, host: str = "127.0.0.1",
                 port: int = 0, records: tuple[FlightRecord, ...] | None = None):
        self.identity = identity or Identity()
        super().__init__(host, port)
        self.rows = [r.values for r in (records or default_dataset())]
        self.requests: list[Recorded] = []
        self.signin_rejections: list[str] = []
        self.site_id = str(uuid.uuid4())
        self.user_id = str(uuid.uuid4())
        self._tokens: dict[str, int] = {}  # token -> VizQL calls made with it
        self._used_jtis: set[str] = set()
        self._urls = Map([
            Rule("/api/<version>/auth/signin", endpoint="signin", methods=["POST"]),
            Rule("/api/<version>/auth/signout", endpoint="signout", methods=["POST"]),
            Rule("/api/v1/vizql-data-service/read-metadata", endpoint="metadata",
                 methods=["POST"]),
            Rule("/api/v1/vizql-data-service/query-datasource", endpoint="query",
                 methods=["POST"]),
            Rule("/_standin/control", endpoint="control", methods=["POST"]),
            Rule("/_standin/state", endpoint="state", methods=["GET"]),
        ])

    # -- lifecycle ---------------------------------------------------------------------

    def settings(self) -> dict[str, str]:
        """The TABLEAU_* values that point the app at this stand-in."""
        i = self.identity
        return {
            "TABLEAU_SERVER_URL": self.base_url,
            "TABLEAU_SITE_CONTENT_URL": i.site,
            "TABLEAU_API_VERSION": i.api_version,
            "TABLEAU_CONNECTED_APP_CLIENT_ID": i.client_id,
            "TABLEAU_CONNECTED_APP_SECRET_ID": i.secret_id,
            "TABLEAU_CONNECTED_APP_SECRET_VALUE": i.secret_value,
            "TABLEAU_USERNAME": i.username,
            "TABLEAU_FLIGHTS_DATASOURCE_LUID": i.datasource_luid,
            "TABLEAU_VERIFY_SSL": "true",
            "TABLEAU_TIMEOUT_S": "30",
        }

    # -- switches and inspection -------------------------------------------------------
    def reset(self) -> None:
        """Clear faults, recorded requests and sessions (used jtis stay used)."""
        super().reset()
        with self._lock:
            self.requests.clear()
            self.signin_rejections.clear()
            self._tokens.clear()

    def expire_tokens(self) -> None:
        """Every current session token stops working (as after a server-side timeout)."""
        with self._lock:
            self._tokens.clear()

    def requests_to(self, suffix: str) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if r.path.endswith(suffix)]

    @property
    def active_sessions(self) -> int:
        with self._lock:
            return len(self._tokens)

    def captions(self) -> list[str]:
        with self._lock:
            dropped = self.faults.drop_caption
        return [caption for caption, _, _ in FIELDS if caption != dropped]

    # -- HTTP --------------------------------------------------------------------------
    def _wsgi(self, environ: dict, start_response: Any) -> Any:
        request = Request(environ)
        try:
            endpoint, args = self._urls.bind_to_environ(environ).match()
        except HTTPException as error:
            return error(environ, start_response)
        if endpoint in ("control", "state"):
            return getattr(self, f"_{endpoint}")(request)(environ, start_response)
        body = request.get_json(silent=True)
        with self._lock:
            self.requests.append(Recorded(request.method, request.path,
                                          dict(request.headers), body))
        response = self._faulty(request) or getattr(self, f"_{endpoint}")(request, body, **args)
        return response(environ, start_response)

    def _faulty(self, request: Request) -> Response | None:
        """Apply delay, 429 and 5xx switches; None when the request should go through."""
        with self._lock:
            f = self.faults
            delay = f.delay_s
            throttled = f.throttle > 0
            failing = not throttled and f.server_errors > 0
            if throttled:
                f.throttle -= 1
            if failing:
                f.server_errors -= 1
            retry_after, status = f.retry_after, f.server_error_status
        if delay:
            time.sleep(delay)
        vizql = "/vizql-data-service/" in request.path
        if throttled:
            response = (vizql_error(429, "429000", "Too many requests.") if vizql else
                        rest_error(429, "429000", "Too Many Requests", "Rate limit exceeded."))
            if retry_after is not None:
                response.headers["Retry-After"] = str(retry_after)
            return response
        if failing:
            return (vizql_error(status, f"{status}000", "Service unavailable.") if vizql else
                    rest_error(status, f"{status}000", "Server Error", "Try again later."))
        return None

    def _signin(self, request: Request, body: Any, version: str) -> Response:
        credentials = body.get("credentials") if isinstance(body, dict) else None
        if not isinstance(credentials, dict) or not isinstance(credentials.get("jwt"), str):
            return rest_error(400, "400000", "Bad Request",
                              "The request body must hold credentials.jwt and credentials.site.")
        reason = self._check_jwt(credentials["jwt"])
        site = (credentials.get("site") or {}).get("contentUrl")
        if reason is None and site != self.identity.site:
            reason = f"unknown site contentUrl {site!r}"
        if reason is None and self.faults.refuse_signin:
            reason = "sign-in refused by switch"
        if reason is not None:
            with self._lock:
                self.signin_rejections.append(reason)
            return rest_error(401, "401001", "Signin Error",
                              f"Error signing in to Tableau Server ({reason})")
        token = f"{secrets.token_urlsafe(16)}|{secrets.token_urlsafe(24)}|{self.site_id}"
        with self._lock:
            self._tokens[token] = 0
        return _json({"credentials": {
            "site": {"id": self.site_id, "contentUrl": self.identity.site},
            "user": {"id": self.user_id},
            "token": token,
            "estimatedTimeToExpiration": "239:59:59",
        }})

    def _check_jwt(self, token: str) -> str | None:
        """Why Tableau would refuse this JWT, or None if it would accept it."""
        i = self.identity
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            return "malformed JWT"
        if header.get("alg") != "HS256":
            return "alg must be HS256"
        if header.get("kid") != i.secret_id:
            return "unknown secret id (kid)"
        if header.get("iss") != i.client_id:
            return "unknown connected app (header iss)"
        try:
            claims = jwt.decode(token, i.secret_value, algorithms=["HS256"], audience="tableau",
                                issuer=i.client_id,
                                options={"require": ["exp", "jti", "sub", "aud", "iss"]})
        except jwt.PyJWTError as error:
            return f"invalid JWT: {type(error).__name__}"
        if claims["exp"] - time.time() > MAX_JWT_LIFETIME_S:
            return "exp is more than 10 minutes ahead"
        if claims["sub"] != i.username:
            return "unknown user (sub)"
        scopes = claims.get("scp")
        if not isinstance(scopes, list) or VIZ_SCOPE not in scopes:
            return f"scp must list {VIZ_SCOPE}"
        with self._lock:
            if claims["jti"] in self._used_jtis:
                return "jti already used"
            self._used_jtis.add(claims["jti"])
        return None

    def _signout(self, request: Request, body: Any, version: str) -> Response:
        with self._lock:
            self._tokens.pop(request.headers.get("X-Tableau-Auth", ""), None)
        return Response(status=204)

    def _session_error(self, request: Request) -> Response | None:
        """401 unless X-Tableau-Auth holds a live token; counts the call against it."""
        token = request.headers.get("X-Tableau-Auth", "")
        with self._lock:
            if token not in self._tokens:
                return vizql_error(401, "401002", "Invalid authorization credentials.")
            self._tokens[token] += 1
            limit = self.faults.expire_token_after
            if limit is not None and self._tokens[token] > limit:
                del self._tokens[token]
                return vizql_error(401, "401002",
                                   "Invalid authorization credentials: the session expired.")
        return None

    def _datasource_error(self, body: Any) -> Response | None:
        luid = ((body or {}).get("datasource") or {}).get("datasourceLuid") \
            if isinstance(body, dict) else None
        if not luid:
            return vizql_error(400, "400802", "datasource.datasourceLuid is required.")
        if luid != self.identity.datasource_luid:
            return vizql_error(404, "404000", f"Datasource {luid} was not found.")
        return None

    def _metadata(self, request: Request, body: Any) -> Response:
        error = self._session_error(request) or self._datasource_error(body)
        if error:
            return error
        kept = set(self.captions())
        data = [{"fieldName": caption.replace(" ", "_").upper(), "fieldCaption": caption,
                 "dataType": data_type, "defaultAggregation": aggregation,
                 "logicalTableId": "Flights_3B2C"}
                for caption, data_type, aggregation in FIELDS if caption in kept]
        return _json({"data": data})

    def _query(self, request: Request, body: Any) -> Response:
        error = self._session_error(request) or self._datasource_error(body)
        if error:
            return error
        try:
            data = run_query(self.rows, set(self.captions()), body)
        except VizqlError as failure:
            return vizql_error(failure.status, failure.code, failure.message)
        return _json({"data": data})

    # -- what GET /_standin/state adds to the faults (standalone use) --------------------
    def state(self) -> dict[str, Any]:
        return {"requests": len(self.requests), "sessions": len(self._tokens)}
