"""pytest plugin: the servers the suite talks to. A real PostgreSQL and a real Redis
(private ones started from the pip wheels, with passwords, unless TEST_DATABASE_URL /
TEST_REDIS_URL are set), the Tableau stand-in and the HR stand-in."""

from __future__ import annotations

import os

import pytest

from webapp.config import libpq_url


@pytest.fixture(scope="session")
def service_urls(tmp_path_factory):
    """{"database_url", "redis_url", "admin_database_url"}: the app role's URLs, and one
    allowed to create databases (the superuser of a private server)."""
    database_url = os.environ.get("TEST_DATABASE_URL")
    admin_url = database_url
    redis_url = os.environ.get("TEST_REDIS_URL")
    started = []
    if not database_url:
        from webapp.standalone.embedded import start_postgres
        server = start_postgres(tmp_path_factory.mktemp("pg") / "data", "carbonsync_test")
        started.append(server)
        database_url, admin_url = server.url, server.admin_url
    if not redis_url:
        from webapp.standalone.embedded import start_redis
        server = start_redis(tmp_path_factory.mktemp("redis"))
        started.append(server)
        redis_url = server.url.rsplit("/", 1)[0] + "/15"  # a dedicated database, flushed
    yield {"database_url": database_url, "redis_url": redis_url,
           "admin_database_url": admin_url}
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def tableau_standin():
    """The Tableau stand-in (real HTTP, Tableau's wire protocol) that app and workers use."""
    from webapp.standalone.tableau_standin.server import StandIn

    standin = StandIn()
    standin.start()
    yield standin
    standin.stop()


@pytest.fixture(scope="session")
def hr_standin():
    """The HR API stand-in (real HTTP, OAuth2 client credentials) that app and workers use."""
    from webapp.standalone.hr_standin.server import HrStandIn

    standin = HrStandIn()
    standin.start()
    yield standin
    standin.stop()


@pytest.fixture
def db_url(service_urls):
    return libpq_url(service_urls["database_url"])
