"""CSRF for browser sessions that call the API. (Errors are answered by
webapp/http_errors.py, as JSON under /api/.)"""

from flask import g, request

from webapp.api import api_bp
from webapp.extensions import csrf

csrf.exempt(api_bp)  # bearer-token calls carry no CSRF token; sessions are checked below


@api_bp.before_request
def check_csrf_for_sessions():
    # A browser session calling a state-changing endpoint must prove it came from our pages.
    if request.method in ("POST", "PUT", "PATCH", "DELETE") and not g.get("auth_via_token"):
        csrf.protect()
