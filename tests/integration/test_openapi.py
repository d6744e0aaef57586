"""/api/v1/openapi.json is valid OpenAPI and describes every /api/v1 route; /healthz."""

from __future__ import annotations

import re
import socket

from openapi_spec_validator import validate

PREFIX = "/api/v1"
IGNORED_METHODS = {"HEAD", "OPTIONS"}


def _openapi_path(rule: str) -> str:
    """'/api/v1/sync/errors/<int:job_id>.csv' -> '/sync/errors/{job_id}.csv'."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule[len(PREFIX):])


def _api_routes(app) -> dict[str, set[str]]:
    routes: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(PREFIX + "/"):
            methods = {m.lower() for m in rule.methods - IGNORED_METHODS}
            routes.setdefault(_openapi_path(rule.rule), set()).update(methods)
    return routes


def test_document_is_valid_openapi_31(api):
    response = api.get("/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"].startswith("3.1")
    assert spec["servers"] == [{"url": PREFIX}]
    validate(spec)


def test_every_api_route_is_described_with_its_methods(app, api):
    paths = api.get("/openapi.json").get_json()["paths"]
    routes = _api_routes(app)
    assert "/sync/status/{job_id}" in routes  # the conversion itself works
    missing = {path: sorted(methods - set(paths.get(path, {})))
               for path, methods in routes.items() if methods - set(paths.get(path, {}))}
    assert not missing, f"routes missing from openapi.json: {missing}"
    stale = sorted(set(paths) - set(routes))
    assert not stale, f"openapi.json describes routes that do not exist: {stale}"
    for path, operations in paths.items():
        for method, operation in operations.items():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == set(re.findall(r"{(\w+)}", path)), (method, path)


def test_healthz_is_public_and_ok_when_both_are_up(app):
    response = app.test_client().get(f"{PREFIX}/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "redis": "ok"}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_healthz_is_503_when_redis_is_unreachable(app, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", f"redis://127.0.0.1:{_closed_port()}/0")
    monkeypatch.setitem(app.extensions, "carbon_redis", None)  # restored after the test
    response = app.test_client().get(f"{PREFIX}/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable"
    assert body["database"] == "ok"
    assert body["redis"].startswith("unreachable")
