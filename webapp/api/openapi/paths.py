"""The paths of the OpenAPI document: every /api/v1 route with its parameters, request
body and responses (written with the pieces of `parts.py`)."""

from __future__ import annotations

from typing import Any

from webapp.api.openapi.parts import errors, json_body, list_of, operation, param
from webapp.api.openapi.schemas import ref

PAGE = [param("limit", "query"), param("offset", "query")]
ENTRY_FILTERS = [
    param("entry_type", "query", {"type": "string"}),
    param("source", "query", {"type": "string"}, "provider_type that loaded the entry"),
    param("job_id", "query", description="the load that wrote the entry"),
    param("missing", "query", {"enum": ["true", "false"]},
           "true: only entries without emissions; false: only those with"),
    param("reason", "query", {"type": "string"}, "a missing reason, as the module's "
           "emissions word it")]
CSV = {"description": "CSV file", "content": {"text/csv": {"schema": {"type": "string"}}}}
XLSX = {"description": "Excel workbook", "content": {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
        "schema": {"type": "string", "contentEncoding": "binary"}}}}

SYNC_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": ref("SyncRequest")},
        "multipart/form-data": {"schema": {
            "type": "object", "required": ["provider_type", "year"],
            "properties": {
                "file": {"type": "string", "contentMediaType": "text/csv",
                         "description": "a CSV file or an Excel workbook (.xlsx, .ods), "
                         "told apart by content"},
                "provider_type": {"type": "string"}, "year": {"type": "integer"},
                "filters": {"type": "string", "description": "JSON-encoded object"},
                "config": {"type": "string", "description": "JSON-encoded object, e.g. "
                           '{"on_error": "skip", "sheet": "Travel"} (sheet: a '
                           "workbook's sheet to read; default the first)"}}}},
    },
}

# Optional: {"confirm_replace": true} retries a load refused 409 for what it would replace.
UNITS_IMPORT_BODY = {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "contentMediaType": "text/csv",
                 "description": "columns code, name, parent_code, active; a CSV file or "
                 "an Excel workbook (.xlsx, .ods)"},
        "on_error": {"enum": ["abort", "skip"], "description": "abort (default): any bad "
                     "row changes nothing; skip: import the other rows"},
        "sheet": {"type": "string", "description": "a workbook's sheet to read; default "
                  "the first"}}}}}}
UNITS_SYNC_BODY = {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "required": ["provider_type"], "properties": {
        "provider_type": {"type": "string", "description": "a directory provider, e.g. "
                          "units_file (the file UNITS_DIRECTORY_FILE names)"},
        "on_error": {"enum": ["abort", "skip"]}}}}}}

_ROUTING_PROVIDER = {"type": "string", "description": "a provider that names each row's "
                     "unit: tableau_api (travel), hr_api (headcount), csv_upload (a file)"}
_MODULE_TYPE = {"type": "string", "description": "the modules rows go to, e.g. travel"}
INSTITUTION_BODY = {"required": True, "content": {
    "application/json": {"schema": {
        "type": "object", "required": ["provider_type", "module_type"], "properties": {
            "provider_type": _ROUTING_PROVIDER, "module_type": _MODULE_TYPE,
            "filters": {"type": "object", "description": "as for a unit's sync; a filtered "
                        "sync replaces only its filter's rows"},
            "config": {"type": "object", "description": "on_error, confirm_replace"}}}},
    # csv_upload: the module's entry columns and unit_code, the code of each row's unit.
    "multipart/form-data": {"schema": {
        "type": "object", "required": ["provider_type", "module_type", "file"],
        "properties": {
            "file": {"type": "string", "contentMediaType": "text/csv",
                     "description": "the module type's columns and unit_code: a CSV file "
                     "or an Excel workbook (.xlsx, .ods; config.sheet names its sheet)"},
            "provider_type": _ROUTING_PROVIDER, "module_type": _MODULE_TYPE,
            "filters": {"type": "string", "description": "JSON-encoded object"},
            "config": {"type": "string", "description": "JSON-encoded object, e.g. "
                       '{"on_error": "skip"}'}}}}}}

RETRY_BODY = {"required": False, "content": {"application/json": {"schema": {
    "type": "object", "properties": {"confirm_replace": {"type": "boolean"}}}}}}


USER_BODY = {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "required": ["email"], "properties": {
        "email": {"type": "string", "examples": ["ada@example.org"]},
        "name": {"type": "string", "maxLength": 200},
        "admin": {"type": "boolean", "description": "Only admins may create admins"}}}}}}


# Optional: {"copy_from": 2024} copies that year's factors and schedules into the new one.
YEAR_BODY = {"required": False, "content": {"application/json": {"schema": {
    "type": "object", "properties": {"copy_from": {
        "type": ["integer", "null"], "examples": [2024],
        "description": "An existing year (else 422) whose emission factors (a copy job "
        "per factor type, undoable) and schedules (disabled, onto the same unit's "
        "module of the same type) the new year gets"}}}}}}


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


def path_items() -> dict[str, Any]:
    accepted = {"202": json_body(ref("Accepted"), "Job created and queued")}
    status = {"200": json_body(ref("JobStatus"), "The job")}
    module_id, job_id = param("module_id"), param("job_id")
    return {
        "/sync/data-entries/{module_id}": {"post": operation(
            "Sync a module's data entries", {**accepted, **errors(400, 401, 403, 404, 409,
                                                                  413, 415, 422, 503)},
            params=[module_id], body=SYNC_BODY)},
        "/sync/institution/{year}": {"post": operation(
            "Sync every unit's modules of a type from one fetch, each row to the module "
            "of the unit it names (admin; one transaction; counts.by_unit)",
            {**accepted, **errors(400, 401, 403, 404, 409, 413, 415, 422, 503)},
            params=[param("year")], body=INSTITUTION_BODY)},
        "/sync/factors/{module_id}/{factor_type_id}": {"post": operation(
            "Sync emission factors of a factor type",
            {**accepted, **errors(400, 401, 403, 404, 409, 413, 415, 422, 503)},
            params=[module_id, param("factor_type_id")], body=SYNC_BODY)},
        "/sync/status/{job_id}": {"get": operation(
            "Poll a job", {**status, **errors(401, 404)}, params=[job_id])},
        "/sync/history/{module_id}": {"get": operation(
            "A module's jobs, newest first",
            {"200": json_body(list_of("JobStatus"), "Jobs"), **errors(400, 401, 404)},
            params=[module_id, param("provider_type", "query", {"type": "string"}),
                    param("status", "query", {"type": "string"}), *PAGE])},
        "/sync/retry/{job_id}": {"post": operation(
            "Retry a failed or cancelled job as a new linked job",
            {**accepted, **errors(401, 403, 404, 409, 422, 503)}, params=[job_id],
            body=RETRY_BODY)},
        "/sync/apply/{job_id}": {"post": operation(
            "Load a completed preview for real, as a new linked job (preview_of/applied_by)",
            {**accepted, **errors(401, 403, 404, 409, 422, 503)}, params=[job_id])},
        "/sync/undo/{job_id}": {"post": operation(
            "Undo a completed load: a new job restores what it replaced (undo_of/undone_by)",
            {**accepted, **errors(401, 403, 404, 409, 422, 503)}, params=[job_id])},
        "/sync/cancel/{job_id}": {"post": operation(
            "Cancel a pending or processing job", {**status, **errors(401, 403, 404, 409)},
            params=[job_id])},
        "/sync/errors/{job_id}.csv": {"get": operation(
            "The job's full row-error report: row, column, value, reason, cell (a "
            "workbook's, e.g. Travel!C17; empty for CSV files)", {"200": CSV, **errors(401, 404)},
            params=[job_id])},
        "/units": {"get": operation(
            "The university's units: searchable, by parent, paginated",
            {"200": json_body(list_of("Unit"), "Units"), **errors(401, 404)},
            params=[param("parent", "query", {"type": "string"},
                           "a unit's code: its children; empty: the root units"),
                    param("q", "query", {"type": "string"},
                           "part of a code or a name, in any case"), *PAGE],
            tag="organisation")},
        "/units/import": {"post": operation(
            "Import the unit tree from a CSV file or a workbook as a job (target units; "
            "admin)",
            {**accepted, **errors(401, 403, 409, 413, 415, 422, 503)},
            body=UNITS_IMPORT_BODY, tag="organisation")},
        "/units/sync": {"post": operation(
            "Sync the unit tree from a directory provider as a job (target units; admin)",
            {**accepted, **errors(401, 403, 409, 415, 422, 503)},
            body=UNITS_SYNC_BODY, tag="organisation")},
        "/units/jobs": {"get": operation(
            "The unit tree's jobs (imports, syncs, their undos), newest first",
            {"200": json_body(list_of("JobStatus"), "Jobs"), **errors(401)},
            params=PAGE, tag="organisation")},
        "/units/{code}/members": {"get": operation(
            "A unit's own members (admins, and managers of the unit or above it)",
            {"200": json_body(list_of("Member"), "Members"), **errors(401, 403, 404)},
            params=[param("code", schema={"type": "string"})], tag="organisation")},
        "/units/{code}/members/{email}": {
            "put": operation(
                "Give a user a role in a unit and every unit below it",
                {"200": json_body(ref("Member"), "The membership"),
                 **errors(401, 403, 404, 422)},
                params=[param("code", schema={"type": "string"}),
                        param("email", schema={"type": "string"})],
                body={"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["role"], "properties": {
                        "role": {"enum": ["viewer", "editor", "manager"]}}}}}},
                tag="organisation"),
            "delete": operation(
                "Remove a user's membership of a unit",
                {"204": {"description": "Removed"}, **errors(401, 403, 404)},
                params=[param("code", schema={"type": "string"}),
                        param("email", schema={"type": "string"})], tag="organisation")},
        "/users": {
            "get": operation(
                "Users: all for admins; for a manager, the members of the units they "
                "manage (with only those memberships). Searchable, paginated",
                {"200": json_body(list_of("User"), "Users"), **errors(401, 403)},
                params=[param("q", "query", {"type": "string"},
                               "part of an email or a name, in any case"), *PAGE],
                tag="organisation"),
            "post": operation(
                "Create a user, without a password (single sign-on, or `flask users "
                "set-password`). Admins and managers; only admins create admins. A "
                "plain user then needs a membership (PUT /units/{code}/members/{email})",
                {"201": json_body(ref("User"), "The new user"),
                 **errors(401, 403, 409, 422)}, body=USER_BODY, tag="organisation")},
        "/users/{email}/deactivate": {"post": operation(
            "Deactivate a user (admin): their sessions end, their API tokens stop working",
            {"200": json_body(ref("User"), "The user"), **errors(401, 403, 404, 409)},
            params=[param("email", schema={"type": "string"})], tag="organisation")},
        "/me": {"get": operation(
            "Who the caller is: email, admin, memberships",
            {"200": json_body(ref("Me"), "The caller"), **errors(401)}, tag="organisation")},
        "/years": {"get": operation(
            "The years of inventories, open or closed, with their inventory counts",
            {"200": json_body(list_of("Year"), "Years"), **errors(401)}, tag="organisation")},
        "/years/{year}": {"post": operation(
            "Create a year: the inventory and modules of every active unit (admin); "
            "with copy_from, also that year's factors (one undoable copy job per factor "
            "type) and schedules (disabled)",
            {"201": json_body(ref("YearCreated"), "The year, closed until opened"),
             **errors(401, 403, 404, 409, 422)}, params=[param("year")],
            body=YEAR_BODY, tag="organisation")},
        "/years/{year}/open": {"post": operation(
            "Open a year to the units' members (admin)",
            {"200": json_body(ref("Year"), "The year"), **errors(401, 403, 404)},
            params=[param("year")], tag="organisation")},
        "/modules": {"get": operation(
            "Modules with their last-sync badges, newest year first",
            {"200": json_body(list_of("Module"), "Modules"), **errors(400, 401, 404)},
            params=[param("unit", "query", {"type": "string"},
                           "a unit's code: its modules and those of every unit below it"),
                    param("year", "query"),
                    param("module_type", "query", {"type": "string"}), *PAGE],
            tag="catalog")},
        "/modules/{module_id}": {"get": operation(
            "One module: badges, entry counts, factor types",
            {"200": json_body(ref("ModuleDetail"), "Module"), **errors(401, 404)},
            params=[module_id], tag="catalog")},
        "/modules/{module_id}/entries": {"get": operation(
            "A module's stored data entries, with their emissions",
            {"200": json_body(list_of("DataEntry"), "Entries"), **errors(400, 401, 404)},
            params=[module_id, *ENTRY_FILTERS, *PAGE], tag="catalog")},
        "/modules/{module_id}/entries.csv": {"get": operation(
            "A module's entries with their emissions as CSV (formula cells neutralised)",
            {"200": CSV, **errors(400, 401, 404)}, params=[module_id, *ENTRY_FILTERS],
            tag="emissions")},
        "/modules/{module_id}/emissions": {"get": operation(
            "A module's emissions as of its last recalculation",
            {"200": json_body(ref("ModuleEmissions"), "Module emissions"),
             **errors(401, 404)}, params=[module_id], tag="emissions")},
        "/inventories/{inventory_id}/emissions": {"get": operation(
            "An inventory's emissions, module by module",
            {"200": json_body(ref("InventoryEmissions"), "Inventory emissions"),
             **errors(401, 404)}, params=[param("inventory_id")], tag="emissions")},
        "/reports/{year}.xlsx": {"get": operation(
            "A year's report as a workbook: t CO2eq per unit and module with the year "
            "before and the change, and a sheet per entry type with every entry, its "
            "emission and the factor used (the units the caller sees)",
            {"200": XLSX, **errors(401, 404)},
            params=[param("year"), param("unit", "query", {"type": "string"},
                                           "a unit's code: it and every unit below it "
                                           "(default: every unit the caller sees)")],
            tag="emissions")},
        "/sync/emissions/{module_id}": {"post": operation(
            "Recalculate a module's emissions (a job; a request during a run makes it "
            "run once more)",
            {"202": json_body(ref("RecalculationAccepted"), "Recalculation queued"),
             **errors(401, 403, 404, 409, 503)}, params=[module_id], tag="emissions")},
        "/factor-types": {"get": operation(
            "Factor types, optionally of one module",
            {"200": json_body(list_of("FactorType"), "Factor types"), **errors(400, 401, 404)},
            params=[param("module_id", "query")], tag="catalog")},
        "/factors/{factor_type_id}": {"get": operation(
            "Stored emission factors of a factor type",
            {"200": json_body(list_of("EmissionFactor"), "Factors"), **errors(400, 401, 404)},
            params=[param("factor_type_id"), param("year", "query"), *PAGE],
            tag="catalog")},
        "/providers": {"get": operation(
            "Providers registered for a module, with availability",
            {"200": json_body(list_of("Provider"), "Providers"), **errors(400, 401, 404)},
            params=[param("module_id", "query")], tag="catalog")},
        **_template_paths(module_id),
        "/audit": {"get": operation(
            "The audit log, newest first (admins only)",
            {"200": json_body(AUDIT_PAGE, "Audit entries"), **errors(400, 401, 403)},
            params=[param("user", "query", {"type": "string"}, "email or user id"),
                    param("action", "query", {"type": "string"}),
                    param("target_type", "query", {"type": "string"}),
                    param("target_id", "query"), *PAGE], tag="audit")},
        **_schedule_paths(),
        "/openapi.json": {"get": operation(
            "This document", {"200": json_body({"type": "object"}, "OpenAPI 3.1")},
            tag="meta")},
        "/healthz": {"get": {**operation(
            "Database and Redis reachability",
            {"200": json_body(ref("Health"), "Healthy"), "503": json_body(ref("Health"),
                                                                   "Unhealthy")},
            tag="meta"), "security": []}},
    }


def _template_paths(module_id: dict[str, Any]) -> dict[str, Any]:
    """The upload templates (SPEC §15), each as CSV (header and an example row) and as
    .xlsx (also dropdowns and a sheet explaining every column)."""
    entry_type = param("entry_type", "query", {"type": "string"},
                        "which of the module type's entry types (travel: plane, train); "
                        "default its first")
    module_type = param("module_type", schema={"type": "string"},
                         description="e.g. travel")
    found = {
        "/templates/{module_id}": ("a module's data entries (one entry type)",
                                   [module_id, entry_type], (401, 404)),
        "/templates/institution/{module_type}": (
            "every unit's data entries: the module type's columns and unit_code",
            [module_type, entry_type], (401, 404)),
        "/templates/factors/{factor_type_id}": ("a factor type's factors",
                                                [param("factor_type_id")], (401, 404)),
        "/templates/units": ("the unit tree", [], (401,)),
    }
    paths = {}
    for path, (what, params, refusals) in found.items():
        paths[f"{path}.csv"] = {"get": operation(
            f"CSV template for {what}: header and an example row",
            {"200": CSV, **errors(*refusals)}, params=params, tag="catalog")}
        paths[f"{path}.xlsx"] = {"get": operation(
            f"Excel template for {what}: header, an example row, dropdowns for closed "
            "lists and a sheet explaining every column",
            {"200": XLSX, **errors(*refusals)}, params=params, tag="catalog")}
    return paths


def _schedule_paths() -> dict[str, Any]:
    schedule = {"200": json_body(ref("Schedule"), "The schedule")}
    body = {"required": True, "content": {"application/json": {
        "schema": ref("ScheduleRequest")}}}
    patch = {"required": True, "content": {"application/json": {
        "schema": ref("SchedulePatch")}}}
    schedule_id = param("schedule_id")
    return {
        "/schedules": {
            "post": operation(
                "Schedule an API provider's sync (cron in a time zone)",
                {"201": json_body(ref("Schedule"), "Schedule created"),
                 **errors(400, 401, 403, 404, 415, 422, 503)}, body=body, tag="schedules"),
            "get": operation(
                "Schedules, optionally of one module",
                {"200": json_body(list_of("Schedule"), "Schedules"), **errors(400, 401, 404)},
                params=[param("module_id", "query"), *PAGE], tag="schedules")},
        "/schedules/{schedule_id}": {
            "get": operation("One schedule", {**schedule, **errors(401, 404)},
                              params=[schedule_id], tag="schedules"),
            "patch": operation(
                "Change a schedule (cron, time zone, enabled, webhook, filters, config)",
                {**schedule, **errors(400, 401, 403, 404, 415, 422, 503)},
                params=[schedule_id], body=patch, tag="schedules"),
            "delete": operation(
                "Delete a schedule; a job it started runs on",
                {"204": {"description": "Deleted"}, **errors(401, 403, 404)},
                params=[schedule_id], tag="schedules")},
        "/schedules/{schedule_id}/run": {"post": operation(
            "Run a schedule now, as if a due time had come",
            {"202": json_body(ref("Accepted"), "Job created and queued"),
             **errors(401, 403, 404, 409, 422, 503)}, params=[schedule_id],
            tag="schedules")},
    }
