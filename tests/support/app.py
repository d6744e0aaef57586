"""pytest plugin: the app under test, migrated once, and a clean slate for every test
(truncated tables plus the demo seed, and an empty Redis database)."""

from __future__ import annotations

import psycopg
import pytest
from redis import Redis

from tests.support.settings import PLUGINS, TEST_SETTINGS, hr_settings, tableau_settings
from tests.support.workers import RUNNING_WORKERS, settle
from webapp.config import libpq_url

# Tables clean_state leaves as they are. airports is reference data, not test state: the
# recalculation copies it from the pinned airportsdata package the first time it needs
# it (webapp.emissions.airports), and emptying it would make every later recalculation
# copy it again. alembic_version has no model, so it is never truncated either.
KEPT_TABLES = frozenset({"airports"})


def truncated_tables() -> tuple[str, ...]:
    """What clean_state empties: every table of the models but KEPT_TABLES, so a table a
    new model brings is emptied from the start (tests/integration/test_clean_state.py
    checks this against the migrated database)."""
    import webapp.models  # noqa: F401 - importing the models fills db.metadata
    from webapp.extensions import db

    return tuple(sorted(set(db.metadata.tables) - KEPT_TABLES))


def truncate_statement() -> str:
    # No CASCADE: a table outside the list that refers to one in it makes this fail
    # loudly rather than be emptied unnoticed.
    return f"TRUNCATE {', '.join(truncated_tables())} RESTART IDENTITY"


@pytest.fixture(scope="session")
def app(service_urls, tableau_standin, hr_standin):
    from flask_migrate import upgrade

    from webapp import create_app
    from webapp.config import sqlalchemy_url

    app = create_app({
        "TESTING": True, "SQLALCHEMY_DATABASE_URI": sqlalchemy_url(service_urls["database_url"]),
        "REDIS_URL": service_urls["redis_url"], "PROVIDER_PLUGINS": PLUGINS,
        "SECRET_KEY": "test-secret", "APP_ENV": "development",
        **{key: int(value) for key, value in TEST_SETTINGS.items()},
        **tableau_settings(tableau_standin), **hr_settings(hr_standin),
    })
    with app.app_context():
        upgrade()
    return app


@pytest.fixture(autouse=True)
def clean_state(request, service_urls):
    """Every test starts with empty tables (plus the demo seed) and an empty Redis db."""
    if "app" not in request.fixturenames and "db_url" not in request.fixturenames:
        yield
        return
    app = request.getfixturevalue("app")
    for worker in list(RUNNING_WORKERS):  # a job left running would block the TRUNCATE
        settle(app, worker)
    with psycopg.connect(libpq_url(service_urls["database_url"]), autocommit=True) as conn:
        conn.execute("SET lock_timeout = '30s'")  # fail loudly rather than hang
        conn.execute(truncate_statement())
    _flush_redis_except_workers(Redis.from_url(service_urls["redis_url"]))
    with app.app_context():
        from webapp.cli import seed_demo
        seed_demo(2025)
    yield


def _flush_redis_except_workers(conn: Redis) -> None:
    # The session worker's own registration must survive, or RQ would think it died.
    doomed = [key for key in conn.scan_iter(count=1000) if not key.startswith(b"rq:worker")]
    if doomed:
        conn.delete(*doomed)


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield app


def create_extra_app(config: dict):
    """A second app in this process (other servers, other settings) that leaves the
    session's app as it was.

    The rate limiter is one object for the process, and each create_app() points its
    storage at that app's Redis: left so, the session's app would count logins in the
    other app's Redis (which a test may kill, or which may not exist). Its state is put
    back once a first app has set it.
    """
    from webapp import create_app
    from webapp.extensions import limiter

    saved = dict(limiter.__dict__)
    extra = create_app(config)
    if saved.get("_storage") is not None:
        limiter.__dict__.clear()
        limiter.__dict__.update(saved)
    return extra
