"""Server-rendered pages (Jinja + HTMX). Views parse, call one service function, render."""

from flask import Flask, render_template, request
from werkzeug.exceptions import HTTPException, SecurityError

from webapp.auth import is_api_request, json_error


def register_views(app: Flask) -> None:
    from webapp.views.audit import audit_bp
    from webapp.views.auth import auth_bp
    from webapp.views.dashboard import dashboard_bp
    from webapp.views.jobs import jobs_bp
    from webapp.views.modules import modules_bp
    from webapp.views.schedules import schedules_bp

    app.register_blueprint(audit_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(jobs_bp)
    app.register_blueprint(modules_bp)
    app.register_blueprint(schedules_bp)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        status = error.code or 500
        if is_api_request():
            from webapp.api.errors import ERROR_CODES
            return json_error(status, ERROR_CODES.get(status, "error"), error.description)
        return render_template("errors/error.html", code=status,
                               message=error.description), status

    @app.errorhandler(SecurityError)
    def untrusted_host(error: SecurityError):
        # A Host outside TRUSTED_HOSTS has no URL adapter, so no page (url_for) can render.
        if is_api_request():
            return json_error(400, "bad_request", error.description)
        return error.description, 400, {"Content-Type": "text/plain; charset=utf-8"}

    @app.context_processor
    def inject_htmx_flag():
        return {"is_htmx": request.headers.get("HX-Request") == "true"}
