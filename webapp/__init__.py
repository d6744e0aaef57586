"""Carbon Sync: upload CSV files or sync external APIs into a carbon inventory."""

from __future__ import annotations

import logging

from flask import Flask

from webapp.config import ROOT, ConfigError, load_config
from webapp.extensions import csrf, db, limiter, login_manager, migrate


def create_app(overrides: dict | None = None) -> Flask:
    """Build the app from the environment; `overrides` win (tests use them).

    Raises:
        ConfigError: when a required setting is missing.
    """
    app = Flask(__name__, template_folder=str(ROOT / "templates"),
                static_folder=str(ROOT / "static"), instance_path=str(ROOT / "instance"))
    app.config.update(load_config())
    app.config.update(overrides or {})
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        raise ConfigError("No database configured: set DATABASE_URL, or run `make run`, "
                          "which starts a private PostgreSQL and records its URL under instance/.")
    if not app.config.get("REDIS_URL"):
        raise ConfigError("No Redis configured: set REDIS_URL, or run `make run`.")

    from webapp.logs import configure_logging
    configure_logging(app)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    csrf.init_app(app)
    login_manager.init_app(app)
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["REDIS_URL"])
    limiter.init_app(app)

    from webapp import auth, cli, http_errors, security
    from webapp.sso import provider as sso_provider
    auth.init_app(app)
    sso_provider.init_app(app)
    cli.init_app(app)
    http_errors.init_app(app)
    security.init_app(app)
    _load_job_kinds()
    _load_provider_plugins(app)

    from webapp.api import api_bp
    from webapp.views import register_views
    app.register_blueprint(api_bp)
    register_views(app)

    logging.getLogger(__name__).debug("app created (%s)", app.config["APP_ENV"])
    return app


# The modules holding job kinds (webapp/jobs/kinds.py); each registers its kinds, and
# subscribes to the engine's signals, when imported.
JOB_KIND_MODULES = ("webapp.ingestion.kinds", "webapp.ingestion.undo", "webapp.emissions.job",
                    "webapp.organisation.unit_jobs", "webapp.organisation.unit_undo",
                    "webapp.feeds.kind")


def _load_job_kinds() -> None:
    import importlib

    for name in JOB_KIND_MODULES:
        importlib.import_module(name)


def _load_provider_plugins(app: Flask) -> None:
    """Import the modules named in PROVIDER_PLUGINS; each registers providers on import."""
    import importlib

    for name in filter(None, (app.config.get("PROVIDER_PLUGINS") or "").split(",")):
        importlib.import_module(name.strip())
