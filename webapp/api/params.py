"""Request arguments for every handler: whole numbers, paging, JSON bodies and
JSON-encoded fields, a sync's payload as JSON or as a form with a file, and the
`{items, total, limit, offset}` list envelope.

Every refusal is a 400 naming the argument. A JSON value is checked before anything
stores it (SPEC §12): at most MAX_DEPTH levels deep, no NUL or lone surrogate in its
strings and keys, no NaN or Infinity (PostgreSQL's jsonb holds none of them).
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask import request
from werkzeug.exceptions import UnsupportedMediaType

from webapp.errors import BadRequest
from webapp.security import unstorable

MAX_DEPTH = 32
MAX_LIMIT = 500
MAX_OFFSET = 10**9
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")
JSON_TYPES = {dict: "an object", list: "an array", str: "a string", int: "a whole number",
              float: "a number", bool: "true or false", type(None): "null"}


def int_arg(name: str, default: int, minimum: int = 0, maximum: int = MAX_LIMIT) -> int:
    """`?name=` as a whole number within [minimum, maximum]; `default` when absent."""
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be a whole number") from None
    if not minimum <= value <= maximum:
        raise BadRequest(f"{name} must be between {minimum} and {maximum}")
    return value


def page_args(default_limit: int = 20) -> tuple[int, int]:
    """`?limit=&offset=`, bounded."""
    return int_arg("limit", default_limit, 1, MAX_LIMIT), int_arg("offset", 0, 0, MAX_OFFSET)


def accepted(job, **links) -> tuple[dict, int]:
    """The plan's 202 body for a job a request started, with its links (`retry_of`, ...)."""
    return {"job_id": job.id, "status": job.status, "status_code": job.status_code,
            "message": job.message, **links}, 202


def listing(items: list, total: int, limit: int | None = None, offset: int = 0) -> dict:
    """The list envelope; `limit` defaults to the items' count (unpaged lists)."""
    return {"items": items, "total": total,
            "limit": len(items) if limit is None else limit, "offset": offset}


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a JSON number PostgreSQL can store")


def parse_json(raw: str | bytes, name: str, expected: str = "valid JSON") -> Any:
    """`raw` as a JSON value, refused (400, naming `name`) when it is not JSON or breaks
    the rules above."""
    try:
        text = raw.decode("utf-8", "surrogatepass") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError:
        raise BadRequest(f"{name} must be UTF-8 encoded JSON") from None
    depth = 0
    # Counted before parsing: Python's parser recurses, and ~100,000 levels crash it.
    for bracket in _BRACKETS.findall(_STRINGS.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        if depth > MAX_DEPTH:
            raise BadRequest(f"{name} is nested deeper than {MAX_DEPTH} levels")
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except ValueError as error:
        raise BadRequest(f"{name} must be {expected} ({getattr(error, 'msg', error)})"
                         ) from None
    _check_strings(value, name)
    return value


def _check_strings(value: Any, where: str) -> None:
    if isinstance(value, str):
        reason = unstorable(value)
        if reason:
            raise BadRequest(f"{where} contains {reason}")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_strings(key, f"a key of {where}")
            _check_strings(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_strings(item, f"{where}[{index}]")


def expect_type(value: Any, name: str, *kinds: type) -> Any:
    """`value` if it is None or one of `kinds` (JSON true/false is not a number)."""
    if value is None or (isinstance(value, kinds)
                         and not (isinstance(value, bool) and bool not in kinds)):
        return value
    wanted = " or ".join(JSON_TYPES[kind] for kind in kinds)
    raise BadRequest(f"{name} must be {wanted}, not {JSON_TYPES.get(type(value), 'that')}",
                     field=name)


def json_object() -> dict[str, Any]:
    """The request's body: a JSON object, checked as above."""
    body = parse_json(request.get_data(cache=True), "the body")
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body


def json_body(fields: dict[str, tuple[type, ...]]) -> dict[str, Any]:
    """The request's JSON object, with `fields` (name -> accepted types, none = any)
    picked out."""
    body = json_object()
    return {name: expect_type(body.get(name), name, *kinds) if kinds else body.get(name)
            for name, kinds in fields.items()}


def json_value(raw: str | None, name: str) -> Any:
    """A form field holding JSON; None if blank."""
    if raw is None or not raw.strip():
        return None
    return parse_json(raw, name)


def json_field(raw: str | None, name: str) -> dict[str, Any] | None:
    """A form field holding a JSON object (`config={"on_error": "skip"}`); None if blank."""
    if raw is None or not raw.strip():
        return None
    value = parse_json(raw, name, "a JSON object")
    if not isinstance(value, dict):
        raise BadRequest(f'{name} must be a JSON object, like {{"on_error": "skip"}}',
                         field=name)
    return value


# A sync's form fields sent as JSON text in multipart/form-data (a file rides beside them).
_JSON_FORM_FIELDS = {"filters": json_value, "config": json_field}


def payload_with_file(fields: dict[str, tuple[type, ...]]) -> dict[str, Any]:
    """A sync's payload: `fields` from a JSON body (as json_body), or from
    multipart/form-data, where filters and config are JSON text and a `file` part
    becomes `new_file` (stream, filename, content type) for the job to store.

    Raises:
        UnsupportedMediaType: neither JSON nor multipart/form-data (415).
    """
    if request.mimetype == "multipart/form-data":
        form = request.form
        payload = {name: _JSON_FORM_FIELDS[name](form.get(name), name)
                   if name in _JSON_FORM_FIELDS else form.get(name) for name in fields}
        file = request.files.get("file")
        if file is not None and file.filename:
            payload["new_file"] = (file.stream, file.filename, file.mimetype)
        return payload
    if request.mimetype != "application/json":
        raise UnsupportedMediaType("send application/json, or multipart/form-data with a "
                                   "'file' part for csv_upload")
    return json_body(fields)
