"""The component schemas of the OpenAPI document: the shapes of the /api/v1 request and
response bodies, which the paths (`paths.py`) refer to by name."""

from __future__ import annotations

from typing import Any

from webapp.ingestion.providers.registry import REGISTRY


def ref(name: str) -> dict[str, str]:
    """A reference to one of the schemas below."""
    return {"$ref": f"#/components/schemas/{name}"}


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
                                "the job fails 409 naming the counts)"},
            "copy_from": {"type": "integer", "description": "copy_previous_year: the year "
                          "to copy (default: the year before the job's)"},
            "sheet": {"type": "string", "minLength": 1, "maxLength": 100,
                      "description": "csv_upload of a workbook (.xlsx, .ods): the sheet "
                      "to read (default the first); a workbook without it fails 400 "
                      "naming its sheets"}}}}},
    "Accepted": {"type": "object", "required": ["job_id", "status", "status_code", "message"],
                 "properties": {"job_id": {"type": "integer"}, "status": {"type": "string"},
                                "status_code": {"type": "integer"},
                                "message": {"type": "string"},
                                "preview_of": {"type": "integer"},
                                "undo_of": {"type": "integer"}}},
    "Unit": {"type": "object", "required": ["code", "name", "parent_code", "active",
                                            "children"], "properties": {
        "code": {"type": "string"}, "name": {"type": "string"},
        "parent_code": {"type": ["string", "null"]}, "active": {"type": "boolean"},
        "children": {"type": "integer"}}},
    "Member": {"type": "object", "required": ["email", "unit_code", "role", "source"],
               "properties": {"email": {"type": "string"}, "unit_code": {"type": "string"},
                              "role": {"enum": ["viewer", "editor", "manager"]},
                              "source": {"enum": ["manual", "sso"]}}},
    "User": {"type": "object", "required": [
        "email", "name", "admin", "active", "sso", "created_at", "memberships"],
        "properties": {
            "email": {"type": "string"}, "name": {"type": "string"},
            "admin": {"type": "boolean"}, "active": {"type": "boolean"},
            "sso": {"type": "boolean", "description": "Created by a single sign-on login"},
            "created_at": NULLABLE_STR,
            "memberships": {"type": "array", "description": "Those in the caller's sight: "
                            "all for admins, in the units they manage for a manager",
                            "items": {"type": "object", "properties": {
                                "unit_code": {"type": "string"},
                                "role": {"enum": ["viewer", "editor", "manager"]},
                                "source": {"enum": ["manual", "sso"]}}}}}},
    "Me": {"type": "object", "required": ["email", "admin", "memberships"], "properties": {
        "email": {"type": "string"}, "admin": {"type": "boolean"},
        "memberships": {"type": "array", "items": {"type": "object", "properties": {
            "unit_code": {"type": "string"}, "role": {"type": "string"},
            "source": {"type": "string"}}}}}},
    "Year": {"type": "object", "required": ["year", "open"], "properties": {
        "year": {"type": "integer"}, "open": {"type": "boolean"},
        "inventories": {"type": "integer"}}},
    "YearCreated": {"type": "object", "required": ["year", "open", "inventories", "modules"],
                    "properties": {"year": {"type": "integer"}, "open": {"type": "boolean"},
                                   "inventories": {"type": "integer"},
                                   "modules": {"type": "integer"},
                                   # The rest only with copy_from.
                                   "copy_from": {"type": "integer"},
                                   "schedules_copied": {"type": "integer"},
                                   "factor_jobs": {
                                       "type": "array", "items": {"type": "integer"},
                                       "description": "The factor copy jobs, one per "
                                       "factor type with factors in copy_from"},
                                   "factors_not_copied": {"type": "array", "items": {
                                       "type": "object", "properties": {
                                           "factor_type": {"type": "string"},
                                           "message": {"type": "string"}}}}}},
    "RowError": {"type": "object", "properties": {
        "row": {"type": "integer"}, "column": {"type": "string"},
        "value": {"type": "string"}, "reason": {"type": "string"},
        "cell": {"type": "string", "description": "The cell of a spreadsheet upload's "
                 "error, e.g. Travel!C17 or 'My travel'!C17; absent for CSV files (row "
                 "and column name the cell) and API sources"}}},
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
        "year": {"type": ["integer", "null"],
                 "description": "null for a units job, which belongs to no year"},
        "counts": OBJ,
        "errors": {"type": "array", "items": ref("RowError")},
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
        "year": {"type": "integer"}, "unit_code": {"type": "string"},
        "unit_name": {"type": ["string", "null"]}, "last_sync_status": OBJ}},
    "ModuleDetail": {"allOf": [ref("Module"), {"type": "object", "properties": {
        "entry_counts": {"type": "array", "items": OBJ},
        "factor_types": {"type": "array", "items": ref("FactorType")},
        "entry_types": {"type": "array", "items": {"type": "string"}},
        "active_jobs": {"type": "array", "items": {"type": "integer"}}}}]},
    "FactorType": {"type": "object", "properties": {
        "id": {"type": "integer"}, "slug": {"type": "string"}, "name": {"type": "string"},
        "module_type": {"type": "string"}}},
    "DataEntry": {"type": "object", "properties": {
        "id": {"type": "integer"}, "entry_type": {"type": "string"},
        "year": {"type": "integer"}, "data": OBJ, "kg_co2eq": {"type": ["number", "null"]},
        "emission": {"oneOf": [{"type": "null"}, ref("Emission")]},
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
    "RecalculationAccepted": {"allOf": [ref("Accepted"), {"type": "object", "properties": {
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
        "copies_stored_data": {"type": "boolean", "description": "the source is this "
                               "app's own earlier data (copy_previous_year)"},
        "unavailable_reason": NULLABLE_STR,
        "filters": {"type": "array", "items": {"type": "object", "properties": {
            "name": {"type": "string"}, "type": {"type": "string"},
            "label": {"type": "string"}, "help": {"type": "string"},
            "max_items": {"type": "integer"}, "max_length": {"type": "integer"}}}}}},
    "ScheduleRequest": {"type": "object", "required": [
        "provider_type", "year", "cron"], "properties": {
        "module_id": {"type": "integer", "description": "one module's syncs; or"},
        "module_type": {"type": "string", "description": "every unit's modules of this "
                        "type (admins; a provider that names each row's unit)"},
        "provider_type": {"type": "string"},
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
        "id": {"type": "integer"}, "module_id": NULLABLE_INT,
        "module_type": NULLABLE_STR,
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


def _filters_schema() -> dict[str, Any]:
    """`filters` of a sync request: every filter some provider declares (each provider
    accepts only its own; `GET /providers` lists which)."""
    declared = {f.name: f for cls in REGISTRY.values() for f in cls.filters}
    return {"type": "object", "additionalProperties": False,
            "description": "Narrows the sync; a filtered sync replaces only the entries "
                           "inside its filter.",
            "properties": {name: f.schema() for name, f in sorted(declared.items())}}


def component_schemas() -> dict[str, Any]:
    sync_request = SCHEMAS["SyncRequest"]
    return {**SCHEMAS, "SyncRequest": {**sync_request, "properties": {
        **sync_request["properties"], "filters": _filters_schema()}}}
