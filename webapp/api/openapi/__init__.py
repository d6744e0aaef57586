"""GET /api/v1/openapi.json: an OpenAPI 3.1 description of every /api/v1 route.

Written out by hand (small helpers keep it short); a test checks every route in the URL
map appears here and that the document validates. The routes are described in
`paths.py`, the request and response bodies they name in `schemas.py`.
"""

from __future__ import annotations

from typing import Any

from webapp.api import api_bp
from webapp.api.openapi.parts import error_responses
from webapp.api.openapi.paths import path_items
from webapp.api.openapi.schemas import component_schemas


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Carbon Sync API", "version": "1.0.0",
                 "description": "Sync data entries and emission factors into a carbon "
                                "inventory; poll, retry and cancel jobs."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}, {"session": []}],
        "paths": path_items(),
        "components": {
            "schemas": component_schemas(),
            "responses": error_responses(),
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "`flask tokens create EMAIL NAME`"},
                "session": {"type": "apiKey", "in": "cookie", "name": "session"}},
        },
    }


@api_bp.get("/openapi.json")
def openapi_json():
    return document()
