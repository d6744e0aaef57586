"""Read-only catalogue: modules with badges, factor types, entries, factors, providers.
(Upload templates: templates.py.)"""

from __future__ import annotations

import json
from typing import Any

from flask import Response, request, stream_with_context
from sqlalchemy import func, select

from webapp import catalog
from webapp.api import api_bp
from webapp.api.params import int_arg, listing, page_args
from webapp.csv_export import csv_chunks
from webapp.errors import BadRequest
from webapp.extensions import db
from webapp.ingestion.providers.csv_upload import schemas
from webapp.jobs import queries
from webapp.models import DataEntry
from webapp.security import INT4_MAX


@api_bp.get("/modules")
def modules_list():
    """`?unit=CODE` (that unit and below), `?year=`, `?module_type=`, paginated."""
    limit, offset = page_args(100)
    modules, total = catalog.module_page(
        unit=request.args.get("unit") or None,
        year=int_arg("year", 0, 1, INT4_MAX) or None,
        module_type=request.args.get("module_type") or None, limit=limit, offset=offset)
    return listing([catalog.module_body(m) for m in modules], total, limit, offset)


@api_bp.get("/modules/<id:module_id>")
def modules_one(module_id: int):
    module = catalog.get_module(module_id)
    return {**catalog.module_body(module),
            "entry_counts": catalog.entry_counts(module_id),
            "factor_types": [catalog.factor_type_body(f)
                             for f in catalog.factor_types(module.module_type)],
            "entry_types": schemas.entry_types_for(module.module_type),
            "active_jobs": [job.id for job in queries.active_jobs(module_id)]}


@api_bp.get("/factor-types")
def factor_types_list():
    module_type = None
    if request.args.get("module_id"):
        module_type = catalog.get_module(int_arg("module_id", 0, 1, INT4_MAX)).module_type
    items = [catalog.factor_type_body(f) for f in catalog.factor_types(module_type)]
    return listing(items, len(items))


def entry_filters() -> dict[str, Any]:
    """`?entry_type=&source=&job_id=&missing=true|false&reason=` for the entry lists."""
    missing = request.args.get("missing")
    if missing not in (None, "", "true", "false"):
        raise BadRequest("missing must be true or false")
    return {"entry_type": request.args.get("entry_type") or None,
            "source": request.args.get("source") or None,
            "job_id": int_arg("job_id", 0, 1, INT4_MAX) or None,
            "missing": {"true": True, "false": False}.get(missing),
            "reason": request.args.get("reason") or None}


@api_bp.get("/modules/<id:module_id>/entries")
def module_entries(module_id: int):
    limit, offset = page_args(100)
    rows, total = catalog.entries(module_id, limit=limit, offset=offset, **entry_filters())
    return listing([catalog.entry_body(r) for r in rows], total, limit, offset)


ENTRY_COLUMNS = ["id", "entry_type", "year", "source", "job_id", "kg_co2eq", "method",
                 "factor_id", "distance_km", "missing_reason"]
EMISSION_FIELDS = ENTRY_COLUMNS[6:]


@api_bp.get("/modules/<id:module_id>/entries.csv")
def entries_csv(module_id: int):
    """The filtered entries with their emissions, streamed; one column per data field
    any of them has, after the fixed ones. Cells are neutralised (csv_export)."""
    query = catalog.entry_query(module_id, **entry_filters())
    data = query.order_by(None).with_only_columns(DataEntry.data).subquery()
    keys = sorted(db.session.execute(
        select(func.jsonb_object_keys(data.c.data)).distinct()).scalars())

    def rows():
        yield ENTRY_COLUMNS + [f"data.{key}" for key in keys]
        for entry in db.session.execute(query.execution_options(yield_per=2000)).scalars():
            emission = entry.emission or {}
            data = entry.data or {}
            yield [entry.id, entry.entry_type, entry.year, entry.source, entry.job_id,
                   entry.kg_co2eq, *(emission.get(f) for f in EMISSION_FIELDS),
                   *(_cell(data.get(key)) for key in keys)]

    return Response(stream_with_context(csv_chunks(rows(), lineterminator="\r\n")),
                    mimetype="text/csv", headers={"Content-Disposition":
                    f'attachment; filename="module-{module_id}-entries.csv"'})


def _cell(value: Any) -> Any:
    """A data value as a CSV cell: lists and objects as JSON, the rest as they are."""
    return json.dumps(value) if isinstance(value, dict | list) else value


@api_bp.get("/factors/<id:factor_type_id>")
def factors_list(factor_type_id: int):
    limit, offset = page_args(100)
    year = int_arg("year", 0, 0, 9999) or None
    rows, total = catalog.factors(factor_type_id, year=year, limit=limit, offset=offset)
    return listing([catalog.factor_body(r) for r in rows], total, limit, offset)


@api_bp.get("/providers")
def providers_list():
    module_id = int_arg("module_id", 0, 0, INT4_MAX)
    if not module_id:
        raise BadRequest("module_id is required")
    items = catalog.providers(catalog.get_module(module_id))
    return listing(items, len(items))
