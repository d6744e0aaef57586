"""A small client for Tableau's REST sign-in and the VizQL Data Service.

It speaks only what the flights provider needs: Connected App (direct trust) JWT
sign-in, sign-out, `read-metadata` and `query-datasource`. Every failure becomes one of
the ingestion errors (401/403, 502, 503, 504) with a sentence a user can act on.
Secrets, JWTs and session tokens never appear in logs or exception messages.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import requests

from webapp.errors import (
    CredentialsRefused,
    ProviderUnavailable,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnreachable,
)

REQUIRED_VARS = (
    "TABLEAU_SERVER_URL",
    "TABLEAU_CONNECTED_APP_CLIENT_ID",
    "TABLEAU_CONNECTED_APP_SECRET_ID",
    "TABLEAU_CONNECTED_APP_SECRET_VALUE",
    "TABLEAU_USERNAME",
    "TABLEAU_FLIGHTS_DATASOURCE_LUID",
)
# Scopes the JWT asks for: VizQL Data Service reads, plus content reads so the same
# session can look up the datasource through the REST API if we ever need to.
JWT_SCOPES = ("tableau:viz_data_service:read", "tableau:content:read")
# Tableau rejects a JWT whose exp is more than 10 minutes ahead; stay well inside that
# so a few minutes of clock skew between us and Tableau cannot push us over.
JWT_LIFETIME = timedelta(minutes=5)
VIZQL_PATH = "/api/v1/vizql-data-service"
_FALSE_WORDS = {"0", "false", "no", "off"}
_TRUE_WORDS = {"1", "true", "yes", "on"}


def _text(mapping: Mapping[str, Any], key: str) -> str:
    value = mapping.get(key)
    return "" if value is None else str(value).strip()


@dataclass(frozen=True)
class TableauSettings:
    """The TABLEAU_* configuration, parsed once. The secret is kept out of repr()."""

    server_url: str
    site_content_url: str
    api_version: str
    client_id: str
    secret_id: str
    secret_value: str = field(repr=False)
    username: str
    datasource_luid: str
    # True/False, or a path to a CA bundle (requests accepts both) for private CAs.
    verify_ssl: bool | str = True
    timeout_s: float = 30.0
    retry_backoff_s: float = 1.0  # the first retry's delay; doubles on each retry

    @staticmethod
    def missing(mapping: Mapping[str, Any]) -> list[str]:
        """Names of the required TABLEAU_* variables that are unset or blank."""
        return [key for key in REQUIRED_VARS if not _text(mapping, key)]

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> TableauSettings:
        """Build settings from the app config (or os.environ).

        Raises:
            ProviderUnavailable: a required variable is missing or a value is malformed.
        """
        missing = cls.missing(mapping)
        if missing:
            raise ProviderUnavailable("Tableau is not configured: set " + ", ".join(missing) + ".")
        return cls(
            server_url=_text(mapping, "TABLEAU_SERVER_URL").rstrip("/"),
            # Blank means the default site on Tableau Server.
            site_content_url=_text(mapping, "TABLEAU_SITE_CONTENT_URL"),
            api_version=_text(mapping, "TABLEAU_API_VERSION") or "3.24",
            client_id=_text(mapping, "TABLEAU_CONNECTED_APP_CLIENT_ID"),
            secret_id=_text(mapping, "TABLEAU_CONNECTED_APP_SECRET_ID"),
            secret_value=_text(mapping, "TABLEAU_CONNECTED_APP_SECRET_VALUE"),
            username=_text(mapping, "TABLEAU_USERNAME"),
            datasource_luid=_text(mapping, "TABLEAU_FLIGHTS_DATASOURCE_LUID"),
            verify_ssl=_parse_verify(mapping.get("TABLEAU_VERIFY_SSL")),
            timeout_s=_parse_seconds(mapping, "TABLEAU_TIMEOUT_S", 30.0),
            retry_backoff_s=_parse_seconds(mapping, "TABLEAU_RETRY_BACKOFF_S", 1.0,
                                           zero_ok=True),
        )


def _parse_verify(raw: Any) -> bool | str:
    if raw is None or isinstance(raw, bool):
        return True if raw is None else raw
    text = str(raw).strip()
    if not text or text.lower() in _TRUE_WORDS:
        return True
    if text.lower() in _FALSE_WORDS:
        return False
    return text  # a CA bundle path


def _parse_seconds(mapping: Mapping[str, Any], key: str, default: float, *,
                   zero_ok: bool = False) -> float:
    raw = mapping.get(key)
    if raw is None or str(raw).strip() == "":
        return default
    try:
        value = float(raw)
    except (TypeError, ValueError):
        value = -1.0
    if value < 0 or (value == 0 and not zero_ok) or value != value:  # NaN is never valid
        kind = "zero or more" if zero_ok else "a positive number of"
        raise ProviderUnavailable(f"{key} must be {kind} seconds, got {raw!r}.")
    return value


def mint_jwt(settings: TableauSettings, now: datetime | None = None) -> str:
    """A fresh single-use Connected App JWT (a new jti each call, as Tableau requires)."""
    now = now or datetime.now(UTC)
    claims = {
        "iss": settings.client_id,
        "sub": settings.username,
        "aud": "tableau",
        "exp": int((now + JWT_LIFETIME).timestamp()),
        "jti": str(uuid.uuid4()),
        "scp": list(JWT_SCOPES),
    }
    headers = {"kid": settings.secret_id, "iss": settings.client_id}
    return jwt.encode(claims, settings.secret_value, algorithm="HS256", headers=headers)


def tableau_error(response: requests.Response) -> tuple[str, str]:
    """(code, message) from either error body Tableau uses.

    REST API: {"error": {"code", "summary", "detail"}}; VizQL Data Service:
    {"errorCode", "message", ...}. Either part may be empty.
    """
    try:
        body = response.json()
    except ValueError:
        return "", ""
    if not isinstance(body, dict):
        return "", ""
    if isinstance(body.get("error"), dict):
        error = body["error"]
        text = ": ".join(str(error[k]) for k in ("summary", "detail") if error.get(k))
        return str(error.get("code") or ""), text
    return str(body.get("errorCode") or ""), str(body.get("message") or "")


def _code_part(code: str) -> str:
    return f" (error {code})" if code else ""


class TableauClient:
    """One Tableau session: sign in, query, sign out (also as a context manager).

    Args:
        settings: parsed TABLEAU_* settings.
        session: a requests.Session (tests may pass their own).
        log: where to log; only methods, paths, statuses and error codes are logged.
        sleep: called with the delay before a retry (tests pass a recorder).
        retries: retries after a 429 or 5xx before failing with 502.
        backoff_s: first retry delay, doubling on each retry; by default the settings'
            `retry_backoff_s` (TABLEAU_RETRY_BACKOFF_S).
        max_retry_after_s: cap on a server-sent Retry-After, so a job cannot hang.
    """

    def __init__(self, settings: TableauSettings, session: requests.Session | None = None,
                 log: logging.Logger | logging.LoggerAdapter | None = None,
                 sleep: Callable[[float], None] = time.sleep, *, retries: int = 3,
                 backoff_s: float | None = None, max_retry_after_s: float = 60.0):
        self.settings = settings
        self._owns_session = session is None
        self.session = session or requests.Session()
        self.log = log or logging.getLogger("webapp.ingestion.tableau")
        self.sleep = sleep
        self.retries = retries
        self.backoff_s = settings.retry_backoff_s if backoff_s is None else backoff_s
        self.max_retry_after_s = max_retry_after_s
        self._token: str | None = None

    def __repr__(self) -> str:
        signed_in = self._token is not None
        return f"TableauClient(server={self.settings.server_url!r}, signed_in={signed_in})"

    def __enter__(self) -> TableauClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Sign out and release the HTTP connections we opened."""
        self.sign_out()
        if self._owns_session:
            self.session.close()

    @property
    def signed_in(self) -> bool:
        return self._token is not None

    # -- authentication ----------------------------------------------------------------
    def sign_in(self) -> None:
        """Sign in with a fresh JWT and keep the session token.

        Raises:
            CredentialsRefused: Tableau answered 401/403 (bad app, secret, user or site).
            UpstreamError / UpstreamUnreachable / UpstreamTimeout: see `_post`.
        """
        s = self.settings
        url = f"{s.server_url}/api/{s.api_version}/auth/signin"

        def body() -> dict[str, Any]:  # a new JWT per attempt: Tableau refuses a reused jti
            return {"credentials": {"jwt": mint_jwt(s), "site": {"contentUrl": s.site_content_url}}}

        response = self._post("the sign-in", url, body, token=None)
        if response.status_code in (401, 403):
            code, text = tableau_error(response)
            self.log.warning("Tableau refused the sign-in: HTTP %s%s %s",
                             response.status_code, _code_part(code), text)
            raise CredentialsRefused(
                f"Tableau refused the sign-in{_code_part(code)}: check the Connected App "
                "client id, secret id and secret value, the username and the site "
                "(TABLEAU_CONNECTED_APP_*, TABLEAU_USERNAME, TABLEAU_SITE_CONTENT_URL).",
                response.status_code)
        if response.status_code >= 400:
            code, text = tableau_error(response)
            raise UpstreamError(
                f"Tableau answered the sign-in with HTTP {response.status_code}"
                f"{_code_part(code)}{f' ({text})' if text else ''}: check "
                "TABLEAU_SERVER_URL and TABLEAU_API_VERSION.")
        credentials = self._json(response, "the sign-in").get("credentials") or {}
        token = credentials.get("token")
        if not isinstance(token, str) or not token:
            raise UpstreamError("Tableau answered the sign-in without a session token.")
        self._token = token
        self.log.info("signed in to Tableau site %r", s.site_content_url)

    def sign_out(self) -> None:
        """End the session. Best effort: a failed sign-out must not fail a finished job."""
        token, self._token = self._token, None
        if token is None:
            return
        s = self.settings
        url = f"{s.server_url}/api/{s.api_version}/auth/signout"
        try:
            response = self._post("the sign-out", url, None, token=token, retries=0)
        except (UpstreamError, UpstreamUnreachable, UpstreamTimeout) as error:
            self.log.warning("Tableau sign-out failed: %s", error.message)
            return
        if response.status_code not in (200, 204):
            self.log.warning("Tableau sign-out answered HTTP %s", response.status_code)

    # -- VizQL Data Service ------------------------------------------------------------
    def read_metadata(self, datasource_luid: str) -> list[dict[str, Any]]:
        """The datasource's fields: [{fieldName, fieldCaption, dataType, ...}]."""
        body = {"datasource": {"datasourceLuid": datasource_luid}}
        return self._vizql("read-metadata", body, "the metadata request")

    def query_datasource(self, datasource_luid: str, fields: list[str],
                         filters: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        """Rows as {caption: value} objects for the given field captions and filters."""
        query: dict[str, Any] = {"fields": [{"fieldCaption": caption} for caption in fields]}
        if filters:
            query["filters"] = filters
        body = {
            "datasource": {"datasourceLuid": datasource_luid},
            "query": query,
            # disaggregate: one row per underlying record, never summed measures.
            "options": {"returnFormat": "OBJECTS", "disaggregate": True},
        }
        return self._vizql("query-datasource", body, "the query")

    def _vizql(self, endpoint: str, body: dict[str, Any], what: str) -> list[dict[str, Any]]:
        if self._token is None:
            self.sign_in()
        url = f"{self.settings.server_url}{VIZQL_PATH}/{endpoint}"
        response = self._post(what, url, lambda: body, token=self._token)
        if response.status_code == 401:
            # Our session token expired mid-job: sign in again, once, and retry.
            self.log.info("Tableau rejected the session token on %s; signing in again", endpoint)
            self._token = None
            self.sign_in()
            response = self._post(what, url, lambda: body, token=self._token)
            if response.status_code == 401:
                code, _ = tableau_error(response)
                raise CredentialsRefused(
                    f"Tableau rejected the session{_code_part(code)} even after signing in "
                    "again: check that the Connected App and the user are still enabled.")
        if response.status_code == 403:
            code, text = tableau_error(response)
            raise CredentialsRefused(
                f"Tableau denied access to the flights datasource{_code_part(code)}: give "
                f"{self.settings.username} the API Access capability on it"
                + (f" ({text})." if text else "."), 403)
        if response.status_code >= 400:
            code, text = tableau_error(response)
            raise UpstreamError(
                f"Tableau rejected {what} with HTTP {response.status_code}{_code_part(code)}"
                + (f": {text}" if text else "."))
        data = self._json(response, what).get("data")
        if not isinstance(data, list):
            raise UpstreamError(f"Tableau answered {what} without a data list.")
        return data

    # -- transport ---------------------------------------------------------------------
    def _post(self, what: str, url: str, body: Callable[[], Any] | None, *,
              token: str | None, retries: int | None = None) -> requests.Response:
        """POST with bounded retries on 429/5xx; network failures become 503/504."""
        retries = self.retries if retries is None else retries
        headers = {"Accept": "application/json", "Content-Type": "application/json"}
        if token:
            headers["X-Tableau-Auth"] = token
        path = url[len(self.settings.server_url):]
        for attempt in range(retries + 1):
            try:
                response = self.session.post(
                    url, json=body() if body else None, headers=headers,
                    timeout=self.settings.timeout_s, verify=self.settings.verify_ssl)
            except requests.Timeout:
                raise UpstreamTimeout(
                    f"Tableau did not answer {what} within {self.settings.timeout_s:g} s "
                    "(TABLEAU_TIMEOUT_S).") from None
            except requests.exceptions.SSLError:
                raise UpstreamUnreachable(
                    f"Cannot verify Tableau's TLS certificate at {self.settings.server_url}: "
                    "check TABLEAU_VERIFY_SSL (true, false or a CA bundle path).") from None
            except requests.ConnectionError:
                raise UpstreamUnreachable(
                    f"Cannot reach Tableau at {self.settings.server_url}: check "
                    "TABLEAU_SERVER_URL and the network.") from None
            status = response.status_code
            self.log.debug("POST %s -> %s", path, status)
            if status != 429 and status < 500:
                return response
            if attempt < retries:
                delay = self._retry_delay(response, attempt)
                self.log.warning("Tableau answered %s with HTTP %s; retry %d/%d in %.1f s",
                                 what, status, attempt + 1, retries, delay)
                self.sleep(delay)
                continue
            code, text = tableau_error(response)
            tries = "attempt" if retries == 0 else f"{retries + 1} attempts"
            raise UpstreamError(
                f"Tableau answered {what} with HTTP {status}{_code_part(code)} after {tries}"
                + (f": {text}" if text else "."))
        raise AssertionError("unreachable")  # the loop always returns or raises

    def _retry_delay(self, response: requests.Response, attempt: int) -> float:
        """Retry-After (seconds) when the server sends it, capped; else exponential."""
        raw = response.headers.get("Retry-After", "")
        try:
            return min(max(float(raw), 0.0), self.max_retry_after_s)
        except ValueError:  # absent, or an HTTP date we do not bother to parse
            return min(self.backoff_s * 2 ** attempt, self.max_retry_after_s)

    @staticmethod
    def _json(response: requests.Response, what: str) -> dict[str, Any]:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise UpstreamError(
                f"Tableau answered {what} with HTTP {response.status_code} and a body that "
                "is not a JSON object.")
        return body
