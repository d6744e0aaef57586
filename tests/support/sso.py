"""Logging in through single sign-on with the Flask test client: to the provider (a real
HTTP server) and back, as a browser follows the redirects."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import requests


def start(client, next_url: str | None = None) -> str:
    """Press "Log in with your university account": the provider's authorization URL."""
    answer = client.get("/login/sso", query_string={"next": next_url} if next_url else {})
    assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
    return answer.headers["Location"]


def authorize(authorization_url: str, sub: str | None, deny: bool = False) -> str:
    """Answer the provider's login form as `sub` (or press Deny): the callback URL."""
    form = {"action": "deny"} if deny else {"sub": sub}
    answer = requests.post(authorization_url, data=form, allow_redirects=False, timeout=5)
    assert answer.status_code == 302, answer.text[:500]
    return answer.headers["Location"]


def callback(client, callback_url: str):
    parts = urlsplit(callback_url)
    return client.get(parts.path, query_string=parts.query)


def sso_login(client, sub: str, next_url: str | None = None):
    """The whole round trip; the app's answer to the callback."""
    return callback(client, authorize(start(client, next_url), sub))


def query(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}
