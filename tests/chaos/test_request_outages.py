"""Requests while PostgreSQL or Redis is down or hung (issue #12, the web side): a quick
503 with Retry-After, never a 500 or a long wait; and the one-active-job 409 comes before
an upload is stored."""

from __future__ import annotations

import socket
import time

import pytest
from sqlalchemy import text

from tests.support.accounts import ApiClient
from tests.support.app import create_extra_app


@pytest.fixture
def closed_port():
    """A port nothing listens on: connections are refused at once (a server that is down)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def hung_port():
    """A port that accepts connections and never answers (a frozen server)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    yield server.getsockname()[1]
    server.close()


def _app_like(app, **overrides):
    return create_extra_app({key: app.config[key] for key in (
        "SQLALCHEMY_DATABASE_URI", "REDIS_URL", "SECRET_KEY", "RQ_QUEUE")} | overrides)


def _down_database_app(app, port: int):
    return _app_like(app, SQLALCHEMY_DATABASE_URI=(
        f"postgresql+psycopg://carbon:secret@127.0.0.1:{port}/carbon"))


def test_status_answers_503_while_the_database_is_down(app, api, closed_port):
    down = _down_database_app(app, closed_port)
    response = down.test_client().get("/api/v1/sync/status/1", headers=api.headers)
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.get_json()["error"] == "service_unavailable"
    assert "database" in response.get_json()["message"].lower()
    assert response.headers["Retry-After"] == "5"


def test_a_page_answers_503_while_the_database_is_down(app, create_user, closed_port):
    from tests.support.web import logged_in_client

    cookie = logged_in_client(app, create_user("viewer")).get_cookie("session")
    client = _down_database_app(app, closed_port).test_client()
    client.set_cookie("session", cookie.value)  # a logged-in browser: its user load fails
    response = client.get("/")
    assert response.status_code == 503
    assert "database is unreachable" in response.get_data(as_text=True)


def test_healthz_answers_503_within_2_s_when_redis_hangs(app, hung_port):
    hung = _app_like(app, REDIS_URL=f"redis://127.0.0.1:{hung_port}/0")
    started = time.monotonic()
    response = hung.test_client().get("/api/v1/healthz")
    assert response.status_code == 503
    assert response.get_json()["redis"].startswith("unreachable")
    assert time.monotonic() - started < 4  # 2 s timeouts, not 10


def test_a_sync_answers_503_quickly_when_redis_hangs(app, create_user, api_token, hung_port,
                                                     db_url):
    hung = _app_like(app, REDIS_URL=f"redis://127.0.0.1:{hung_port}/0")
    hung_api = ApiClient(hung.test_client(), api_token(create_user("editor")))
    started = time.monotonic()
    response = hung_api.sync(1, "csv_upload", filename="h.csv", file=(
        b"name,position_category,user_institutional_id,fte\nA,staff,1,1\n"))
    assert response.status_code == 503, response.get_json()
    assert "redis" in response.get_json()["message"].lower()
    assert time.monotonic() - started < 4
    with app.app_context():
        from webapp.extensions import db
        assert db.session.execute(text("SELECT count(*) FROM uploads")).scalar() == 0
        assert db.session.execute(text("SELECT count(*) FROM data_ingestion_jobs")).scalar() == 0


def test_the_409_comes_before_the_upload_is_stored(app, api):
    from webapp.extensions import db

    first = api.sync(1, "csv_upload", filename="a.csv",
                     file=b"name,position_category,user_institutional_id,fte\nA,s,1,1\n")
    assert first.status_code == 202, first.get_json()  # pending: no worker in this test
    with app.app_context():
        stored = db.session.execute(text("SELECT count(*) FROM uploads")).scalar()
    second = api.sync(1, "csv_upload", file=b"x" * (4 * 2**20), filename="big.csv")
    assert second.status_code == 409
    assert second.get_json()["active_job_id"] == first.get_json()["job_id"]
    with app.app_context():
        assert db.session.execute(text("SELECT count(*) FROM uploads")).scalar() == stored
