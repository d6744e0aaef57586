"""load_config() and create_app() fail fast with a sentence naming what to fix."""

from __future__ import annotations

import json

import pytest

from webapp import config as config_module
from webapp.config import ConfigError, load_config, sqlalchemy_url

PROD = {"APP_ENV": "production", "SECRET_KEY": "s" * 40,
        "DATABASE_URL": "postgresql://u:p@db/carbon", "REDIS_URL": "redis://cache:6379/0"}


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
