"""Server-rendered pages (Jinja + HTMX). Views parse, call one service function, render."""

from flask import Flask, Response, current_app, send_from_directory

from webapp import access
from webapp.jobs.states import ACTIVE, RETRYABLE, JobStatus


def register_views(app: Flask) -> None:
    from webapp.sso import provider as sso_provider
    from webapp.views import formatting
    from webapp.views.account import account_bp
    from webapp.views.admin_sync import sync_admin_bp
    from webapp.views.admin_units import units_admin_bp
    from webapp.views.admin_users import users_admin_bp
    from webapp.views.audit import audit_bp
    from webapp.views.auth import auth_bp
    from webapp.views.dashboard import dashboard_bp
    from webapp.views.htmx import is_htmx
    from webapp.views.jobs import (
        corrected_upload_url,
        jobs_bp,
        replace_needs_confirmation,
        retry_can_help,
    )
    from webapp.views.modules import modules_bp
    from webapp.views.reports import reports_bp
    from webapp.views.schedules import schedules_bp
    from webapp.views.sso import sso_bp
    from webapp.views.tokens import tokens_bp

    app.register_blueprint(account_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(jobs_bp)
    app.register_blueprint(modules_bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(schedules_bp)
    app.register_blueprint(tokens_bp)
    app.register_blueprint(sync_admin_bp)
    app.register_blueprint(units_admin_bp)
    app.register_blueprint(users_admin_bp)
    if sso_provider.configured(app):  # no single sign-on routes without a provider
        app.register_blueprint(sso_bp)
    formatting.register(app)
    # Templates ask states.py which states are active or retryable, never a list of their own,
    # and jobs.py whether a retry can help and where a corrected file goes.
    app.jinja_env.globals.update(ACTIVE=ACTIVE, RETRYABLE=RETRYABLE,
                                 STATES=[state.value for state in JobStatus],
                                 retry_can_help=retry_can_help,
                                 replace_needs_confirmation=replace_needs_confirmation,
                                 corrected_upload_url=corrected_upload_url)
    app.context_processor(lambda: {"is_htmx": is_htmx(),
                                   "sso_configured": sso_provider.configured(app),
                                   "manages_units": access.manages_units})
    app.add_url_rule("/favicon.ico", "favicon", favicon)


def favicon() -> Response:
    """Browsers ask for /favicon.ico whatever a page links (tabs, bookmarks, other
    tools); answer with the same icon as the pages' <link rel=icon>, not a 404."""
    return send_from_directory(current_app.static_folder, "favicon.svg",
                               mimetype="image/svg+xml", max_age=86_400)
