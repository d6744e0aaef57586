"""The HR_* configuration of the HR headcount API, parsed once and checked.

The client secret lives only here (kept out of repr()) and in the HTTP session that
sends it to the token endpoint; nothing copies it into jobs, logs or messages.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from webapp.errors import ProviderUnavailable

REQUIRED_VARS = ("HR_API_URL", "HR_CLIENT_ID", "HR_CLIENT_SECRET")
TOKEN_PATH = "/oauth/token"
HEADCOUNT_PATH = "/api/v1/headcount"


def _text(mapping: Mapping[str, Any], key: str) -> str:
    value = mapping.get(key)
    return "" if value is None else str(value).strip()


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of a URL: what must match before our token goes there."""
    parts = urlsplit(url)
    default_port = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default_port


@dataclass(frozen=True)
class HrSettings:
    """Where the HR API is, who we are to it, and how patient to be."""

    api_url: str
    token_url: str
    client_id: str
    client_secret: str = field(repr=False)
    timeout_s: float = 30.0
    retry_backoff_s: float = 1.0  # the first retry's delay without Retry-After; doubles
    page_size: int = 500

    @staticmethod
    def missing(mapping: Mapping[str, Any]) -> list[str]:
        """Names of the required HR_* variables that are unset or blank."""
        return [key for key in REQUIRED_VARS if not _text(mapping, key)]

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> HrSettings:
        """Build settings from the app config (or os.environ).

        Raises:
            ProviderUnavailable: a required variable is missing or a value is malformed.
        """
        missing = cls.missing(mapping)
        if missing:
            raise ProviderUnavailable("The HR API is not configured: set "
                                      + ", ".join(missing) + ".")
        api_url = _text(mapping, "HR_API_URL").rstrip("/")
        # The token endpoint often lives on an identity server of its own.
        token_url = _text(mapping, "HR_TOKEN_URL") or api_url + TOKEN_PATH
        for key, url in (("HR_API_URL", api_url), ("HR_TOKEN_URL", token_url)):
            scheme, host, _ = origin(url)
            if scheme not in ("http", "https") or not host:
                raise ProviderUnavailable(f"{key} must be an http(s) URL, got {url!r}.")
        return cls(
            api_url=api_url, token_url=token_url,
            client_id=_text(mapping, "HR_CLIENT_ID"),
            client_secret=_text(mapping, "HR_CLIENT_SECRET"),
            timeout_s=_positive(mapping, "HR_TIMEOUT_S", 30.0),
            retry_backoff_s=_positive(mapping, "HR_RETRY_BACKOFF_S", 1.0, zero_ok=True),
            page_size=int(_positive(mapping, "HR_PAGE_SIZE", 500, whole=True)),
        )

    @property
    def headcount_url(self) -> str:
        return self.api_url + HEADCOUNT_PATH


def _positive(mapping: Mapping[str, Any], key: str, default: float, *,
              zero_ok: bool = False, whole: bool = False) -> float:
    raw = mapping.get(key)
    if raw is None or str(raw).strip() == "":
        return default
    try:
        value = float(raw)
    except (TypeError, ValueError):
        value = -1.0
    bad = (value != value or value < 0 or (value == 0 and not zero_ok)  # NaN is never valid
           or (whole and not value.is_integer()))
    if bad:
        kind = "a whole number" if whole else ("zero or more seconds" if zero_ok
                                               else "a positive number of seconds")
        raise ProviderUnavailable(f"{key} must be {kind}, got {raw!r}.")
    return value
