"""What every request and response goes through (SPEC §12): ids within PostgreSQL's
range, no NUL or lone surrogate in any input, and the security headers."""

from __future__ import annotations

import re

from flask import Flask, Response, current_app, request
from werkzeug.routing import IntegerConverter

from webapp.errors import BadRequest

INT4_MAX = 2**31 - 1

# PostgreSQL text cannot hold NUL, and UTF-8 cannot encode a lone surrogate: either one
# reaching the database is a 500, so the request is refused before anything reads it.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

# Scripts and styles come from our static files only: no inline script, no eval, and
# the pages cannot be framed (clickjacking).
CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
    "object-src 'none'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'"))
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
HSTS = "max-age=31536000; includeSubDomains"


class IdConverter(IntegerConverter):
    """`<id:job_id>`: a positive int4, the range of our id columns. A larger number
    matches no route, so it is a 404 like any id that does not exist.

    The range is in the pattern, not only in min/max: a value the converter refuses
    after matching makes werkzeug answer 405 where routes of other methods share the path
    (GET/PATCH/DELETE /schedules/<id>). 1..2147483647, no leading zeros."""

    regex = (r"(?:[1-9]\d{0,8}|1\d{9}|20\d{8}|21[0-3]\d{7}|214[0-6]\d{6}|2147[0-3]\d{5}"
             r"|21474[0-7]\d{4}|214748[0-2]\d{3}|2147483[0-5]\d{2}|21474836[0-3]\d"
             r"|214748364[0-7])")

    def __init__(self, url_map, **kwargs):
        super().__init__(url_map, min=1, max=INT4_MAX, **kwargs)


def unstorable(value: str) -> str | None:
    """Why `value` cannot be stored, or None."""
    found = UNSTORABLE.search(value)
    if found is None:
        return None
    return "a NUL byte" if found.group() == "\x00" else "an invalid character (a lone surrogate)"


def check_text(where: str, value: str) -> None:
    """Refuse (400) a text input PostgreSQL could not store, naming where it came from."""
    reason = unstorable(value)
    if reason:
        raise BadRequest(f"{where} contains {reason}")


def _check_request_inputs() -> None:
    """Query parameters, form fields and file names, for every route at once."""
    # A multipart part without a name has the key None.
    for key, value in request.args.items(multi=True):
        check_text(f"query parameter {key!r}", (key or "") + value)
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        for key, value in request.form.items(multi=True):
            check_text(f"form field {key!r}", (key or "") + value)
        for key, file in request.files.items(multi=True):
            check_text(f"the file name of {key!r}", file.filename or "")


def _add_headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if current_app.config.get("APP_ENV") == "production":  # browsers then refuse plain HTTP
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def init_app(app: Flask) -> None:
    app.url_map.converters["id"] = IdConverter
    # First: the login check and CSRF read these same inputs.
    app.before_request_funcs.setdefault(None, []).insert(0, _check_request_inputs)
    app.after_request(_add_headers)
