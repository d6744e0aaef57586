"""Every error a request can end with, answered in one place: JSON `{"error": code,
"message": ..., **details}` under /api/, a page elsewhere.

Each handler rolls the database session back first: the error may have left it failed,
and rendering a page reads the current user through that same session.
"""

from __future__ import annotations

import logging

import psycopg
import redis
from flask import Flask, Response, current_app, g, jsonify, make_response, render_template, request
from flask_login import AnonymousUserMixin
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import (
    HTTPException,
    InternalServerError,
    RequestEntityTooLarge,
    SecurityError,
)

from webapp.errors import Conflict, Refusal
from webapp.extensions import db
from webapp.jobs.states import IllegalTransition

log = logging.getLogger(__name__)

ERROR_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 413: "payload_too_large",
    415: "unsupported_media_type", 422: "unprocessable_entity", 429: "too_many_requests",
    500: "internal_error", 503: "service_unavailable",
}


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def error_response(status: int, message: str, code: str | None = None, /, **details):
    """The one shape of an error: JSON for the API, the error page for browsers.

    Positional-only: a detail named "status" (e.g. the job's state) must not collide.
    """
    if is_api_request():
        body = {"error": code or ERROR_CODES.get(status, "error"), "message": message,
                **details}
        return jsonify(body), status
    return render_template("errors/error.html", code=status, message=message), status


def size_limit() -> str:
    """MAX_CONTENT_LENGTH in words, for the 413 message ('200 MB')."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
    if limit >= 2**20:
        return f"{limit // 2**20} MB"
    return f"{limit // 2**10} KB" if limit >= 2**10 else f"{limit} bytes"


def _service_refusal(error: Refusal):
    db.session.rollback()
    return error_response(error.status_code, error.message, None, **error.details)


def _illegal_transition(error: IllegalTransition):
    return _service_refusal(Conflict(str(error)))


def _csrf_failed(error: CSRFError):
    db.session.rollback()
    return error_response(400, error.description, "csrf_failed")


def _http_error(error: HTTPException):
    db.session.rollback()
    status = error.code or 500
    message = error.description
    if isinstance(error, RequestEntityTooLarge) and message == RequestEntityTooLarge.description:
        # Werkzeug's own text does not say what the limit is.
        message = f"the file is larger than the {size_limit()} limit"
    return error_response(status, message)


def _untrusted_host(error: SecurityError):
    """A Host outside TRUSTED_HOSTS: no URL adapter exists, so no page (url_for) renders."""
    if is_api_request():
        return error_response(400, error.description)
    return error.description, 400, {"Content-Type": "text/plain; charset=utf-8"}


def _database_unreachable(error: Exception):
    """PostgreSQL is down or restarting: a 503 to try again, not a 500. The page must not
    touch the database again, so the caller is shown as anonymous."""
    log.warning("database unreachable: %s", type(error).__name__)
    db.session.rollback()
    g._login_user = AnonymousUserMixin()  # Flask-Login's cache: no user load on render
    return _try_again(error_response(
        503, "The database is unreachable right now; try again shortly."))


def _queue_unreachable(error: Exception):
    log.warning("Redis unreachable: %s", type(error).__name__)
    db.session.rollback()
    return _try_again(error_response(
        503, "The job queue (Redis) is unreachable right now; try again shortly."))


def _try_again(answer) -> Response:
    response = make_response(answer)
    response.headers["Retry-After"] = "5"
    return response


def _server_fault(error: InternalServerError):
    """An unhandled exception: logged with its traceback by Flask; the caller learns
    only that it happened (no internals on the page or in the JSON)."""
    db.session.rollback()
    return error_response(500, "Internal error: the server could not answer this request.")


def init_app(app: Flask) -> None:
    app.register_error_handler(Refusal, _service_refusal)
    app.register_error_handler(IllegalTransition, _illegal_transition)
    app.register_error_handler(CSRFError, _csrf_failed)
    app.register_error_handler(InternalServerError, _server_fault)
    app.register_error_handler(SecurityError, _untrusted_host)
    for error in (OperationalError, InterfaceError, psycopg.OperationalError):
        app.register_error_handler(error, _database_unreachable)
    for error in (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError):
        app.register_error_handler(error, _queue_unreachable)
    app.register_error_handler(HTTPException, _http_error)
