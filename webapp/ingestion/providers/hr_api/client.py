"""A small client for the HR API: OAuth2 client credentials and paged headcount records.

Authlib's OAuth2Session does the OAuth2 part (client authentication at the token
endpoint, parsing the token, its expiry, the bearer header); this module adds what a
job needs around it: bounded retries of 429 and 5xx that honour Retry-After within a
time budget, one new token when the API says ours is no longer good, `next` links
followed only on the API's own origin, and every failure turned into one of the
ingestion errors (401, 502, 503, 504) with a sentence a user can act on. Secrets and
tokens never appear in logs or exception messages.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import urlencode, urljoin, urlsplit

import requests
from authlib.integrations.requests_client import OAuth2Session, OAuthError

from webapp.errors import (
    CredentialsRefused,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnreachable,
)
from webapp.ingestion.providers.hr_api.settings import HrSettings, origin

# A token this close to its expiry is renewed first: a page request must not set out
# with a token that dies on the way.
TOKEN_LEEWAY_S = 30
MAX_SAME_ORIGIN_REDIRECTS = 3
T = TypeVar("T")


class _Retryable(Exception):
    """An answer worth asking again (429 or 5xx); carries what the retry needs."""

    def __init__(self, status: int, retry_after: str | None):
        super().__init__(status)
        self.status, self.retry_after = status, retry_after


@dataclass(frozen=True)
class Page:
    items: list[Any]
    next_url: str | None
    total: int | None  # records in all, when the API says so (progress only)


def _oauth_error(response: requests.Response) -> str:
    """The RFC 6749 `error` code of a token endpoint answer, or ''."""
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("error") or "")[:60] if isinstance(body, dict) else ""


def _seconds(value: Any) -> float | None:
    """A token's expires_in (a number, or a numeric string as some servers send it)."""
    if isinstance(value, bool):
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return seconds if seconds == seconds and seconds >= 0 else None  # NaN is no lifetime


class HrClient:
    """One HR API session (also a context manager).

    Args:
        settings: parsed HR_* settings.
        log: where to log; only methods, paths, statuses and OAuth error codes.
        sleep: called with the delay before a retry (tests pass a recorder).
        clock: monotonic seconds, to keep retries within `max_wait_s`.
        attempts: tries of one request on 429/5xx before failing with 502.
        max_wait_s: the most one request may spend retrying; a Retry-After that would
            go past it fails the job at once rather than hold a worker.
    """

    def __init__(self, settings: HrSettings,
                 log: logging.Logger | logging.LoggerAdapter | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic, *,
                 attempts: int = 5, max_wait_s: float = 120.0):
        self.settings = settings
        self.log = log or logging.getLogger("webapp.ingestion.hr_api")
        self.sleep, self.clock = sleep, clock
        self.attempts, self.max_wait_s = attempts, max_wait_s
        self.session = OAuth2Session(
            settings.client_id, settings.client_secret,
            token_endpoint_auth_method="client_secret_basic",
            default_timeout=settings.timeout_s)
        # Authlib parses any answer of the token endpoint; statuses are ours to judge.
        self.session.register_compliance_hook("access_token_response", self._token_answer)
        self._renew_at: float | None = None  # on self.clock; None: until refused

    def __repr__(self) -> str:
        return f"HrClient(api={self.settings.api_url!r}, token={self.has_token})"

    def __enter__(self) -> HrClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self.session.token, self._renew_at = None, None
        self.session.close()

    @property
    def has_token(self) -> bool:
        return bool(self.session.token)

    # -- the token ---------------------------------------------------------------------
    def authenticate(self) -> None:
        """Get a fresh access token with our client credentials.

        Raises:
            CredentialsRefused: (401) the token endpoint refused the client id or secret.
            UpstreamError / UpstreamUnreachable / UpstreamTimeout: see `_retrying`.
        """
        self._retrying("the token request", lambda: self._transport(
            self.settings.token_url, self._fetch_token))
        token = self.session.token or {}
        if not isinstance(token.get("access_token"), str) or not token["access_token"]:
            raise UpstreamError("The HR token endpoint answered without an access_token.")
        if str(token.get("token_type") or "bearer").lower() != "bearer":
            raise UpstreamError("The HR token endpoint issued a token of type "
                                f"{str(token['token_type'])[:20]!r}; only bearer is spoken.")
        lifetime = _seconds(token.get("expires_in"))
        # Renew a little early, but never so early that a short-lived token is renewed
        # before every request. No lifetime: kept until the API refuses it.
        self._renew_at = (None if lifetime is None else
                          self.clock() + lifetime - min(TOKEN_LEEWAY_S, lifetime / 2))
        self.log.info("got an HR API token (expires in %s s)",
                      "?" if lifetime is None else f"{lifetime:g}")

    def _fetch_token(self) -> None:
        try:
            self.session.fetch_token(self.settings.token_url, grant_type="client_credentials",
                                     allow_redirects=False)
        except requests.RequestException:
            raise  # _transport names these
        except OAuthError as error:  # a 200 whose body names an OAuth error
            raise CredentialsRefused(f"The HR token endpoint refused us ({error.error}): "
                                     "check HR_CLIENT_ID and HR_CLIENT_SECRET.") from None
        except (ValueError, KeyError, TypeError):  # a body Authlib cannot read as a token
            raise UpstreamError("The HR token endpoint answered with a token we cannot "
                                "read (expected JSON with access_token and expires_in).") from None

    def _bearer(self) -> dict[str, str]:
        """The Authorization header of a live token, fetching one if ours is due."""
        if not self.has_token or (self._renew_at is not None
                                  and self.clock() >= self._renew_at):
            self.authenticate()
        return {"Authorization": f"Bearer {self.session.token['access_token']}"}

    def _token_answer(self, response: requests.Response) -> requests.Response:
        status = response.status_code
        self.log.debug("POST %s -> %s", urlsplit(response.url).path, status)
        if status == 200:
            return response
        if status == 429 or status >= 500:
            raise _Retryable(status, response.headers.get("Retry-After"))
        code = _oauth_error(response)
        if status in (400, 401) and code in ("invalid_client", "unauthorized_client", ""):
            self.log.warning("the HR token endpoint refused our client: HTTP %s %s",
                             status, code)
            raise CredentialsRefused(
                f"The HR API refused our client credentials (HTTP {status}"
                f"{f', {code}' if code else ''}): check HR_CLIENT_ID and HR_CLIENT_SECRET.")
        if 300 <= status < 400:
            raise UpstreamError(f"The HR token endpoint answered HTTP {status} (a redirect, "
                                "not followed with our secret): check HR_TOKEN_URL.")
        raise UpstreamError(f"The HR token endpoint answered HTTP {status}"
                            f"{f' ({code})' if code else ''}: check HR_TOKEN_URL.")

    # -- headcount pages ---------------------------------------------------------------
    def first_page_url(self, year: int, units: str | list[str] | None = None) -> str:
        """`unit` repeats once per unit code asked for; none means every unit."""
        query = [("year", str(year)), ("page_size", str(self.settings.page_size))]
        query += [("unit", unit) for unit in ([units] if isinstance(units, str)
                                              else units or [])]
        return f"{self.settings.headcount_url}?{urlencode(query)}"

    def pages(self, year: int, units: str | list[str] | None = None) -> Iterator[Page]:
        """Every page of the year's records (of some units), one request at a time."""
        url: str | None = self.first_page_url(year, units)
        seen: set[str] = set()
        while url is not None:
            if url in seen:
                raise UpstreamError("The HR API's next links go round in a circle; "
                                    "stopped rather than load records twice.")
            seen.add(url)
            page = self.get_page(url)
            yield page
            url = page.next_url

    def get_page(self, url: str) -> Page:
        """One page: {"items": [...], "next": absolute URL or null[, "total": n]}.

        Raises:
            CredentialsRefused: (401) still refused after one new token; (403) denied.
            UpstreamError: (502) an answer we cannot use, or retries exhausted.
        """
        self._check_origin(url, "a next link")
        response = self._authorised_get(url)
        if response.status_code == 403:
            raise CredentialsRefused("The HR API denied our client access to the headcount "
                                     "records (HTTP 403): ask for the headcount scope.", 403)
        if response.status_code >= 400:
            raise UpstreamError(f"The HR API answered a headcount page with HTTP "
                                f"{response.status_code}.")
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("items"), list):
            raise UpstreamError("The HR API answered a headcount page without an items list.")
        next_url = body.get("next")
        if next_url is not None and not isinstance(next_url, str):
            raise UpstreamError("The HR API answered a headcount page with a next link that "
                                "is not a URL.")
        if next_url:
            next_url = urljoin(url, next_url)  # the protocol says absolute; be lenient
        total = body.get("total")
        return Page(body["items"], next_url or None,
                    total if isinstance(total, int) and not isinstance(total, bool) else None)

    def _authorised_get(self, url: str) -> requests.Response:
        """GET with a live token; a 401 gets one new token and one more try."""
        response = self._retrying("a headcount page", lambda: self._get(url))
        if response.status_code != 401:
            return response
        self.log.info("the HR API refused our token; getting a new one")
        self.authenticate()
        response = self._retrying("a headcount page", lambda: self._get(url))
        if response.status_code == 401:
            raise CredentialsRefused("The HR API refused a fresh access token (HTTP 401): "
                                     "check that our client may read headcount records.")
        return response

    def _get(self, url: str) -> requests.Response:
        for _ in range(MAX_SAME_ORIGIN_REDIRECTS + 1):
            # withhold_token: the header is ours, so Authlib never renews a token on its
            # own, outside the retries and the time budget.
            headers = {"Accept": "application/json", **self._bearer()}
            response = self._transport(url, lambda u=url, h=headers: self.session.get(
                u, headers=h, allow_redirects=False, withhold_token=True))
            self.log.debug("GET %s -> %s", urlsplit(url).path, response.status_code)
            if response.status_code == 429 or response.status_code >= 500:
                raise _Retryable(response.status_code, response.headers.get("Retry-After"))
            if not response.is_redirect:
                return response
            url = urljoin(url, response.headers["Location"])
            self._check_origin(url, f"a redirect (HTTP {response.status_code})")
        raise UpstreamError("The HR API redirected a headcount page more than "
                            f"{MAX_SAME_ORIGIN_REDIRECTS} times.")

    def _check_origin(self, url: str, what: str) -> None:
        """Our bearer token goes to HR_API_URL's scheme, host and port, nowhere else."""
        if origin(url) != origin(self.settings.api_url):
            host = urlsplit(url).hostname or url[:80]
            raise UpstreamError(f"The HR API sent {what} to another host ({host}); not "
                                "followed, so our token stays with HR_API_URL.")

    # -- transport ---------------------------------------------------------------------
    def _transport(self, url: str, send: Callable[[], T]) -> T:
        """Network failures as job failures: 504 on a timeout, 503 when unreachable."""
        host = urlsplit(url).netloc
        try:
            return send()
        except requests.Timeout:
            raise UpstreamTimeout(f"The HR API at {host} did not answer within "
                                  f"{self.settings.timeout_s:g} s (HR_TIMEOUT_S).") from None
        except requests.exceptions.SSLError:
            raise UpstreamUnreachable(f"Cannot verify the TLS certificate of {host}: set "
                                      "REQUESTS_CA_BUNDLE for a private CA.") from None
        except requests.ConnectionError:
            raise UpstreamUnreachable(f"Cannot reach the HR API at {host}: check "
                                      "HR_API_URL (or HR_TOKEN_URL) and the network.") from None

    def _retrying(self, what: str, attempt: Callable[[], T]) -> T:
        """Call `attempt` until it does not answer 429/5xx, within attempts and time.

        Raises:
            UpstreamError: (502) naming the last HTTP status, once attempts or time run out.
        """
        started, waited = self.clock(), 0.0
        for number in range(1, self.attempts + 1):
            try:
                return attempt()
            except _Retryable as answer:
                if number == self.attempts:
                    raise UpstreamError(f"The HR API answered {what} with HTTP "
                                        f"{answer.status} {number} times; giving up.") from None
                delay = self._delay(answer, number)
                # Real sleeps move the clock; a test's recorder does not: count both ways.
                spent = max(self.clock() - started, waited)
                if spent + delay > self.max_wait_s:
                    raise UpstreamError(
                        f"The HR API answered {what} with HTTP {answer.status} and asked to "
                        f"wait {delay:g} s more, past the {self.max_wait_s:g} s a request may "
                        f"spend retrying; giving up after {number} attempt"
                        f"{'s' if number > 1 else ''}.") from None
                self.log.warning("the HR API answered %s with HTTP %s; retry %d/%d in "
                                 "%.2f s", what, answer.status, number, self.attempts - 1,
                                 delay)
                self.sleep(delay)
                waited += delay
        raise AssertionError("unreachable")  # the loop returns or raises

    def _delay(self, answer: _Retryable, number: int) -> float:
        """Retry-After (seconds or an HTTP date) when sent, else exponential backoff."""
        raw = (answer.retry_after or "").strip()
        if raw:
            try:
                return max(float(raw), 0.0)
            except ValueError:
                pass
            try:
                return max(parsedate_to_datetime(raw).timestamp() - time.time(), 0.0)
            except (TypeError, ValueError):
                pass
        return self.settings.retry_backoff_s * 2 ** (number - 1)
