"""GET /api/v1/openapi.json: an OpenAPI 3.1 description of every /api/v1 route.

Written out by hand (small helpers keep it short); a test checks every route in the URL
map appears here and that the document validates.
"""

from __future__ import annotations

from typing import Any

from webapp.api import api_bp
from webapp.ingestion.providers.registry import REGISTRY


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    return {str(code): {"$ref": f"#/components/responses/E{code}"} for code in codes}


def _param(name: str, where: str = "path", schema: dict | None = None,
           description: str = "") -> dict[str, Any]:
    return {"name": name, "in": where, "required": where == "path",
            "schema": schema or {"type": "integer"}, "description": description}


def _list_of(item: str) -> dict[str, Any]:
    return {"type": "object", "required": ["items", "total", "limit", "offset"],
            "properties": {"items": {"type": "array", "items": _ref(item)},
                           "total": {"type": "integer"}, "limit": {"type": "integer"},
                           "offset": {"type": "integer"}}}


PAGE = [_param("limit", "query"), _param("offset", "query")]
ENTRY_FILTERS = [
    _param("entry_type", "query", {"type": "string"}),
    _param("source", "query", {"type": "string"}, "provider_type that loaded the entry"),
    _param("job_id", "query", description="the load that wrote the entry"),
    _param("missing", "query", {"enum": ["true", "false"]},
           "true: only entries without emissions; false: only those with"),
    _param("reason", "query", {"type": "string"}, "a missing reason, as the module's "
           "emissions word it")]
CSV = {"description": "CSV file", "content": {"text/csv": {"schema": {"type": "string"}}}}

SYNC_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": _ref("SyncRequest")},
        "multipart/form-data": {"schema": {
            "type": "object", "required": ["provider_type", "year"],
            "properties": {
                "file": {"type": "string", "contentMediaType": "text/csv"},
                "provider_type": {"type": "string"}, "year": {"type": "integer"},
                "filters": {"type": "string", "description": "JSON-encoded object"},
                "config": {"type": "string", "description": "JSON-encoded object, e.g. "
                           '{"on_error": "skip"}'}}}},
    },
}

# Optional: {"confirm_replace": true} retries a load refused 409 for what it would replace.
RETRY_BODY = {"required": False, "content": {"application/json": {"schema": {
    "type": "object", "properties": {"confirm_replace": {"type": "boolean"}}}}}}


def _operation(summary: str, responses: dict[str, Any], *, params=None, body=None,
               tag: str = "sync") -> dict[str, Any]:
    # Any request may be refused as malformed (SPEC §12: a NUL byte in any parameter).
    op: dict[str, Any] = {"summary": summary, "tags": [tag],
                          "responses": {**_errors(400), **responses}}
    if params:
        op["parameters"] = params
    if body:
        op["requestBody"] = body
    return op


AUDIT_ENTRY = {"type": "object", "required": ["id", "at", "action"], "properties": {
    "id": {"type": "integer"}, "at": {"type": "string"},
    "actor_id": {"type": ["integer", "null"]}, "actor_email": {"type": ["string", "null"]},
    "action": {"type": "string"}, "target_type": {"type": ["string", "null"]},
    "target_id": {"type": ["integer", "null"]}, "details": {"type": "object"},
    "client_address": {"type": ["string", "null"]}}}
AUDIT_PAGE = {"type": "object", "required": ["items", "total", "limit", "offset"],
              "properties": {"items": {"type": "array", "items": AUDIT_ENTRY},
                             "total": {"type": "integer"}, "limit": {"type": "integer"},
                             "offset": {"type": "integer"}}}


def _paths() -> dict[str, Any]:
    accepted = {"202": _json(_ref("Accepted"), "Job created and queued")}
    status = {"200": _json(_ref("JobStatus"), "The job")}
    module_id, job_id = _param("module_id"), _param("job_id")
    return {
        "/sync/data-entries/{module_id}": {"post": _operation(
            "Sync a module's data entries", {**accepted, **_errors(400, 401, 403, 404, 409,
                                                                  413, 415, 422, 503)},
            params=[module_id], body=SYNC_BODY)},
        "/sync/factors/{module_id}/{factor_type_id}": {"post": _operation(
            "Sync emission factors of a factor type",
            {**accepted, **_errors(400, 401, 403, 404, 409, 413, 415, 422, 503)},
            params=[module_id, _param("factor_type_id")], body=SYNC_BODY)},
        "/sync/status/{job_id}": {"get": _operation(
            "Poll a job", {**status, **_errors(401, 404)}, params=[job_id])},
        "/sync/history/{module_id}": {"get": _operation(
            "A module's jobs, newest first",
            {"200": _json(_list_of("JobStatus"), "Jobs"), **_errors(400, 401, 404)},
            params=[module_id, _param("provider_type", "query", {"type": "string"}),
                    _param("status", "query", {"type": "string"}), *PAGE])},
        "/sync/retry/{job_id}": {"post": _operation(
            "Retry a failed or cancelled job as a new linked job",
            {**accepted, **_errors(401, 403, 404, 409, 422, 503)}, params=[job_id],
            body=RETRY_BODY)},
        "/sync/apply/{job_id}": {"post": _operation(
            "Load a completed preview for real, as a new linked job (preview_of/applied_by)",
            {**accepted, **_errors(401, 403, 404, 409, 422, 503)}, params=[job_id])},
        "/sync/undo/{job_id}": {"post": _operation(
            "Undo a completed load: a new job restores what it replaced (undo_of/undone_by)",
            {**accepted, **_errors(401, 403, 404, 409, 422, 503)}, params=[job_id])},
        "/sync/cancel/{job_id}": {"post": _operation(
            "Cancel a pending or processing job", {**status, **_errors(401, 403, 404, 409)},
            params=[job_id])},
        "/sync/errors/{job_id}.csv": {"get": _operation(
            "The job's full row-error report", {"200": CSV, **_errors(401, 404)},
            params=[job_id])},
        "/modules": {"get": _operation(
            "Modules with their last-sync badges",
            {"200": _json(_list_of("Module"), "Modules"), **_errors(400, 401)}, params=PAGE,
            tag="catalog")},
        "/modules/{module_id}": {"get": _operation(
            "One module: badges, entry counts, factor types",
            {"200": _json(_ref("ModuleDetail"), "Module"), **_errors(401, 404)},
            params=[module_id], tag="catalog")},
        "/modules/{module_id}/entries": {"get": _operation(
            "A module's stored data entries, with their emissions",
            {"200": _json(_list_of("DataEntry"), "Entries"), **_errors(400, 401, 404)},
            params=[module_id, *ENTRY_FILTERS, *PAGE], tag="catalog")},
        "/modules/{module_id}/entries.csv": {"get": _operation(
            "A module's entries with their emissions as CSV (formula cells neutralised)",
            {"200": CSV, **_errors(400, 401, 404)}, params=[module_id, *ENTRY_FILTERS],
            tag="emissions")},
        "/modules/{module_id}/emissions": {"get": _operation(
            "A module's emissions as of its last recalculation",
            {"200": _json(_ref("ModuleEmissions"), "Module emissions"),
             **_errors(401, 404)}, params=[module_id], tag="emissions")},
        "/inventories/{inventory_id}/emissions": {"get": _operation(
            "An inventory's emissions, module by module",
            {"200": _json(_ref("InventoryEmissions"), "Inventory emissions"),
             **_errors(401, 404)}, params=[_param("inventory_id")], tag="emissions")},
        "/sync/emissions/{module_id}": {"post": _operation(
            "Recalculate a module's emissions (a job; a request during a run makes it "
            "run once more)",
            {"202": _json(_ref("RecalculationAccepted"), "Recalculation queued"),
             **_errors(401, 403, 404, 409, 503)}, params=[module_id], tag="emissions")},
        "/factor-types": {"get": _operation(
            "Factor types, optionally of one module",
            {"200": _json(_list_of("FactorType"), "Factor types"), **_errors(400, 401, 404)},
            params=[_param("module_id", "query")], tag="catalog")},
        "/factors/{factor_type_id}": {"get": _operation(
            "Stored emission factors of a factor type",
            {"200": _json(_list_of("EmissionFactor"), "Factors"), **_errors(400, 401, 404)},
            params=[_param("factor_type_id"), _param("year", "query"), *PAGE],
            tag="catalog")},
        "/providers": {"get": _operation(
            "Providers registered for a module, with availability",
            {"200": _json(_list_of("Provider"), "Providers"), **_errors(400, 401, 404)},
            params=[_param("module_id", "query")], tag="catalog")},
        "/templates/{module_id}.csv": {"get": _operation(
            "Header-only CSV template for a module's data entries",
            {"200": CSV, **_errors(401, 404)},
            params=[module_id, _param("entry_type", "query", {"type": "string"})],
            tag="catalog")},
        "/templates/factors/{factor_type_id}.csv": {"get": _operation(
            "Header-only CSV template for a factor type", {"200": CSV, **_errors(401, 404)},
            params=[_param("factor_type_id")], tag="catalog")},
        "/audit": {"get": _operation(
            "The audit log, newest first (admins only)",
            {"200": _json(AUDIT_PAGE, "Audit entries"), **_errors(400, 401, 403)},
            params=[_param("user", "query", {"type": "string"}, "email or user id"),
                    _param("action", "query", {"type": "string"}),
                    _param("target_type", "query", {"type": "string"}),
                    _param("target_id", "query"), *PAGE], tag="audit")},
        **_schedule_paths(),
        "/openapi.json": {"get": _operation(
            "This document", {"200": _json({"type": "object"}, "OpenAPI 3.1")},
            tag="meta")},
        "/healthz": {"get": {**_operation(
            "Database and Redis reachability",
            {"200": _json(_ref("Health"), "Healthy"), "503": _json(_ref("Health"),
                                                                   "Unhealthy")},
            tag="meta"), "security": []}},
    }


def _schedule_paths() -> dict[str, Any]:
    schedule = {"200": _json(_ref("Schedule"), "The schedule")}
    body = {"required": True, "content": {"application/json": {
        "schema": _ref("ScheduleRequest")}}}
    patch = {"required": True, "content": {"application/json": {
        "schema": _ref("SchedulePatch")}}}
    schedule_id = _param("schedule_id")
    return {
        "/schedules": {
            "post": _operation(
                "Schedule an API provider's sync (cron in a time zone)",
                {"201": _json(_ref("Schedule"), "Schedule created"),
                 **_errors(400, 401, 403, 404, 415, 422, 503)}, body=body, tag="schedules"),
            "get": _operation(
                "Schedules, optionally of one module",
                {"200": _json(_list_of("Schedule"), "Schedules"), **_errors(400, 401, 404)},
                params=[_param("module_id", "query"), *PAGE], tag="schedules")},
        "/schedules/{schedule_id}": {
            "get": _operation("One schedule", {**schedule, **_errors(401, 404)},
                              params=[schedule_id], tag="schedules"),
            "patch": _operation(
                "Change a schedule (cron, time zone, enabled, webhook, filters, config)",
                {**schedule, **_errors(400, 401, 403, 404, 415, 422, 503)},
                params=[schedule_id], body=patch, tag="schedules"),
            "delete": _operation(
                "Delete a schedule; a job it started runs on",
                {"204": {"description": "Deleted"}, **_errors(401, 403, 404)},
                params=[schedule_id], tag="schedules")},
        "/schedules/{schedule_id}/run": {"post": _operation(
            "Run a schedule now, as if a due time had come",
            {"202": _json(_ref("Accepted"), "Job created and queued"),
             **_errors(401, 403, 404, 409, 422, 503)}, params=[schedule_id],
            tag="schedules")},
    }


OBJ = {"type": "object"}
NULLABLE_INT = {"type": ["integer", "null"]}
NULLABLE_STR = {"type": ["string", "null"]}
# Schedules (SPEC §11, §12 continued): what the service accepts, said where clients read.
CRON = {"type": "string", "examples": ["0 3 * * *", "30 2 * * mon-fri", "daily", "weekly"],
        "description": "Standard five-field cron (minute hour day-of-month month "
        "day-of-week: numbers, *, ranges, steps, lists, month and day names) or 'daily' / "
        "'weekly'. Other extensions (L, W, #, ?, R, H, @aliases, a seconds field) and crons "
        "that never fire (31 February) are 422."}
TIMEZONE = {"type": "string", "examples": ["Europe/Zurich", "UTC"],
            "description": "An IANA time zone (default UTC)"}
WEBHOOK_URL = {"type": ["string", "null"], "format": "uri", "description":
               "http(s), no user:password@, a host whose every address is public (unless the "
               "server sets WEBHOOK_ALLOW_PRIVATE=1); POSTed to when a scheduled job fails"}

SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["error", "message"],
              "properties": {"error": {"type": "string"}, "message": {"type": "string"}}},
    "SyncRequest": {"type": "object", "required": ["provider_type", "year"], "properties": {
        "provider_type": {"type": "string", "examples": ["tableau_api"]},
        "year": {"type": "integer"}, "filters": OBJ,
        "config": {"type": "object", "properties": {
            "on_error": {"enum": ["abort", "skip"]}, "entry_type": {"type": "string"},
            "dry_run": {"type": "boolean", "description": "Preview: run the whole load, "
                        "write nothing, show the counts and the first 20 rows"},
            "confirm_replace": {"type": "boolean", "description": "Load even when more "
                                "than half of a slice of 100+ stored rows would go (else "
                                "the job fails 409 naming the counts)"}}}}},
    "Accepted": {"type": "object", "required": ["job_id", "status", "status_code", "message"],
                 "properties": {"job_id": {"type": "integer"}, "status": {"type": "string"},
                                "status_code": {"type": "integer"},
                                "message": {"type": "string"},
                                "preview_of": {"type": "integer"},
                                "undo_of": {"type": "integer"}}},
    "RowError": {"type": "object", "properties": {
        "row": {"type": "integer"}, "column": {"type": "string"},
        "value": {"type": "string"}, "reason": {"type": "string"}}},
    "JobStatus": {"type": "object", "required": ["job_id", "status", "status_code", "message",
                                                 "progress"], "properties": {
        "job_id": {"type": "integer"},
        "status": {"enum": ["pending", "processing", "completed", "failed", "cancelled"]},
        "status_code": {"type": "integer"}, "message": NULLABLE_STR,
        "progress": {"type": "object", "properties": {
            "phase": {"type": "string"}, "fetched": {"type": "integer"},
            "processed": {"type": "integer"}, "total": {"type": "integer"},
            "percent": {"type": "integer"}, "rows_per_s": {"type": "number"},
            "eta_s": {"type": ["number", "null"]}}},
        "module_id": NULLABLE_INT, "provider_type": {"type": "string"},
        "target_type": {"type": "string"}, "factor_type_id": NULLABLE_INT,
        "year": {"type": "integer"}, "counts": OBJ,
        "errors": {"type": "array", "items": _ref("RowError")},
        "errors_total": {"type": "integer"}, "retry_of": NULLABLE_INT,
        "retried_by": NULLABLE_INT, "created_by": NULLABLE_INT,
        "schedule_id": NULLABLE_INT, "dry_run": {"type": "boolean"},
        "preview": {"type": ["array", "null"], "items": OBJ,
                    "description": "A preview's first 20 rows as they would be stored"},
        "preview_of": NULLABLE_INT, "applied_by": NULLABLE_INT, "undo_of": NULLABLE_INT,
        "undone_by": NULLABLE_INT,
        "undo_until": {"type": ["string", "null"],
                       "description": "Until when this load can be undone"},
        "started_at": NULLABLE_STR, "completed_at": NULLABLE_STR,
        "created_at": NULLABLE_STR, "processing_started_at": NULLABLE_STR, "request": OBJ}},
    "Module": {"type": "object", "properties": {
        "id": {"type": "integer"}, "inventory_id": {"type": "integer"},
        "name": {"type": "string"}, "module_type": {"type": "string"},
        "year": {"type": "integer"}, "last_sync_status": OBJ}},
    "ModuleDetail": {"allOf": [_ref("Module"), {"type": "object", "properties": {
        "entry_counts": {"type": "array", "items": OBJ},
        "factor_types": {"type": "array", "items": _ref("FactorType")},
        "entry_types": {"type": "array", "items": {"type": "string"}},
        "active_jobs": {"type": "array", "items": {"type": "integer"}}}}]},
    "FactorType": {"type": "object", "properties": {
        "id": {"type": "integer"}, "slug": {"type": "string"}, "name": {"type": "string"},
        "module_type": {"type": "string"}}},
    "DataEntry": {"type": "object", "properties": {
        "id": {"type": "integer"}, "entry_type": {"type": "string"},
        "year": {"type": "integer"}, "data": OBJ, "kg_co2eq": {"type": ["number", "null"]},
        "emission": {"oneOf": [{"type": "null"}, _ref("Emission")]},
        "source": {"type": "string"}, "job_id": NULLABLE_INT, "created_at": NULLABLE_STR}},
    "Emission": {"type": "object", "required": ["method", "missing_reason"], "properties": {
        "method": {"enum": ["computed", "source", None]}, "factor_id": NULLABLE_INT,
        "distance_km": {"type": ["number", "null"]}, "missing_reason": NULLABLE_STR}},
    "ModuleEmissions": {"type": "object", "required": [
        "module_id", "year", "total_kg_co2eq", "entries", "entries_with_emissions",
        "by_entry_type", "missing", "stale", "last_recalculation_job_id"], "properties": {
        "module_id": {"type": "integer"}, "year": {"type": "integer"},
        "total_kg_co2eq": {"type": "number"}, "entries": {"type": "integer"},
        "entries_with_emissions": {"type": "integer"},
        "by_entry_type": {"type": "array", "items": {"type": "object", "required": [
            "entry_type", "entries", "entries_with_emissions", "kg_co2eq"], "properties": {
            "entry_type": {"type": "string"}, "entries": {"type": "integer"},
            "entries_with_emissions": {"type": "integer"},
            "kg_co2eq": {"type": "number"}}}},
        "missing": {"type": "array", "items": {"type": "object", "required": [
            "reason", "entries"], "properties": {"reason": {"type": "string"},
                                                 "entries": {"type": "integer"}}}},
        "missing_reasons": {"type": "integer", "description": "distinct reasons in all; "
                            "`missing` lists the most frequent 100"},
        "stale": {"type": "boolean", "description": "a recalculation is pending or running"},
        "last_recalculation_job_id": NULLABLE_INT, "recalculated_at": NULLABLE_STR,
        "recalculation_job_id": {"type": ["integer", "null"],
                                 "description": "the recalculation pending or running"}}},
    "InventoryEmissions": {"type": "object", "required": [
        "inventory_id", "year", "total_kg_co2eq", "modules"], "properties": {
        "inventory_id": {"type": "integer"}, "year": {"type": "integer"},
        "total_kg_co2eq": {"type": "number"}, "stale": {"type": "boolean"},
        "modules": {"type": "array", "items": {"type": "object", "required": [
            "module_id", "module_type", "name", "total_kg_co2eq", "entries",
            "entries_with_emissions"], "properties": {
            "module_id": {"type": "integer"}, "module_type": {"type": "string"},
            "name": {"type": "string"}, "total_kg_co2eq": {"type": "number"},
            "entries": {"type": "integer"}, "entries_with_emissions": {"type": "integer"},
            "stale": {"type": "boolean"}}}}}},
    "RecalculationAccepted": {"allOf": [_ref("Accepted"), {"type": "object", "properties": {
        "rerun_requested": {"type": "boolean", "description": "a recalculation was already "
                            "running: it runs once more when it ends"}}}]},
    "EmissionFactor": {"type": "object", "properties": {
        "id": {"type": "integer"}, "factor_type_id": {"type": "integer"},
        "year": {"type": "integer"}, "classification": OBJ, "values": OBJ,
        "job_id": NULLABLE_INT, "updated_at": NULLABLE_STR}},
    "Provider": {"type": "object", "properties": {
        "provider_type": {"type": "string"}, "target_type": {"type": "string"},
        "label": {"type": "string"}, "needs_upload": {"type": "boolean"},
        "default_on_error": {"type": "string"}, "available": {"type": "boolean"},
        "unavailable_reason": NULLABLE_STR,
        "filters": {"type": "array", "items": {"type": "object", "properties": {
            "name": {"type": "string"}, "type": {"type": "string"},
            "label": {"type": "string"}, "help": {"type": "string"},
            "max_items": {"type": "integer"}, "max_length": {"type": "integer"}}}}}},
    "ScheduleRequest": {"type": "object", "required": [
        "module_id", "provider_type", "year", "cron"], "properties": {
        "module_id": {"type": "integer"}, "provider_type": {"type": "string"},
        "target_type": {"enum": ["data_entries", "factors"]},
        "factor_type_id": NULLABLE_INT, "year": {"type": "integer"}, "filters": OBJ,
        "config": OBJ, "cron": CRON, "timezone": TIMEZONE, "webhook_url": WEBHOOK_URL,
        "enabled": {"type": "boolean"}}},
    "SchedulePatch": {"type": "object", "properties": {
        "filters": OBJ, "config": OBJ, "cron": CRON, "timezone": TIMEZONE,
        "webhook_url": WEBHOOK_URL,
        "enabled": {"type": "boolean"}}},
    "Schedule": {"type": "object", "required": [
        "id", "module_id", "provider_type", "target_type", "cron", "timezone", "enabled",
        "next_run_at", "last_run_at", "last_job_id", "last_outcome"], "properties": {
        "id": {"type": "integer"}, "module_id": {"type": "integer"},
        "provider_type": {"type": "string"}, "target_type": {"type": "string"},
        "factor_type_id": NULLABLE_INT, "year": {"type": "integer"}, "filters": OBJ,
        "config": OBJ, "cron": {"type": "string"}, "cron_label": {"type": "string"},
        "timezone": {"type": "string"}, "webhook_url": {
            "type": ["string", "null"], "description": "In full for those who may change "
            "the schedule; scheme and host only (https://hooks.example.org/…) for others"},
        "enabled": {"type": "boolean"}, "next_run_at": NULLABLE_STR,
        "last_run_at": NULLABLE_STR, "last_job_id": NULLABLE_INT,
        "last_outcome": NULLABLE_STR, "last_message": NULLABLE_STR,
        "created_by": NULLABLE_INT, "created_at": NULLABLE_STR,
        "updated_at": NULLABLE_STR}},
    "Health": {"type": "object", "properties": {
        "status": {"type": "string"}, "database": {"type": "string"},
        "redis": {"type": "string"}}},
}

ERROR_TEXT = {400: "Malformed request", 401: "Not authenticated", 403: "Role not allowed",
              404: "Unknown id", 409: "Conflict with the job's state or an active job",
              413: "File too large", 415: "Unsupported media type",
              422: "Invalid request", 503: "Service or provider unavailable"}


def _filters_schema() -> dict[str, Any]:
    """`filters` of a sync request: every filter some provider declares (each provider
    accepts only its own; `GET /providers` lists which)."""
    declared = {f.name: f for cls in REGISTRY.values() for f in cls.filters}
    return {"type": "object", "additionalProperties": False,
            "description": "Narrows the sync; a filtered sync replaces only the entries "
                           "inside its filter.",
            "properties": {name: f.schema() for name, f in sorted(declared.items())}}


def _schemas() -> dict[str, Any]:
    sync_request = SCHEMAS["SyncRequest"]
    return {**SCHEMAS, "SyncRequest": {**sync_request, "properties": {
        **sync_request["properties"], "filters": _filters_schema()}}}


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Carbon Sync API", "version": "1.0.0",
                 "description": "Sync data entries and emission factors into a carbon "
                                "inventory; poll, retry and cancel jobs."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}, {"session": []}],
        "paths": _paths(),
        "components": {
            "schemas": _schemas(),
            "responses": {f"E{code}": _json(_ref("Error"), text)
                          for code, text in ERROR_TEXT.items()},
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "`flask tokens create EMAIL NAME`"},
                "session": {"type": "apiKey", "in": "cookie", "name": "session"}},
        },
    }


@api_bp.get("/openapi.json")
def openapi_json():
    return document()
