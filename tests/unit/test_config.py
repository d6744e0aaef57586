"""load_config() and create_app() fail fast with a sentence naming what to fix."""

from __future__ import annotations

import json

import pytest

from webapp import config as config_module
from webapp.config import ConfigError, load_config, sqlalchemy_url

PROD = {"APP_ENV": "production", "SECRET_KEY": "s" * 40,
        "DATABASE_URL": "postgresql://u:p@db/carbon", "REDIS_URL": "redis://cache:6379/0",
        "TRUSTED_HOSTS": "carbon.example.org, www.carbon.example.org"}


@pytest.fixture(autouse=True)
def isolated_instance(tmp_path, monkeypatch):
    """Keep a running `make run` (instance/services.json, instance/secret_key) out."""
    monkeypatch.setattr(config_module, "INSTANCE", tmp_path)
    monkeypatch.setattr(config_module, "SERVICES_FILE", tmp_path / "services.json")
    return tmp_path


def test_production_without_secret_key_is_refused():
    env = {k: v for k, v in PROD.items() if k != "SECRET_KEY"}
    with pytest.raises(ConfigError, match=r"SECRET_KEY is required when APP_ENV=production"):
        load_config(env)


@pytest.mark.parametrize("missing", ["DATABASE_URL", "REDIS_URL"])
def test_production_needs_database_and_redis_urls(missing, isolated_instance):
    # Even a standalone services.json must not stand in for them in production.
    (isolated_instance / "services.json").write_text(json.dumps(
        {"database_url": "postgresql://x@localhost/y", "redis_url": "redis://localhost/0"}))
    env = {k: v for k, v in PROD.items() if k != missing}
    with pytest.raises(ConfigError, match=missing):
        load_config(env)


def test_production_config_is_read_from_the_environment():
    config = load_config({**PROD, "UPLOAD_MAX_MB": "5", "WORKER_LOST_AFTER_S": "30"})
    assert config["APP_ENV"] == "production"
    assert config["SECRET_KEY"] == PROD["SECRET_KEY"]
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@db/carbon"
    assert config["REDIS_URL"] == PROD["REDIS_URL"]
    assert config["MAX_CONTENT_LENGTH"] == 5 * 1024 * 1024
    assert config["WORKER_LOST_AFTER_S"] == 30
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["TRUSTED_HOSTS"] == ["carbon.example.org", "www.carbon.example.org"]


@pytest.mark.parametrize("url", ["postgres://u:p@h:5432/d", "postgresql://u:p@h:5432/d",
                                 "postgresql+psycopg://u:p@h:5432/d"])
def test_database_url_schemes_become_psycopg3(url):
    assert sqlalchemy_url(url) == "postgresql+psycopg://u:p@h:5432/d"
    assert load_config({**PROD, "DATABASE_URL": url})["SQLALCHEMY_DATABASE_URI"] == \
        "postgresql+psycopg://u:p@h:5432/d"


def test_a_non_postgresql_url_is_refused():
    with pytest.raises(ConfigError, match=r"DATABASE_URL must be a postgresql:// URL.*'mysql'"):
        load_config({**PROD, "DATABASE_URL": "mysql://u@h/d"})


@pytest.mark.parametrize("name", ["UPLOAD_MAX_MB", "WORKER_LOST_AFTER_S",
                                  "HEARTBEAT_INTERVAL_S", "REAPER_INTERVAL_S", "JOB_TIMEOUT_S"])
def test_a_bad_integer_names_the_variable(name):
    with pytest.raises(ConfigError, match=rf"{name} must be a whole number, got 'ten'"):
        load_config({**PROD, name: "ten"})


def test_development_uses_the_standalone_services_and_a_kept_secret(isolated_instance):
    (isolated_instance / "services.json").write_text(json.dumps(
        {"database_url": "postgresql://me@127.0.0.1:5999/carbon",
         "redis_url": "redis://127.0.0.1:6999/0"}))
    first, second = load_config({}), load_config({})
    assert first["APP_ENV"] == "development"
    assert first["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://me@127.0.0.1:5999/carbon"
    assert first["REDIS_URL"] == "redis://127.0.0.1:6999/0"
    assert first["SECRET_KEY"] and first["SECRET_KEY"] == second["SECRET_KEY"]
    assert (isolated_instance / "secret_key").stat().st_mode & 0o077 == 0


def test_create_app_without_a_database_names_database_url(monkeypatch):
    from webapp import create_app

    for name in ("DATABASE_URL", "REDIS_URL", "APP_ENV"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        create_app()


def test_create_app_without_redis_names_redis_url(monkeypatch):
    from webapp import create_app

    for name in ("REDIS_URL", "APP_ENV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@127.0.0.1:1/none")
    with pytest.raises(ConfigError, match="REDIS_URL"):
        create_app()


@pytest.mark.parametrize("key", ["x", "s" * 31])
def test_production_refuses_a_short_secret_key(key):
    with pytest.raises(ConfigError, match=rf"SECRET_KEY must be at least 32 characters "
                                          rf"when APP_ENV=production \(it has {len(key)}\)"):
        load_config({**PROD, "SECRET_KEY": key})


def test_a_32_character_secret_key_is_enough_in_production():
    assert load_config({**PROD, "SECRET_KEY": "k" * 32})["SECRET_KEY"] == "k" * 32


@pytest.mark.parametrize("app_env", ["production", "development"])
@pytest.mark.parametrize("key", ["", "   "])
def test_a_blank_secret_key_is_refused_in_any_env(app_env, key):
    with pytest.raises(ConfigError, match="SECRET_KEY is blank"):
        load_config({**PROD, "APP_ENV": app_env, "SECRET_KEY": key})


@pytest.mark.parametrize("app_env", ["prod", "Production", "staging", "test "])
def test_an_unknown_app_env_names_it(app_env):
    with pytest.raises(ConfigError, match=rf"APP_ENV={app_env!r} is not known: use one of "
                                          r"development, production"):
        load_config({**PROD, "APP_ENV": app_env})


def test_an_unknown_app_env_stops_create_app(monkeypatch):
    from webapp import create_app

    monkeypatch.setenv("APP_ENV", "prod")
    with pytest.raises(ConfigError, match="APP_ENV='prod' is not known"):
        create_app()


@pytest.mark.parametrize("hosts", [None, "", " , "])
def test_production_needs_trusted_hosts(hosts):
    env = {k: v for k, v in PROD.items() if k != "TRUSTED_HOSTS"}
    if hosts is not None:
        env["TRUSTED_HOSTS"] = hosts
    with pytest.raises(ConfigError, match="TRUSTED_HOSTS is required when APP_ENV=production"):
        load_config(env)


def test_development_trusts_any_host_unless_told():
    assert load_config({})["TRUSTED_HOSTS"] is None
    assert load_config({"TRUSTED_HOSTS": "a.test,b.test"})["TRUSTED_HOSTS"] == \
        ["a.test", "b.test"]


def test_trusted_hosts_refuse_another_host(monkeypatch, service_urls):
    from webapp import create_app

    for name in ("APP_ENV", "SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    app = create_app({"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://u@127.0.0.1:1/none",
                      "REDIS_URL": service_urls["redis_url"],
                      "TRUSTED_HOSTS": ["carbon.example.org"]})
    client = app.test_client()
    refused = client.get("/login", headers={"Host": "evil.example"})
    assert refused.status_code == 400
    assert "evil.example" in refused.get_data(as_text=True)
    api_refused = client.get("/api/v1/healthz", headers={"Host": "evil.example"})
    assert api_refused.status_code == 400 and api_refused.get_json()["error"] == "bad_request"
    assert client.get("/login", headers={"Host": "carbon.example.org"}).status_code == 200


def test_the_secret_key_file_is_never_readable_by_others(isolated_instance, monkeypatch):
    """Created with mode 600 by os.open itself: even a umask of 000 gives no moment where
    the key is world-readable (write_text() then chmod() would)."""
    import os

    created = []
    real_open = os.open

    def watching_open(path, flags, mode=0o777, *args, **kwargs):
        if str(path).endswith("secret_key") and flags & os.O_CREAT:
            created.append(mode)
        return real_open(path, flags, mode, *args, **kwargs)

    monkeypatch.setattr(config_module.os, "open", watching_open)
    old_umask = os.umask(0)
    try:
        key = load_config({})["SECRET_KEY"]
    finally:
        os.umask(old_umask)
    assert created == [0o600]
    assert (isolated_instance / "secret_key").stat().st_mode & 0o777 == 0o600
    assert len(key) >= 32 and load_config({})["SECRET_KEY"] == key
