"""The pieces every path of the OpenAPI document is written with: a JSON body, the shared
error responses, a parameter, a page of items, an operation."""

from __future__ import annotations

from typing import Any

from webapp.api.openapi.schemas import ref


def json_body(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def errors(*codes: int) -> dict[str, Any]:
    return {str(code): {"$ref": f"#/components/responses/E{code}"} for code in codes}


def param(name: str, where: str = "path", schema: dict | None = None,
           description: str = "") -> dict[str, Any]:
    return {"name": name, "in": where, "required": where == "path",
            "schema": schema or {"type": "integer"}, "description": description}


def list_of(item: str) -> dict[str, Any]:
    return {"type": "object", "required": ["items", "total", "limit", "offset"],
            "properties": {"items": {"type": "array", "items": ref(item)},
                           "total": {"type": "integer"}, "limit": {"type": "integer"},
                           "offset": {"type": "integer"}}}


def operation(summary: str, responses: dict[str, Any], *, params=None, body=None,
               tag: str = "sync") -> dict[str, Any]:
    # Any request may be refused as malformed (SPEC §12: a NUL byte in any parameter).
    op: dict[str, Any] = {"summary": summary, "tags": [tag],
                          "responses": {**errors(400), **responses}}
    if params:
        op["parameters"] = params
    if body:
        op["requestBody"] = body
    return op


ERROR_TEXT = {400: "Malformed request", 401: "Not authenticated", 403: "Role not allowed",
              404: "Unknown id", 409: "Conflict with the job's state, an active job or "
              "an existing row",
              413: "File too large", 415: "Unsupported media type",
              422: "Invalid request", 503: "Service or provider unavailable"}


def error_responses() -> dict[str, Any]:
    """The responses `errors()` refers to: one per error code, each with an Error body."""
    return {f"E{code}": json_body(ref("Error"), text) for code, text in ERROR_TEXT.items()}
