"""pytest plugin: users, API tokens, and API clients that send them."""

from __future__ import annotations

import functools
import io
import json
import time
from pathlib import Path

import pytest

from tests.support.polling import wait_for

FINAL_STATES = ("completed", "failed", "cancelled")


DEMO_UNIT = "F0892"  # the seeded demo's unit, which holds modules 1-4


@functools.cache
def _quick_hash(password: str) -> str:
    """A real werkzeug hash of `password`, made once per session and with few rounds:
    the default (scrypt) costs 90 ms to make and as much to check, for every user of
    every test and every login. Passwords set through the app keep the default."""
    from werkzeug.security import generate_password_hash

    return generate_password_hash(password, method="pbkdf2:sha256:1000")


@pytest.fixture
def create_user(app):
    """Factory: create_user("editor") -> the user's id and email (password 'pw-<role>'):
    "admin", or a member of `unit` (the demo's; None: of no unit) with that role."""
    from webapp.cli import create_user as make
    from webapp.organisation.units import get_unit

    def factory(role: str = "editor", email: str | None = None,
                unit: str | None = DEMO_UNIT):
        from webapp.extensions import db

        email = email or f"{role}-{time.monotonic_ns()}@example.org"
        with app.app_context():
            admin = role == "admin"
            user = make(email, None, admin=admin,
                        unit=None if admin or unit is None else get_unit(unit), role=role)
            user.password_hash = _quick_hash(f"pw-{role}")
            db.session.commit()
            return {"id": user.id, "email": email, "password": f"pw-{role}", "role": role}

    return factory


@pytest.fixture
def api_token(app):
    """Factory: api_token(user) -> a bearer token string."""
    from webapp.extensions import db
    from webapp.models import ApiToken, User

    def factory(user: dict, name: str = "tests") -> str:
        with app.app_context():
            owner = db.session.get(User, user["id"])
            row, clear = ApiToken.issue(owner, name)
            db.session.add(row)
            db.session.commit()
            return clear

    return factory


class ApiClient:
    """A Flask test client that sends a bearer token and answers JSON."""

    def __init__(self, client, token: str):
        self.client, self.headers = client, {"Authorization": f"Bearer {token}"}

    def get(self, path, **kw):
        return self.client.get(f"/api/v1{path}", headers=self.headers, **kw)

    def post(self, path, **kw):
        """A raw POST, for requests `sync` would not send (malformed bodies, other routes)."""
        return self.client.post(f"/api/v1{path}", headers=self.headers, **kw)

    def sync(self, module_id: int, provider_type: str = "synthetic", *,
             factor_type_id: int | None = None, year: int | None = 2025,
             config: dict | str | None = None, filters: dict | str | None = None,
             file: bytes | Path | None = None, filename: str | None = None,
             multipart: bool = False):
        """POST a sync request and return the response.

        Data entries of `module_id`, or its factors of `factor_type_id`. JSON, unless a
        `file` is sent or `multipart` asked for: then a form whose `config` and `filters`
        are JSON strings (a str is sent as it is, to test malformed ones). Fields left
        None are not sent.
        """
        path = (f"/sync/factors/{module_id}/{factor_type_id}" if factor_type_id is not None
                else f"/sync/data-entries/{module_id}")
        fields = {key: value for key, value in (
            ("provider_type", provider_type), ("year", year), ("config", config),
            ("filters", filters)) if value is not None}
        if file is None and not multipart:
            return self.post(path, json=fields)
        form = {key: value if isinstance(value, str) else json.dumps(value)
                for key, value in fields.items()}
        if file is not None:
            content = file.read_bytes() if isinstance(file, Path) else file
            name = filename or (file.name if isinstance(file, Path) else "upload.csv")
            form["file"] = (io.BytesIO(content), name)
        return self.post(path, data=form, content_type="multipart/form-data")

    def wait(self, job_id: int, until=FINAL_STATES, timeout=60.0,
             seen: list | None = None) -> dict:
        """Poll the status endpoint until the job reaches one of `until`."""
        last: list[dict] = []

        def reached() -> dict | None:
            body = self.get(f"/sync/status/{job_id}").get_json()
            last[:] = [body]
            if seen is not None:
                seen.append(body)
            return body if body["status"] in until else None

        return wait_for(reached, timeout,
                        lambda: f"job {job_id} to be {'/'.join(until)}: {last[0]}")


@pytest.fixture
def api(app, create_user, api_token):
    """An editor's API client."""
    editor = create_user("editor")
    return ApiClient(app.test_client(), api_token(editor))


@pytest.fixture
def admin_api(app, create_user, api_token):
    return ApiClient(app.test_client(), api_token(create_user("admin")))


@pytest.fixture
def pages(app, create_user):
    """Factory: pages("viewer") -> a PageClient logged in with that role."""
    from tests.support.web import PageClient

    return lambda role="editor": PageClient(app, create_user(role))
