"""JSON errors for the API, and CSRF for browser sessions that call it."""

from flask import g, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from webapp.api import api_bp
from webapp.auth import json_error
from webapp.extensions import csrf
from webapp.ingestion.jobs.states import IllegalTransition
from webapp.ingestion.refusals import ServiceError

csrf.exempt(api_bp)  # bearer-token calls carry no CSRF token; sessions are checked below

ERROR_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 409: "conflict", 413: "payload_too_large",
    415: "unsupported_media_type", 422: "unprocessable_entity", 500: "internal_error",
    503: "service_unavailable",
}


class ApiError(Exception):
    """Raised by API handlers and the service layer to answer with a JSON error."""

    def __init__(self, status: int, message: str, **extra):
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


@api_bp.before_request
def check_csrf_for_sessions():
    # A browser session calling a state-changing endpoint must prove it came from our pages.
    if request.method in ("POST", "PUT", "PATCH", "DELETE") and not g.get("auth_via_token"):
        csrf.protect()


@api_bp.errorhandler(ApiError)
def handle_api_error(error: ApiError):
    code = error.extra.pop("code", None) or ERROR_CODES.get(error.status, "error")
    return json_error(error.status, code, error.message, **error.extra)


@api_bp.errorhandler(CSRFError)
def handle_csrf_error(error: CSRFError):
    return json_error(400, "csrf_failed", error.description)


@api_bp.errorhandler(HTTPException)
def handle_http_error(error: HTTPException):
    status = error.code or 500
    return json_error(status, ERROR_CODES.get(status, "error"), error.description)


@api_bp.errorhandler(ServiceError)
def handle_service_error(error: ServiceError):
    return json_error(error.status, ERROR_CODES.get(error.status, "error"), error.message,
                      **error.details)


@api_bp.errorhandler(IllegalTransition)
def handle_illegal_transition(error: IllegalTransition):
    return json_error(409, "conflict", str(error))
