"""One Config read from the environment; fails fast, with a sentence, when a setting is missing."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from webapp.time_zones import is_zone

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

# The HR headcount API (OAuth2 client credentials); see
# webapp/ingestion/providers/hr_api/settings.py for what each means.
HR_KEYS = (
    "HR_API_URL", "HR_TOKEN_URL", "HR_CLIENT_ID", "HR_CLIENT_SECRET", "HR_TIMEOUT_S",
    "HR_RETRY_BACKOFF_S", "HR_PAGE_SIZE",
)

# Single sign-on (OpenID Connect): all three or none; OIDC_GROUPS_CLAIM has a default.
OIDC_REQUIRED_KEYS = ("OIDC_ISSUER", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET")
FALSE_WORDS = ("0", "false", "no", "off")

APP_ENVS = ("development", "production")  # what the code knows; anything else is a typo
MIN_SECRET_KEY_LENGTH = 32


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
        # Created owner-only (O_EXCL: if two processes race, one writes, both read it);
        # write_text() then chmod() would leave it world-readable for a moment.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def _check_secret_key(secret_key: str | None, production: bool) -> None:
    if secret_key is None:
        return
    if not secret_key.strip():
        raise ConfigError("SECRET_KEY is blank: set it to a long random string, or unset it "
                          "outside production to use a generated one.")
    if production and len(secret_key) < MIN_SECRET_KEY_LENGTH:
        raise ConfigError(f"SECRET_KEY must be at least {MIN_SECRET_KEY_LENGTH} characters "
                          f"when APP_ENV=production (it has {len(secret_key)}): generate one "
                          "with `python -c 'import secrets; print(secrets.token_urlsafe(48))'`.")


def _trusted_hosts(env: dict, production: bool) -> list[str] | None:
    hosts = [h.strip() for h in env.get("TRUSTED_HOSTS", "").split(",") if h.strip()]
    if production and not hosts:
        raise ConfigError("TRUSTED_HOSTS is required when APP_ENV=production: the "
                          "comma-separated host names the app answers to, e.g. "
                          "carbon.example.org.")
    return hosts or None


def _time_zone(env: dict) -> str:
    """TIME_ZONE: the IANA zone pages show times in (default UTC). A typo would otherwise
    show every time in UTC without a word, so a name that is not a zone stops start-up."""
    name = (env.get("TIME_ZONE") or "").strip() or "UTC"
    if not is_zone(name):
        raise ConfigError(f"TIME_ZONE={name!r} is not an IANA time zone name: use one such "
                          "as Europe/Zurich, America/New_York or UTC.")
    return name


def _int(env: dict, name: str, default: int) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None


def _oidc(env: dict, production: bool) -> dict:
    """The OIDC_* settings, and LOCAL_LOGIN. Half-configured single sign-on stops start-up:
    a missing secret would otherwise show up only when someone first clicks the button."""
    values = {key: (env.get(key) or "").strip() or None for key in OIDC_REQUIRED_KEYS}
    missing = [key for key, value in values.items() if value is None]
    if missing and len(missing) < len(OIDC_REQUIRED_KEYS):
        raise ConfigError(f"Single sign-on is half configured: {', '.join(missing)} "
                          f"missing. Set all of {', '.join(OIDC_REQUIRED_KEYS)}, or none.")
    issuer = values["OIDC_ISSUER"]
    if issuer and not issuer.startswith(("https://", "http://")) \
            or production and issuer and not issuer.startswith("https://"):
        raise ConfigError(f"OIDC_ISSUER must be an https:// URL (the provider's issuer, "
                          f"without /.well-known/...), got {issuer!r}")
    local_login = (env.get("LOCAL_LOGIN") or "1").strip().lower() not in FALSE_WORDS
    if not local_login and missing:
        raise ConfigError("LOCAL_LOGIN=0 turns password login off, but single sign-on is "
                          "not configured (OIDC_ISSUER, OIDC_CLIENT_ID, "
                          "OIDC_CLIENT_SECRET): nobody could log in.")
    return {**values,
            "OIDC_ISSUER": issuer.rstrip("/") if issuer else None,
            "OIDC_GROUPS_CLAIM": (env.get("OIDC_GROUPS_CLAIM") or "").strip() or "groups",
            "LOCAL_LOGIN": local_login}


def load_config(env: dict | None = None) -> dict:
    """Build the Flask config mapping from environment variables.

    Raises:
        ConfigError: when production mode lacks a secret or no database is known.
    """
    env = dict(os.environ if env is None else env)
    app_env = env.get("APP_ENV") or "development"
    if app_env not in APP_ENVS:
        raise ConfigError(f"APP_ENV={app_env!r} is not known: use one of "
                          f"{', '.join(APP_ENVS)}.")
    production = app_env == "production"
    services = _standalone_services()

    secret_key = env.get("SECRET_KEY")
    _check_secret_key(secret_key, production)
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
        "APP_ENV": app_env,
        "SECRET_KEY": secret_key,
        "TRUSTED_HOSTS": _trusted_hosts(env, production),
        "SQLALCHEMY_DATABASE_URI": sqlalchemy_url(database_url) if database_url else None,
        # A server that is down must not hold a request for long: 2 s to connect.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True,
                                      "connect_args": {"connect_timeout": 2}},
        "REDIS_URL": redis_url,
        "RQ_QUEUE": env.get("RQ_QUEUE", "ingestion"),
        "MAX_CONTENT_LENGTH": _int(env, "UPLOAD_MAX_MB", 200) * 1024 * 1024,
        "WORKER_LOST_AFTER_S": _int(env, "WORKER_LOST_AFTER_S", 45),
        "HEARTBEAT_INTERVAL_S": _int(env, "HEARTBEAT_INTERVAL_S", 5),
        "JOB_TIMEOUT_S": _int(env, "JOB_TIMEOUT_S", 6 * 3600),
        "REAPER_INTERVAL_S": _int(env, "REAPER_INTERVAL_S", 10),
        "SCHEDULER_INTERVAL_S": _int(env, "SCHEDULER_INTERVAL_S", 15),  # due schedules
        # Undo (SPEC §11): what a load replaced is kept this long; UNDO_STORE=0 keeps
        # nothing (loads cannot be undone; the bench compares the two).
        "UNDO_KEEP_DAYS": _int(env, "UNDO_KEEP_DAYS", 30),
        "UNDO_STORE": env.get("UNDO_STORE", "1") not in ("0", "false", "no"),
        # Benchmarks time loads alone; everywhere else a load's figures follow it.
        "RECALCULATE_AFTER_LOADS": env.get("RECALCULATE_AFTER_LOADS", "1")
        not in ("0", "false", "no"),
        "PUBLIC_URL": env.get("PUBLIC_URL", ""),  # the job links in failure webhooks
        # Failure webhooks go only to public addresses (SPEC §12); 1 lets them reach
        # loopback and private ones too, for a site whose receiver is internal.
        "WEBHOOK_ALLOW_PRIVATE": env.get("WEBHOOK_ALLOW_PRIVATE", "0") in ("1", "true", "yes"),
        # CSV uploads: widest row and longest cell, enforced while reading (SPEC §12).
        "CSV_MAX_COLUMNS": _int(env, "CSV_MAX_COLUMNS", 500),
        "CSV_MAX_FIELD_KB": _int(env, "CSV_MAX_FIELD_KB", 64),
        # The unit directory's CSV export that `units_file` syncs read (SPEC §13).
        "UNITS_DIRECTORY_FILE": env.get("UNITS_DIRECTORY_FILE") or None,
        # Extra provider modules to import (comma-separated); each registers on import.
        "PROVIDER_PLUGINS": env.get("PROVIDER_PLUGINS", ""),
        "LOG_LEVEL": env.get("LOG_LEVEL", "INFO"),
        # The IANA zone every time on a page is shown in, named (SPEC §15); the API keeps
        # ISO 8601 with its offset.
        "TIME_ZONE": _time_zone(env),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "WTF_CSRF_TIME_LIMIT": None,
    }
    for key in TABLEAU_KEYS + HR_KEYS:
        config[key] = env.get(key) or None
    config.update(_oidc(env, production))
    return config
