"""Browser-session helpers for tests: the CSRF token a page carries, logging in, and a
logged-in client that posts forms as a browser does."""

from __future__ import annotations

import re
from urllib.parse import quote

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def csrf_token(client) -> str:
    """The CSRF token of this client's session, read from a rendered page."""
    html = client.get("/login").get_data(as_text=True)
    match = CSRF_META.search(html)
    assert match, "no CSRF token on the login page"
    return match.group(1)


def login(client, email: str, password: str, next_url: str | None = None):
    """Submit the login form as a browser would (with its CSRF token)."""
    token = csrf_token(client)
    url = "/login" + (f"?next={quote(next_url, safe='')}" if next_url is not None else "")
    return client.post(url, data={"email": email, "password": password, "csrf_token": token})


def logged_in_client(app, user: dict):
    client = app.test_client()
    response = login(client, user["email"], user["password"])
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return client


class PageClient:
    """A logged-in browser session on the test client that sends its CSRF token."""

    def __init__(self, app, user: dict):
        self.client = logged_in_client(app, user)
        self.csrf = csrf_token(self.client)

    def get(self, path: str, **kw):
        return self.client.get(path, **kw)

    def post(self, path: str, data: dict | None = None, **kw):
        return self.client.post(path, data={"csrf_token": self.csrf, **(data or {})}, **kw)
