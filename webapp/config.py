"""One Config read from the environment; fails fast, with a sentence, when a setting is missing."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = Path(os.environ.get("INSTANCE_PATH", ROOT / "instance"))
# Written by the standalone launcher while its private servers run (webapp/standalone/).
SERVICES_FILE = INSTANCE / "services.json"

TABLEAU_KEYS = (
    "TABLEAU_SERVER_URL", "TABLEAU_SITE_CONTENT_URL", "TABLEAU_API_VERSION",
    "TABLEAU_CONNECTED_APP_CLIENT_ID", "TABLEAU_CONNECTED_APP_SECRET_ID",
    "TABLEAU_CONNECTED_APP_SECRET_VALUE", "TABLEAU_USERNAME",
    "TABLEAU_FLIGHTS_DATASOURCE_LUID", "TABLEAU_VERIFY_SSL", "TABLEAU_TIMEOUT_S",
    # Seconds before the first retry of a 429/5xx without Retry-After (default 1; it
    # doubles on each retry). Tests set it small so retry tests do not sleep.
    "TABLEAU_RETRY_BACKOFF_S",
)


class ConfigError(RuntimeError):
    """A setting is missing or wrong; the message says which and how to fix it."""


def sqlalchemy_url(url: str) -> str:
    """Use psycopg 3 whatever scheme the operator wrote."""
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    raise ConfigError(f"DATABASE_URL must be a postgresql:// URL, got scheme {url.split(':')[0]!r}")


def libpq_url(url: str) -> str:
    """The same URL in the form psycopg.connect() and psql accept."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _standalone_services() -> dict:
    try:
        return json.loads(SERVICES_FILE.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def _standalone_secret_key() -> str:
    """A dev secret kept under instance/ so sessions survive restarts of `make run`."""
    path = INSTANCE / "secret_key"
    if not path.exists():
        INSTANCE.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def _int(env: dict, name: str, default: int) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None


def load_config(env: dict | None = None) -> dict:
    """Build the Flask config mapping from environment variables.

    Raises:
        ConfigError: when production mode lacks a secret or no database is known.
    """
    env = dict(os.environ if env is None else env)
    production = env.get("APP_ENV", "development") == "production"
    services = _standalone_services()

    secret_key = env.get("SECRET_KEY")
    if not secret_key:
        if production:
            raise ConfigError("SECRET_KEY is required when APP_ENV=production: "
                              "set it to a long random string.")
        secret_key = _standalone_secret_key()

    database_url = env.get("DATABASE_URL") or services.get("database_url")
    redis_url = env.get("REDIS_URL") or services.get("redis_url")
    if production and not (env.get("DATABASE_URL") and env.get("REDIS_URL")):
        raise ConfigError("DATABASE_URL and REDIS_URL are required when APP_ENV=production.")

    config = {
        "APP_ENV": "production" if production else "development",
        "SECRET_KEY": secret_key,
        "SQLALCHEMY_DATABASE_URI": sqlalchemy_url(database_url) if database_url else None,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "REDIS_URL": redis_url,
        "RQ_QUEUE": env.get("RQ_QUEUE", "ingestion"),
        "MAX_CONTENT_LENGTH": _int(env, "UPLOAD_MAX_MB", 200) * 1024 * 1024,
        "WORKER_LOST_AFTER_S": _int(env, "WORKER_LOST_AFTER_S", 45),
        "HEARTBEAT_INTERVAL_S": _int(env, "HEARTBEAT_INTERVAL_S", 5),
        "JOB_TIMEOUT_S": _int(env, "JOB_TIMEOUT_S", 6 * 3600),
        "REAPER_INTERVAL_S": _int(env, "REAPER_INTERVAL_S", 10),
        # Extra provider modules to import (comma-separated); each registers on import.
        "PROVIDER_PLUGINS": env.get("PROVIDER_PLUGINS", ""),
        "LOG_LEVEL": env.get("LOG_LEVEL", "INFO"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "WTF_CSRF_TIME_LIMIT": None,
    }
    for key in TABLEAU_KEYS:
        config[key] = env.get(key) or None
    return config
